"""Webhook destination rules (SSRF protection).

At creation time a destination must be an https URL whose host is not a literal private, loopback, link-local,
unspecified, multicast, reserved or cloud-metadata address in any spelling the resolver would accept (`2130706433`,
`0177.0.0.1`, `0x7f.1`, `[::ffff:7f00:1]` …), nor `localhost`-like. DNS is NOT resolved here: a name that does not
resolve today is accepted, and the send-time check (which does resolve) reuses `ip_is_public`, `ip_is_allowlisted`,
`host_is_allowlisted` and `parse_ip_literal` from this module.

Hosts and CIDRs listed in `settings.WEBHOOK_DESTINATION_ALLOWLIST` are exempt from the https and private-address
rules (local development and tests point webhooks at 127.0.0.1)."""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048

# Addresses that `ipaddress` calls global but that must never receive a webhook.
_DENIED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.169.254/32",  # AWS/GCP/Azure instance metadata (also link-local)
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "192.0.0.0/24",  # IETF protocol assignments (Oracle Cloud metadata is 192.0.0.192)
        "198.18.0.0/15",  # benchmarking
        "100.64.0.0/10",  # carrier-grade NAT, often the cloud's internal network
        "fd00:ec2::254/128",  # AWS metadata over IPv6 (also in fc00::/7)
        "fec0::/10",  # deprecated site-local
        "::/96",  # deprecated IPv4-compatible IPv6 (`::7f00:1`)
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# Names that always mean "this machine" or the private network, whatever DNS says.
_DENIED_NAMES = {"localhost", "metadata", "metadata.google.internal", "instance-data"}
_DENIED_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".home.arpa", ".intranet", ".lan")

_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
# WHATWG URL: a host whose last label looks like a number is parsed as an IPv4 address, never as a name.
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")


def _parse_ipv4_part(part: str) -> int | None:
    """One part of an inet_aton() address: decimal, octal (leading 0) or hex (0x)."""
    if not part:
        return None
    lowered = part.lower()
    try:
        if lowered.startswith("0x"):
            return int(lowered[2:] or "0", 16)
        if len(lowered) > 1 and lowered.startswith("0"):
            return int(lowered[1:], 8)
        if lowered.isdigit():
            return int(lowered, 10)
    except ValueError:
        return None
    return None


def _parse_inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """Parse the way inet_aton()/curl/browsers do: 1 to 4 parts, the last one filling the remaining bytes."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = [_parse_ipv4_part(p) for p in parts]
    if any(v is None for v in values):
        return None
    *leading, last = values
    if any(v > 0xFF for v in leading) or last >= 1 << (8 * (5 - len(parts))):
        return None
    number = 0
    for value in leading:
        number = number << 8 | value
    number = number << (8 * (5 - len(parts))) | last
    return ipaddress.IPv4Address(number)


def _normalise_host(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def parse_ip_literal(host: str) -> IPAddress | None:
    """The IP address a host string denotes, in any spelling a resolver accepts, or None for a name.

    Handles dotted, decimal (`2130706433`), octal (`0177.0.0.1`), hex (`0x7f.0.0.1`), short (`127.1`) IPv4, a
    trailing dot, and IPv6 with or without brackets or a zone id (`[fe80::1%25eth0]`)."""
    host = _normalise_host(host)
    if not host:
        return None
    if ":" in host:
        # A zone id (`%eth0`, URL-encoded as `%25eth0`) does not change which address it is.
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return None
    return _parse_inet_aton(host.removesuffix("."))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address forwards to (mapped, NAT64, 6to4, Teredo client), if any."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    return None


def ip_is_public(ip: IPAddress) -> bool:
    """True when `ip` is a globally routable unicast address a webhook may be sent to.

    False for private, loopback, link-local, unspecified, multicast, reserved, CGNAT, metadata addresses, and for
    IPv6 addresses that embed such an IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            # A dual-stack socket connects to the mapped IPv4 address itself.
            return ip_is_public(ip.ipv4_mapped)
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not ip_is_public(embedded):
            return False
        if ip.scope_id:
            return False
    if any(ip in network for network in _DENIED_NETWORKS if network.version == ip.version):
        return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
    )


@functools.lru_cache(maxsize=8)
def _parse_allowlist(entries: tuple[str, ...]) -> tuple[tuple[IPNetwork, ...], frozenset[str], tuple[str, ...]]:
    """(networks, exact host names, wildcard suffixes) from the allow-list setting."""
    networks: list[IPNetwork] = []
    names: set[str] = set()
    suffixes: list[str] = []
    for raw in entries:
        entry = _normalise_host(raw)
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        if entry.startswith("*."):
            suffixes.append(entry[1:].rstrip("."))
        else:
            names.add(entry.rstrip("."))
    return tuple(networks), frozenset(names), tuple(suffixes)


def _allowlist() -> tuple[tuple[IPNetwork, ...], frozenset[str], tuple[str, ...]]:
    return _parse_allowlist(tuple(getattr(settings, "WEBHOOK_DESTINATION_ALLOWLIST", ()) or ()))


def ip_is_allowlisted(ip: IPAddress) -> bool:
    """True when `ip` (or the IPv4 address an IPv4-mapped IPv6 address carries) is in an allow-listed CIDR."""
    networks, _, _ = _allowlist()
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        candidates.append(ip.ipv4_mapped)
    return any(c in n for c in candidates for n in networks if n.version == c.version)


def host_is_allowlisted(host: str) -> bool:
    """True when a URL host (name or IP literal in any spelling) is covered by WEBHOOK_DESTINATION_ALLOWLIST.

    Names match exactly (case-insensitive, trailing dot ignored) or by a `*.example.com` entry."""
    ip = parse_ip_literal(host)
    if ip is not None:
        return ip_is_allowlisted(ip)
    name = _normalise_host(host).rstrip(".")
    _, names, suffixes = _allowlist()
    return name in names or any(name.endswith(suffix) for suffix in suffixes)


def _ascii_host(host: str) -> str:
    """Apply IDNA so that look-alikes such as `127。0。0。1` or `①②⑦.0.0.1` are checked as what they become."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValidationError("The destination host is not a valid internationalised domain name.",
                              code="invalid_host") from None


def _check_host_name(host: str) -> None:
    name = host.rstrip(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise ValidationError("The destination host is not a valid host name.", code="invalid_host")
    if _NUMERIC_LABEL.match(name.rsplit(".", 1)[-1]):
        raise ValidationError("The destination host looks like an IP address but is not a valid one.",
                              code="invalid_host")
    if name in _DENIED_NAMES or name.endswith(_DENIED_SUFFIXES):
        raise ValidationError(
            f"The destination host {name!r} names this machine or a private network; use a public host name.",
            code="private_host",
        )
    if "." not in name:
        raise ValidationError(
            "The destination host must be a fully qualified domain name (e.g. hooks.example.com).",
            code="private_host",
        )


def validate_destination_url(url: str) -> None:
    """Raise ValidationError unless `url` is an acceptable webhook destination. Never resolves DNS."""
    if not isinstance(url, str) or not url:
        raise ValidationError("Enter the destination URL.", code="required")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(f"The destination URL is longer than {MAX_URL_LENGTH} characters.", code="max_length")
    # Parsers disagree on whitespace, control characters and backslashes; refuse them instead of guessing.
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url) or "\\" in url:
        raise ValidationError("The destination URL contains whitespace, control characters or backslashes.",
                              code="invalid")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError("The destination is not a valid URL.", code="invalid") from None
    if parts.scheme not in ("https", "http"):
        raise ValidationError("The destination must be an https:// URL.", code="https_required")
    if not parts.netloc or not parts.hostname:
        raise ValidationError("The destination URL has no host.", code="invalid")
    if "@" in parts.netloc:
        raise ValidationError("The destination URL must not contain a user name or password.", code="userinfo")
    if port == 0:
        raise ValidationError("The destination URL has an invalid port.", code="invalid")
    if parts.fragment or url.endswith("#"):
        raise ValidationError("The destination URL must not contain a #fragment (it is never sent).",
                              code="invalid")

    host = _ascii_host(parts.hostname)
    if host_is_allowlisted(host):
        return
    if parts.scheme != "https":
        raise ValidationError("The destination must be an https:// URL.", code="https_required")
    ip = parse_ip_literal(host)
    if ip is None:
        _check_host_name(host)
    elif not ip_is_public(ip):
        raise ValidationError(
            f"The destination host {parts.hostname!r} is a private, loopback, link-local, multicast, reserved or "
            f"metadata address ({ip}); webhooks can only be sent to public addresses.",
            code="private_address",
        )
