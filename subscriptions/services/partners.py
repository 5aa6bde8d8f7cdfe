"""Partners (tenants): their tenant id rules, creation, renaming and (de)activation."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from config.partner_api.audit import audit_record
from subscriptions.models import Partner

TENANT_ID_MAX_LENGTH = 64


class PartnerExists(Exception):
    """A partner with this tenant id already exists."""


def validate_tenant_id(tenant_id: str) -> None:
    if not tenant_id or len(tenant_id) > TENANT_ID_MAX_LENGTH:
        raise ValidationError(f"The tenant id must be 1 to {TENANT_ID_MAX_LENGTH} characters.", code="invalid")
    try:
        validate_slug(tenant_id)
    except ValidationError:
        raise ValidationError(
            "The tenant id may contain only letters, digits, hyphens and underscores.", code="invalid"
        ) from None


@transaction.atomic
def partner_create(*, tenant_id: str, name: str, channel: str, actor: str) -> Partner:
    """Create a partner (tenant). Raises ValidationError for a bad id or name, PartnerExists for a taken id
    (compared case-insensitively, so `Acme` and `acme` cannot both exist)."""
    validate_tenant_id(tenant_id)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError({"name": ["The partner name must be 1 to 200 characters."]})
    if Partner.objects.filter(tenant_id__iexact=tenant_id).exists():
        raise PartnerExists(f"A partner with tenant id {tenant_id!r} already exists.")
    partner = Partner.objects.create(tenant_id=tenant_id, name=name)
    audit_record(
        channel=channel,
        actor=actor,
        partner=partner,
        action="partner.created",
        object_type="Partner",
        object_id=partner.tenant_id,
        after={"tenant_id": partner.tenant_id, "name": partner.name, "is_active": partner.is_active},
    )
    return partner


@transaction.atomic
def partner_update(
    *, partner: Partner, channel: str, actor: str, name: str | None = None, is_active: bool | None = None
) -> Partner:
    """Rename or (de)activate a partner; a deactivated partner's tokens stop authenticating at once."""
    before = {"name": partner.name, "is_active": partner.is_active}
    if name is not None:
        partner.name = name.strip()
    if is_active is not None:
        partner.is_active = is_active
    after = {"name": partner.name, "is_active": partner.is_active}
    if after != before:
        partner.save(update_fields=["name", "is_active"])
        audit_record(
            channel=channel,
            actor=actor,
            partner=partner,
            action="partner.updated",
            object_type="Partner",
            object_id=partner.tenant_id,
            before=before,
            after=after,
        )
    return partner
