"""Signing secrets of event subscriptions: rotation with an overlap, audited reveal, and re-encryption of every
stored secret under the current encryption key (with its report)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.partner_api.audit import audit_record
from subscriptions.crypto import reencrypt_secret
from subscriptions.models import EventSubscription, SignatureScheme, generate_ed25519_secret, generate_signing_secret
from subscriptions.services.audit_values import iso_or_none


def new_signing_key(scheme: str) -> str:
    """A fresh key for the scheme: a `whsec_` HMAC secret, or a `whsk_` Ed25519 private key."""
    return generate_ed25519_secret() if scheme == SignatureScheme.ED25519 else generate_signing_secret()


def replace_signing_key(locked: EventSubscription) -> datetime:
    """Give the (locked) subscription a new key of its scheme; the current one keeps signing beside it for
    WEBHOOK_SECRET_ROTATION_OVERLAP_HOURS. Returns when the old one stops. The caller saves."""
    expires_at = timezone.now() + timedelta(hours=settings.WEBHOOK_SECRET_ROTATION_OVERLAP_HOURS)
    # Keep the ciphertext as is: no need to decrypt the old secret to keep it.
    locked.previous_secret_encrypted = locked.secret_encrypted
    locked.previous_secret_expires_at = expires_at
    locked.set_secret(new_signing_key(locked.signature_scheme))
    return expires_at


@transaction.atomic
def subscription_secret_rotate(*, subscription: EventSubscription, channel: str, actor: str) -> EventSubscription:
    """Give the subscription a new signing secret. The current one keeps signing beside it (two signatures per
    request) for WEBHOOK_SECRET_ROTATION_OVERLAP_HOURS, so receivers can switch without dropping a webhook.

    Rotating again inside the overlap replaces the older previous secret: only the last two secrets sign. An Ed25519
    subscription gets a new key pair the same way (two `v1a` signatures during the overlap)."""
    locked = EventSubscription.objects.select_for_update().get(pk=subscription.pk)
    expires_at = replace_signing_key(locked)
    locked.save(update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_secret_expires_at",
                               "updated_at"])
    audit_record(
        channel=channel,
        actor=actor,
        partner=locked.partner,
        action="subscription.secret_rotated",
        object_type="EventSubscription",
        object_id=locked.pk,
        after={"event_name": locked.event_name, "previous_secret_expires_at": iso_or_none(expires_at)},
    )
    return locked


@transaction.atomic
def subscription_secret_reveal(*, subscription: EventSubscription, channel: str, actor: str) -> str:
    """The current signing secret in clear. Reading a secret is sensitive, so it is audited too."""
    audit_record(
        channel=channel,
        actor=actor,
        partner=subscription.partner,
        action="subscription.secret_viewed",
        object_type="EventSubscription",
        object_id=subscription.pk,
        after={"event_name": subscription.event_name},
    )
    return subscription.secret


@dataclass
class ReencryptReport:
    reencrypted: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"reencrypted": self.reencrypted, "failed": self.failed}


def subscription_secrets_reencrypt(*, channel: str, actor: str, batch_size: int = 500) -> ReencryptReport:
    """Re-encrypt every stored signing secret under the first key of SECRETS_ENCRYPTION_KEYS (after a new key is
    put first), so that the old key can then be removed. Rows that no configured key decrypts are reported."""
    report = ReencryptReport()
    ids = list(EventSubscription.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        # One short transaction per batch, with row locks, so a concurrent rotation is never overwritten.
        with transaction.atomic():
            batch = (
                EventSubscription.objects.select_for_update(of=("self",))
                .select_related("partner")
                .filter(pk__in=ids[start : start + batch_size])
            )
            for sub in batch:
                try:
                    sub.secret_encrypted = reencrypt_secret(sub.secret_encrypted)
                    if sub.previous_secret_encrypted:
                        sub.previous_secret_encrypted = reencrypt_secret(sub.previous_secret_encrypted)
                    if sub.auth_secret_encrypted:
                        sub.auth_secret_encrypted = reencrypt_secret(sub.auth_secret_encrypted)
                except InvalidToken:
                    report.failed.append(
                        {"id": sub.pk, "tenantId": sub.partner.tenant_id, "eventName": sub.event_name}
                    )
                    continue
                # update() rather than save(): re-encryption is not a change a partner should see in updatedAt.
                EventSubscription.objects.filter(pk=sub.pk).update(
                    secret_encrypted=sub.secret_encrypted, previous_secret_encrypted=sub.previous_secret_encrypted,
                    auth_secret_encrypted=sub.auth_secret_encrypted,
                )
                report.reencrypted += 1
    with transaction.atomic():
        audit_record(
            channel=channel,
            actor=actor,
            action="subscription.secrets_reencrypted",
            object_type="EventSubscription",
            object_id="*",
            after=report.as_dict(),
        )
    return report
