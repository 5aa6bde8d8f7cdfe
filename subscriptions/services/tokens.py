"""Partner API tokens: issuing (the raw token is shown once) and revoking."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.partner_api.audit import audit_record
from subscriptions.models import ApiToken, Partner, TokenLevel, hash_token
from subscriptions.services.audit_values import iso_or_none

TOKEN_PREFIX_LENGTH = 12


@transaction.atomic
def token_issue(
    *, partner: Partner, channel: str, actor: str, level: int = TokenLevel.STANDARD, name: str = ""
) -> tuple[ApiToken, str]:
    """Issue an API token for the partner. Returns (token row, raw token): the raw token is not stored (only its
    SHA-256), so this is the only time it can be shown."""
    if level not in TokenLevel.values:
        raise ValidationError({"level": [f"The token level must be one of {TokenLevel.values}."]})
    raw = ApiToken.generate()
    # The prefix identifies a token in the admin, logs and revoke_token without being enough to use it.
    token = ApiToken.objects.create(
        partner=partner,
        name=(name or "")[:100],
        prefix=raw[:TOKEN_PREFIX_LENGTH],
        token_hash=hash_token(raw),
        level=level,
    )
    audit_record(
        channel=channel,
        actor=actor,
        partner=partner,
        action="token.issued",
        object_type="ApiToken",
        object_id=token.prefix,
        after={"name": token.name, "level": token.level, "prefix": token.prefix},
    )
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, channel: str, actor: str) -> ApiToken:
    """Revoke a token (it stops authenticating immediately). Revoking a revoked token changes nothing."""
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        channel=channel,
        actor=actor,
        partner=token.partner,
        action="token.revoked",
        object_type="ApiToken",
        object_id=token.prefix,
        after={"revoked_at": iso_or_none(token.revoked_at)},
    )
    return token
