"""Field rules for a subscription's delivery options (custom headers, rate limit, endpoint authentication, signature
scheme), shared by the partner API, the services and the admin so that every entry point accepts the same values.

Errors never quote a header value or a credential: the messages may be logged or shown to support staff."""

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.core.exceptions import ValidationError

from subscriptions.destinations import MAX_URL_LENGTH, validate_destination_url
from subscriptions.models import EndpointAuthType, SignatureScheme

MAX_HEADERS = 20
HEADER_NAME_MAX_LENGTH = 64
HEADER_VALUE_MAX_LENGTH = 1024
RATE_LIMIT_MAX = 10_000
PEM_MAX_LENGTH = 16 * 1024
CREDENTIAL_MAX_LENGTH = 1024
SCOPE_MAX_LENGTH = 1024

# RFC 9110 field-name: a token.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Visible ASCII, space and tab: no CR/LF (header injection), no NUL, nothing a proxy might re-encode.
_HEADER_VALUE = re.compile(r"^[\t\x20-\x7e]*$")
# Headers the service sets itself or that describe the connection rather than the message (hop-by-hop, RFC 9110
# 7.6.1): a partner's value would break the signature, the framing or the connection. Authorization belongs to `auth`.
RESERVED_HEADERS = frozenset({
    "host", "authorization", "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "proxy-connection", "te", "trailer", "trailers", "transfer-encoding", "upgrade", "expect",
})
RESERVED_HEADER_PREFIXES = ("webhook-", "content-", "proxy-")


class Keep:
    """Passed for an option a PUT did not mention: it keeps its value (None would mean 'remove')."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = Keep()


def validate_headers(headers: Any) -> dict[str, str]:
    """The custom headers as given (names keep their spelling), or ValidationError listing every bad one."""
    if not isinstance(headers, dict):
        raise ValidationError("headers must be an object of header name to value.", code="invalid")
    if len(headers) > MAX_HEADERS:
        raise ValidationError(f"At most {MAX_HEADERS} custom headers are allowed.", code="too_many_headers")
    problems: list[str] = []
    seen: set[str] = set()
    for name, value in headers.items():
        shown = str(name)[:HEADER_NAME_MAX_LENGTH]
        lower = str(name).lower()
        if not isinstance(name, str) or not name or len(name) > HEADER_NAME_MAX_LENGTH or not _HEADER_NAME.match(name):
            problems.append(f"{shown!r} is not a valid header name (letters, digits and !#$%&'*+.^_`|~- only, at "
                            f"most {HEADER_NAME_MAX_LENGTH} characters).")
        elif lower in RESERVED_HEADERS or lower.startswith(RESERVED_HEADER_PREFIXES):
            hint = " Use the auth option to authenticate to your endpoint." if lower == "authorization" else ""
            problems.append(f"{name!r} is reserved: the platform sets it or it describes the connection.{hint}")
        elif lower in seen:
            problems.append(f"{name!r} is given twice (header names are case-insensitive).")
        seen.add(lower)
        if not isinstance(value, str):
            problems.append(f"The value of {shown!r} must be a string.")
        elif not value.strip() or len(value) > HEADER_VALUE_MAX_LENGTH or not _HEADER_VALUE.match(value):
            problems.append(f"The value of {shown!r} must be 1 to {HEADER_VALUE_MAX_LENGTH} printable ASCII "
                            "characters (no line breaks).")
    if problems:
        raise ValidationError(problems, code="invalid_header")
    return dict(headers)


def validate_rate_limit(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= RATE_LIMIT_MAX:
        raise ValidationError(f"rateLimitPerSecond must be a whole number from 1 to {RATE_LIMIT_MAX}.",
                              code="out_of_range")
    return value


def validate_signature_scheme(value: Any) -> str:
    if value not in SignatureScheme.values:
        raise ValidationError(f"signatureScheme must be one of {', '.join(SignatureScheme.values)}.", code="invalid")
    return value


# --- endpoint authentication -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthSettings:
    """What is stored for `auth`: the type, its public part (echoed by GET) and its secret (stored encrypted)."""

    auth_type: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    secret: str = ""


NO_AUTH = AuthSettings()

# Per type: the public fields, the secret field, and the fields that must be given.
_AUTH_FIELDS = {
    EndpointAuthType.OAUTH2: (("tokenUrl", "clientId", "scope"), "clientSecret", ("tokenUrl", "clientId")),
    EndpointAuthType.MTLS: (("certificate",), "privateKey", ("certificate",)),
    EndpointAuthType.BASIC: (("username",), "password", ("username",)),
}


def normalize_auth(auth: Any, *, current: AuthSettings = NO_AUTH) -> AuthSettings:
    """Validate an `auth` object ({"type": "oauth2"|"mtls"|"basic", …}; None removes it) into what is stored.

    The secret (clientSecret, privateKey, password) may be left out when the stored auth is of the same type (and,
    for mTLS, the same certificate): the stored one is kept, so a GET → PUT round trip works although GET never
    returns secrets. Errors are keyed `auth.<field>`."""
    if auth is None:
        return NO_AUTH
    if not isinstance(auth, dict):
        raise ValidationError({"auth": ["auth must be an object with a type, or null to remove it."]})
    auth_type = auth.get("type")
    if auth_type not in _AUTH_FIELDS:
        raise ValidationError({"auth.type": [f"type must be one of {', '.join(t.value for t in _AUTH_FIELDS)}."]})
    public, secret_name, required = _AUTH_FIELDS[auth_type]
    errors: dict[str, list[str]] = {}
    allowed = {"type", secret_name, *public}
    for unknown in sorted(set(auth) - allowed):
        errors[f"auth.{unknown}"] = [f"Unknown field for type {auth_type}. Allowed: {', '.join(sorted(allowed))}."]
    for name in (*public, secret_name):
        value = auth.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            errors.setdefault(f"auth.{name}", []).append("Must be a non-empty string.")
    for name in required:
        if not auth.get(name):
            errors.setdefault(f"auth.{name}", []).append(f"Required for type {auth_type}.")
    if errors:
        raise ValidationError(errors)
    config = {name: auth[name] for name in public if auth.get(name)}
    secret = auth.get(secret_name) or ""
    keeps_secret = not secret and current.auth_type == auth_type and (
        auth_type != EndpointAuthType.MTLS or current.config.get("certificate") == config["certificate"])
    if keeps_secret:
        secret = current.secret
    if not secret:
        raise ValidationError({f"auth.{secret_name}": [f"Required for type {auth_type}."]})
    check = {EndpointAuthType.OAUTH2: _check_oauth2, EndpointAuthType.MTLS: _check_mtls,
             EndpointAuthType.BASIC: _check_basic}[auth_type]
    config = check(config, secret, errors)
    if errors:
        raise ValidationError(errors)
    return AuthSettings(auth_type=auth_type, config=config, secret=secret)


def _limit(errors: dict, name: str, value: str, maximum: int) -> None:
    if len(value) > maximum:
        errors.setdefault(f"auth.{name}", []).append(f"At most {maximum} characters.")


def _check_oauth2(config: dict, secret: str, errors: dict) -> dict:
    try:
        # The token endpoint is reached from the same workers as the destination: the same SSRF rules apply.
        validate_destination_url(config["tokenUrl"])
    except ValidationError as exc:
        errors.setdefault("auth.tokenUrl", []).extend(m.replace("destination", "token URL") for m in exc.messages)
    _limit(errors, "tokenUrl", config["tokenUrl"], MAX_URL_LENGTH)
    _limit(errors, "clientId", config["clientId"], CREDENTIAL_MAX_LENGTH)
    _limit(errors, "clientSecret", secret, CREDENTIAL_MAX_LENGTH)
    _limit(errors, "scope", config.get("scope", ""), SCOPE_MAX_LENGTH)
    return config


def _check_basic(config: dict, secret: str, errors: dict) -> dict:
    # RFC 7617: the user-id cannot contain a colon; neither part may hold control characters.
    if ":" in config["username"]:
        errors.setdefault("auth.username", []).append("The user name cannot contain a colon.")
    for name, value in (("username", config["username"]), ("password", secret)):
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            errors.setdefault(f"auth.{name}", []).append("Control characters are not allowed.")
        _limit(errors, name, value, CREDENTIAL_MAX_LENGTH)
    return config


def _check_mtls(config: dict, secret: str, errors: dict) -> dict:
    pem, key_pem = config["certificate"], secret
    if len(pem) > PEM_MAX_LENGTH or len(key_pem) > PEM_MAX_LENGTH:
        errors.setdefault("auth.certificate", []).append(f"The certificate and key must each be under "
                                                          f"{PEM_MAX_LENGTH // 1024} KB of PEM.")
        return config
    try:
        chain = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        errors.setdefault("auth.certificate", []).append("Not a PEM certificate (-----BEGIN CERTIFICATE-----).")
        return config
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        errors.setdefault("auth.privateKey", []).append(
            "Not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----); remove any passphrase first.")
        return config
    leaf = chain[0]
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        errors.setdefault("auth.privateKey", []).append("Use an RSA, EC or Ed25519 key.")
    elif isinstance(key, rsa.RSAPrivateKey) and key.key_size < 2048:
        errors.setdefault("auth.privateKey", []).append("An RSA key must have at least 2048 bits.")
    elif key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
            != leaf.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo):
        errors.setdefault("auth.privateKey", []).append("The private key does not belong to the certificate.")
    if leaf.not_valid_after_utc <= datetime.datetime.now(datetime.UTC):
        errors.setdefault("auth.certificate", []).append(
            f"The certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}.")
    return {
        "certificate": pem,
        "certificateSubject": leaf.subject.rfc4514_string()[:300],
        "certificateExpiresAt": leaf.not_valid_after_utc.isoformat().replace("+00:00", "Z"),
        "certificateSha256": leaf.fingerprint(hashes.SHA256()).hex(),
    }


def auth_public_view(auth_type: str, config: dict[str, Any]) -> dict[str, Any] | None:
    """What GET shows of `auth`: never a secret (the client certificate is public; its key is not)."""
    if not auth_type:
        return None
    return {"type": auth_type, **config}


def auth_summary(auth_type: str, config: dict[str, Any]) -> dict[str, Any] | None:
    """`auth_public_view` without the certificate's PEM: for the audit log and the admin."""
    view = auth_public_view(auth_type, config)
    return None if view is None else {k: v for k, v in view.items() if k != "certificate"}

