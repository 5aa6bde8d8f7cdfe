"""Write side of the partner portal: partner users, one-time links, TOTP devices, and the portal's one
"recover failed deliveries since a time" entry point. Every change is audited; the portal passes
channel=PORTAL and the acting user or link as actor."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.partner_api.audit import audit_record
from notifications.models import RecoverJob
from notifications.services import recover_job_request
from subscriptions.models import AuditChannel, EventSubscription, Partner, hash_token
from subscriptions.portal.models import PartnerUser, PortalLink, PortalRole

TOTP_DEVICE_NAME = "Authenticator app"


class PortalLinkInvalid(Exception):
    """The link is unknown, was used already or has expired (the same answer for all three)."""


@transaction.atomic
def partner_user_create(
    *, partner: Partner, username: str, password: str, role: int, channel: str, actor: str, email: str = ""
) -> PartnerUser:
    """A new portal user of `partner`. Raises ValidationError for a taken username or an unknown role."""
    if role not in PortalRole.values:
        raise ValidationError({"role": [f"The role must be one of {PortalRole.labels}."]})
    user_model = get_user_model()
    if user_model.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": ["This username is taken."]})
    try:
        with transaction.atomic():
            user = user_model.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:
        raise ValidationError({"username": ["This username is taken."]}) from None
    membership = PartnerUser.objects.create(user=user, partner=partner, role=role)
    audit_record(channel=channel, actor=actor, partner=partner, action="portal_user.created",
                 object_type="PartnerUser", object_id=username,
                 after={"username": username, "role": PortalRole(role).label})
    return membership


@transaction.atomic
def portal_link_issue(*, partner: Partner, role: int, channel: str, actor: str,
                      session_minutes: int | None = None) -> tuple[PortalLink, str]:
    """A one-time link token for `partner`: (row, raw token). Only the token's hash is stored."""
    raw = PortalLink.generate()
    link = PortalLink.objects.create(
        partner=partner, token_hash=hash_token(raw), prefix=raw[:12], role=role,
        session_minutes=session_minutes or settings.PORTAL_LINK_SESSION_MINUTES, created_by=actor[:200],
        expires_at=timezone.now() + timedelta(seconds=settings.PORTAL_LINK_TTL_SECONDS),
    )
    audit_record(channel=channel, actor=actor, partner=partner, action="portal_link.issued",
                 object_type="PortalLink", object_id=link.prefix,
                 after={"role": PortalRole(role).label, "expires_at": link.expires_at.isoformat()})
    return link, raw


@transaction.atomic
def portal_link_consume(*, raw: str) -> PortalLink:
    """Spend a one-time link. The conditional UPDATE is the lock: of two concurrent uses, one wins."""
    now = timezone.now()
    token_hash = hash_token(raw)
    spent = PortalLink.objects.filter(token_hash=token_hash, used_at__isnull=True, expires_at__gt=now,
                                      partner__is_active=True).update(used_at=now)
    if spent != 1:
        raise PortalLinkInvalid("This sign-in link is not valid: it was used already, has expired, or never existed.")
    link = PortalLink.objects.select_related("partner").get(token_hash=token_hash)
    audit_record(channel=AuditChannel.PORTAL, actor=f"{link.partner.tenant_id}/portal-link:{link.prefix}",
                 partner=link.partner, action="portal_link.used", object_type="PortalLink", object_id=link.prefix)
    return link


def portal_sign_in_record(*, membership: PartnerUser, second_factor: bool) -> None:
    """Audit a successful sign-in (failures are counted by django-axes)."""
    audit_record(channel=AuditChannel.PORTAL, actor=f"{membership.partner.tenant_id}/user:{membership.user}",
                 partner=membership.partner, action="portal_user.signed_in", object_type="PartnerUser",
                 object_id=membership.user.get_username(), after={"totp": second_factor})


@transaction.atomic
def totp_device_start(*, user) -> TOTPDevice:
    """A fresh unconfirmed TOTP device for `user` (an earlier unconfirmed one is replaced)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice, token: str, partner: Partner, actor: str) -> bool:
    """Confirm the device with a code from the app; False when the code is wrong."""
    if not device.verify_token(token.strip()):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(channel=AuditChannel.PORTAL, actor=actor, partner=partner, action="portal_user.totp_enabled",
                 object_type="PartnerUser", object_id=device.user.get_username())
    return True


@transaction.atomic
def totp_device_remove(*, user, partner: Partner, actor: str) -> int:
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    if removed:
        audit_record(channel=AuditChannel.PORTAL, actor=actor, partner=partner,
                     action="portal_user.totp_disabled", object_type="PartnerUser", object_id=user.get_username())
    return removed


def subscription_recover(
    *, subscription: EventSubscription, since: datetime, channel: str, actor: str, until: datetime | None = None
) -> tuple[RecoverJob, bool]:
    """Send again the subscription's FAILED deliveries created in [since, until): the same recover job as the
    partner API's `POST …/{eventName}/recover` (notifications.services.recover_job_request), and whether it is new.
    Raises ValidationError for a bad window and RecoverJobConflict while another window's job runs."""
    return recover_job_request(subscription=subscription, since=since, until=until, channel=channel, actor=actor)
