"""Signed links a cardholder opens without an account: the preference centre (a partner asks for it and puts it in
its app) and an email's one-click unsubscribe (List-Unsubscribe, RFC 8058).

Both are Django `TimestampSigner` tokens (HMAC with SECRET_KEY, a salt per purpose so one kind of link can never be
used as the other) carrying only ids, never contact data; both expire. A tampered token and an expired one are told
apart so the page can say which."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from wallets.models import Cardholder

_PREFERENCES_SALT = "wallets.links.preference-centre"
_UNSUBSCRIBE_SALT = "wallets.links.unsubscribe"


class LinkError(Exception):
    """A link that cannot be used: `reason` is "expired" or "invalid" (tampered with, or not one of ours)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PreferenceClaim:
    cardholder_id: int
    partner_id: int


@dataclass(frozen=True)
class UnsubscribeClaim:
    cardholder_id: int
    partner_id: int
    category: str
    channel: str


def _unsign(token: str, *, salt: str, max_age: timedelta) -> dict:
    try:
        value = signing.TimestampSigner(salt=salt).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkError("expired") from None
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise LinkError("invalid") from None
    if not isinstance(value, dict):
        raise LinkError("invalid")
    return value


def preference_token_create(*, cardholder: Cardholder) -> tuple[str, datetime]:
    """A token for the cardholder's preference centre and the moment it stops working."""
    token = signing.TimestampSigner(salt=_PREFERENCES_SALT).sign_object(
        {"c": cardholder.pk, "p": cardholder.partner_id}, compress=True
    )
    return token, timezone.now() + timedelta(seconds=settings.PREFERENCE_LINK_MAX_AGE_SECONDS)


def preference_token_read(token: str) -> PreferenceClaim:
    value = _unsign(token, salt=_PREFERENCES_SALT,
                    max_age=timedelta(seconds=settings.PREFERENCE_LINK_MAX_AGE_SECONDS))
    try:
        return PreferenceClaim(cardholder_id=int(value["c"]), partner_id=int(value["p"]))
    except (KeyError, TypeError, ValueError):
        raise LinkError("invalid") from None


def unsubscribe_token_create(*, cardholder: Cardholder, category: str, channel: str) -> str:
    return signing.TimestampSigner(salt=_UNSUBSCRIBE_SALT).sign_object(
        {"c": cardholder.pk, "p": cardholder.partner_id, "g": category, "ch": channel}, compress=True
    )


def unsubscribe_token_read(token: str) -> UnsubscribeClaim:
    value = _unsign(token, salt=_UNSUBSCRIBE_SALT, max_age=timedelta(days=settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS))
    try:
        return UnsubscribeClaim(cardholder_id=int(value["c"]), partner_id=int(value["p"]),
                                category=str(value["g"]), channel=str(value["ch"]))
    except (KeyError, TypeError, ValueError):
        raise LinkError("invalid") from None


def public_url(path: str, *, base: str | None = None) -> str:
    """`path` on this service's public address (PUBLIC_BASE_URL, else `base`: the address a request came to)."""
    return f"{(settings.PUBLIC_BASE_URL or base or '').rstrip('/')}{path}"


def preference_url(token: str, *, base: str | None = None) -> str:
    return public_url(reverse("preference-centre", args=[token]), base=base)


def unsubscribe_url(token: str) -> str:
    """The one-click unsubscribe address of an email ("" when PUBLIC_BASE_URL is not set: no link can be given)."""
    if not settings.PUBLIC_BASE_URL:
        return ""
    return public_url(reverse("unsubscribe", args=[token]))
