"""Wallet status changes. Every status change goes through `wallet_change_status`, which asks
`wallets.state_machine` (the one place the transition table lives) and records the transition, emits the events and
audits in the same transaction as the change."""

import hashlib
import json
import logging
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.logging import log_context
from config.partner_api.audit import audit_entry, audit_record_many
from notifications.outbox import outbox_event, publish_events
from subscriptions.models import AuditChannel
from wallets.card_state_machine import CardAction
from wallets.models import (
    COMMENT_REQUIRED_REASONS,
    SYSTEM_ONLY_REASONS,
    Card,
    StatusChangeIdempotencyKey,
    StatusReason,
    TransitionChannel,
    Wallet,
    WalletStatusTransition,
)
from wallets.services.card_status import cards_change_status
from wallets.services.event_data import _wallet_event_data
from wallets.state_machine import (
    Actor,
    WalletStatus,
    allowed_targets,
    can_transition,
    comment_required,
    is_support_only,
)

logger = logging.getLogger(__name__)

# The catalog's specific event for a new status, emitted beside WALLET_STATUS_CHANGED.
SPECIFIC_STATUS_EVENTS: dict[WalletStatus, str] = {
    WalletStatus.LOCKED: "WALLET_LOCKED",
    WalletStatus.BLOCKED: "WALLET_BLOCKED",
    WalletStatus.FRAUD: "WALLET_FRAUD_SUSPENDED",
    WalletStatus.CLOSED: "WALLET_CLOSED",
}

_TRANSITION_CHANNEL: dict[Actor, str] = {
    Actor.PARTNER: TransitionChannel.PARTNER_API,
    Actor.SUPPORT: TransitionChannel.SUPPORT,
    Actor.SYSTEM: TransitionChannel.SYSTEM,
}
_AUDIT_CHANNEL: dict[Actor, str] = {
    Actor.PARTNER: AuditChannel.PARTNER_API,
    Actor.SUPPORT: AuditChannel.ADMIN,
    Actor.SYSTEM: AuditChannel.SYSTEM,
}


class TransitionNotAllowed(Exception):
    """The state machine refuses this status change for this actor; `allowed_targets` lists what it would allow.
    `support_only`: support staff can make this move, and `how_to_ask` says how to ask them."""

    def __init__(self, current: str, target: str, allowed_targets: frozenset[str] | list[str],
                 support_only: bool = False):
        self.current = str(current)
        self.target = str(target)
        self.allowed_targets = sorted(str(t) for t in allowed_targets)
        self.support_only = support_only
        self.how_to_ask = support_request_hint(self.current, self.target) if support_only else ""
        super().__init__(
            f"A wallet in status {self.current} cannot be moved to {self.target}; "
            f"allowed: {', '.join(self.allowed_targets) or 'none'}."
            + (f" Support staff can make this move: {self.how_to_ask}" if support_only else "")
        )


def support_request_hint(current: str, target: str) -> str:
    """How a partner asks support for a support-only move (WALLETS_SUPPORT_CONTACT names where)."""
    where = f" at {settings.WALLETS_SUPPORT_CONTACT}" if settings.WALLETS_SUPPORT_CONTACT else ""
    comment = " and the outcome of your fraud review" if current == WalletStatus.FRAUD else ""
    return (f"ask the platform's support team{where} to move the wallet from {current} to {target}, giving the "
            f"walletId, the reason{comment}; the change then appears in the wallet's status history and as "
            "WALLET_STATUS_CHANGED with channel SUPPORT.")


class IdempotencyKeyReused(Exception):
    """The idempotency key was already used for a different request."""


def _validate_status_change(*, to_status: str, reason: str, comment: str, actor: Actor) -> None:
    errors: dict[str, list[str]] = {}
    if to_status not in {status.value for status in WalletStatus}:
        errors["status"] = [f"Unknown status {to_status!r}."]
    if reason not in StatusReason.values:
        errors["reason"] = [f"Unknown reason code {reason!r}; see the documented list."]
    elif reason in SYSTEM_ONLY_REASONS and actor is not Actor.SYSTEM:
        errors["reason"] = [f"The reason {reason} is set by the platform only."]
    elif reason in COMMENT_REQUIRED_REASONS and not comment.strip():
        errors["comment"] = [f"A comment is required with the reason {reason}."]
    if errors:
        raise ValidationError(errors)


def _status_request_fingerprint(*, wallet: Wallet, to_status: str, reason: str, comment: str) -> str:
    body = {"walletId": str(wallet.wallet_id), "status": str(to_status), "reason": reason, "comment": comment}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def wallet_change_status(
    *,
    wallet: Wallet,
    to_status: str,
    actor: Actor,
    actor_name: str,
    reason: str,
    comment: str = "",
    channel: str | None = None,
    idempotency_key: str | None = None,
) -> WalletStatusTransition:
    """Move `wallet` to `to_status` on behalf of `actor`, if the state machine allows it.

    Locks the wallet row and decides on the status read under the lock, so concurrent changes serialize and the
    later one is judged against the earlier one's result. Writes the immutable transition, emits
    WALLET_STATUS_CHANGED (plus WALLET_LOCKED/BLOCKED/FRAUD_SUSPENDED/CLOSED where the catalog has one) and an audit
    entry, all in one transaction. With `idempotency_key`, a repeat of the same request returns the first transition
    and a different request with the key raises IdempotencyKeyReused.

    Raises TransitionNotAllowed (with the allowed targets, and whether support could do it) or ValidationError
    (unknown status or reason, a system-only reason from another actor, OTHER without a comment, leaving FRAUD
    without a comment). Closing the wallet closes its cards (card_status). `wallet.status` is refreshed on return."""
    actor = Actor(actor)
    comment = comment or ""
    _validate_status_change(to_status=to_status, reason=reason, comment=comment, actor=actor)
    to_status = WalletStatus(to_status)
    channel = channel or _TRANSITION_CHANNEL[actor]
    if channel not in TransitionChannel.values:
        raise ValueError(f"Unknown transition channel {channel!r}")

    with log_context(tenant=wallet.partner.tenant_id, wallet_id=str(wallet.wallet_id)), transaction.atomic():
        # of=("self",): lock only the wallet row, not the partner/cardholder rows joined in.
        locked = (
            Wallet.objects.select_for_update(of=("self",))
            .select_related("partner", "cardholder")
            .get(pk=wallet.pk)
        )
        fingerprint = ""
        if idempotency_key:
            fingerprint = _status_request_fingerprint(
                wallet=locked, to_status=to_status, reason=reason, comment=comment
            )
            previous = (
                StatusChangeIdempotencyKey.objects.select_related("transition")
                .filter(partner=locked.partner, key=idempotency_key)
                .first()
            )
            if previous is not None:
                if previous.fingerprint != fingerprint:
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was already used with a different request body or wallet."
                    )
                logger.info("Status change replayed for idempotency key")
                wallet.status = locked.status
                return previous.transition

        current = WalletStatus(locked.status)
        if not can_transition(current, to_status, actor):
            support_only = actor is Actor.PARTNER and is_support_only(current, to_status)
            raise TransitionNotAllowed(current, to_status, allowed_targets(current, actor), support_only)
        if comment_required(current, to_status) and not comment.strip():
            raise ValidationError({"comment": [f"A written comment is required to release a {current} wallet."]})

        (transition,) = _record_moves(
            moves=[(locked, current, comment)], to_status=to_status, actor=actor, actor_name=actor_name, reason=reason,
            channel=channel,
        )
        if idempotency_key:
            try:
                # A savepoint: the same key racing on another wallet loses here, and its whole change rolls back.
                with transaction.atomic():
                    StatusChangeIdempotencyKey.objects.create(
                        partner=locked.partner, key=idempotency_key, fingerprint=fingerprint, transition=transition
                    )
            except IntegrityError:
                raise IdempotencyKeyReused("This Idempotency-Key is being used by another request.") from None

    wallet.status = locked.status
    return transition


def wallets_change_status(
    *,
    changes: Sequence[tuple[Wallet, str]],
    to_status: str,
    actor: Actor,
    actor_name: str,
    reason: str,
    channel: str | None = None,
) -> list[WalletStatusTransition]:
    """Bulk `wallet_change_status` (without idempotency keys) of (wallet, comment) pairs to one status, in a
    constant number of statements: the same validation, the wallets locked in id order, the state machine asked
    per wallet on the status read under the lock, and the same transitions, events and audit entries.

    All or nothing: raises TransitionNotAllowed or ValidationError for the first wallet refused, and nothing is
    changed. Each wallet's `status` is refreshed on return."""
    actor = Actor(actor)
    for _, comment in changes:
        _validate_status_change(to_status=to_status, reason=reason, comment=comment or "", actor=actor)
    to_status = WalletStatus(to_status)
    channel = channel or _TRANSITION_CHANNEL[actor]
    if channel not in TransitionChannel.values:
        raise ValueError(f"Unknown transition channel {channel!r}")
    comments = {wallet.pk: comment or "" for wallet, comment in changes}
    with transaction.atomic():
        locked = list(
            Wallet.objects.select_for_update(of=("self",))
            .select_related("partner", "cardholder")
            .filter(pk__in=sorted(comments))
            .order_by("pk")
        )
        moves = []
        for wallet in locked:
            current, comment = WalletStatus(wallet.status), comments[wallet.pk]
            if not can_transition(current, to_status, actor):
                support_only = actor is Actor.PARTNER and is_support_only(current, to_status)
                raise TransitionNotAllowed(current, to_status, allowed_targets(current, actor), support_only)
            if comment_required(current, to_status) and not comment.strip():
                raise ValidationError({"comment": [f"A written comment is required to release a {current} wallet."]})
            moves.append((wallet, current, comment))
        transitions = _record_moves(moves=moves, to_status=to_status, actor=actor, actor_name=actor_name,
                                    reason=reason, channel=channel)
    statuses = {wallet.pk: wallet.status for wallet in locked}
    for wallet, _ in changes:
        wallet.status = statuses[wallet.pk]
    return transitions


def _record_moves(
    *,
    moves: Sequence[tuple[Wallet, WalletStatus, str]],
    to_status: WalletStatus,
    actor: Actor,
    actor_name: str,
    reason: str,
    channel: str,
) -> list[WalletStatusTransition]:
    """Write allowed moves of locked wallets, (wallet, current status, comment) each: one UPDATE of the statuses,
    one INSERT each of the events (WALLET_STATUS_CHANGED and the status's specific one), the transitions and the
    audit entries; a CLOSED wallet's cards close with it (card_status) before the audit entries are written."""
    now = timezone.now()
    Wallet.objects.filter(pk__in=[wallet.pk for wallet, _, _ in moves]).update(status=to_status, updated_at=now)
    messages, transitions, entries = [], [], []
    specific = SPECIFIC_STATUS_EVENTS.get(to_status)
    for wallet, current, comment in moves:
        wallet.status, wallet.updated_at = to_status, now
        data = {
            **_wallet_event_data(wallet),
            "previousStatus": current.value,
            "newStatus": to_status.value,
            "reason": reason,
            "comment": comment,
            "channel": channel,
        }
        entity_id = str(wallet.wallet_id)
        changed = outbox_event(partner=wallet.partner, event_name="WALLET_STATUS_CHANGED", data=data,
                               entity_id=entity_id)
        messages.append(changed)
        transitions.append(WalletStatusTransition(
            wallet=wallet,
            from_status=current,
            to_status=to_status,
            reason=reason,
            comment=comment,
            actor=actor_name[:200],
            channel=channel,
            event_id=changed.event_id,
        ))
        if specific:
            messages.append(outbox_event(partner=wallet.partner, event_name=specific, data=data, entity_id=entity_id))
        entries.append(audit_entry(
            channel=_AUDIT_CHANNEL[actor],
            actor=actor_name,
            action="wallet.status_changed",
            object_type="wallet",
            object_id=wallet.wallet_id,
            partner=wallet.partner,
            before={"status": current.value},
            after={"status": to_status.value, "reason": reason, "comment": comment, "channel": channel},
        ))
        logger.info("Wallet %s status changed %s -> %s by %s (%s, reason %s)", wallet.wallet_id, current, to_status,
                    actor, channel, reason)
    publish_events(messages=messages)
    WalletStatusTransition.objects.bulk_create(transitions)
    if to_status is WalletStatus.CLOSED:
        # A closed wallet's cards close with it, each reported like any card status change; one bulk change per
        # distinct comment (the cards' events carry the wallet's comment).
        by_comment: dict[str, list[int]] = {}
        for wallet, _, comment in moves:
            by_comment.setdefault(comment, []).append(wallet.pk)
        for comment, wallet_ids in by_comment.items():
            cards = list(Card.objects.filter(wallet_id__in=wallet_ids).exclude(status=Card.Status.CLOSED)
                         .order_by("pk"))
            cards_change_status(cards=cards, action=CardAction.CLOSE_WITH_WALLET, actor=actor,
                                actor_name=actor_name, comment=comment)
    audit_record_many(entries)
    return transitions
