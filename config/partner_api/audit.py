"""One way to record an audited change (issue: every admin or partner-API change to subscriptions, secrets,
wallets and templates is recorded with actor, time, before and after)."""

from typing import Any

from subscriptions.models import AuditChannel, AuditEntry, Partner

# Never store these in an audit snapshot.
_SECRET_FIELDS = {"secret", "secret_encrypted", "previous_secret_encrypted", "token", "token_hash"}


def _clean(snapshot: dict[str, Any] | None) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    return {k: ("[redacted]" if k in _SECRET_FIELDS else v) for k, v in snapshot.items()}


def audit_record(
    *,
    channel: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    partner: Partner | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit entry; call it inside the same transaction as the change."""
    entry = audit_entry(
        channel=channel, actor=actor, action=action, object_type=object_type, object_id=object_id, partner=partner,
        before=before, after=after,
    )
    entry.save(force_insert=True)
    return entry


def audit_entry(
    *,
    channel: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    partner: Partner | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """The unsaved entry `audit_record` writes; `audit_record_many` writes many in one statement."""
    return AuditEntry(
        channel=channel,
        actor=actor[:200],
        partner=partner,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=_clean(before),
        after=_clean(after),
    )


def audit_record_many(entries: list[AuditEntry]) -> None:
    """Write entries built with `audit_entry` in one INSERT, inside the change's transaction (bulk changes)."""
    if entries:
        AuditEntry.objects.bulk_create(entries)


def actor_of_request(request) -> tuple[str, str]:
    """(channel, actor) for a partner-API or admin request."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_staff", False):
        return AuditChannel.ADMIN, user.get_username()
    return AuditChannel.PARTNER_API, str(user) if user is not None else "anonymous"
