"""SSRF-proof egress for webhooks (threat model and tests: docs/security.md).

The destination host is resolved at send time, every resolved address is checked, and the connection goes to exactly
the checked addresses:

- Direct sends: `GuardedResolver` is aiohttp's resolver. aiohttp connects to the addresses the resolver returns, so
  the answer that was checked is the answer that is used; there is no second lookup for DNS rebinding to exploit.
  TLS still verifies the certificate and sends SNI for the original host name, because aiohttp keeps the URL's host
  for both.
- Through WEBHOOK_EGRESS_PROXY: the proxy would resolve the name again, so `pin_for_proxy` resolves and checks it
  here and rewrites the URL to the checked address; the original name travels in the Host header and, for https,
  as SNI and as the name the certificate must match (aiohttp's `server_hostname`).

The proxy itself is configured by the operator and usually sits on a private address, so its own host is exempt.
"""

import ipaddress
import socket
from dataclasses import dataclass, field

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from django.conf import settings
from yarl import URL

from subscriptions.destinations import host_is_allowlisted, ip_is_allowlisted, ip_is_public, parse_ip_literal


class EgressBlocked(OSError):
    """The destination resolves to an address webhooks may not reach."""


def check_addresses(host: str, addresses: list[str]) -> None:
    """Raise EgressBlocked unless every address is public or allow-listed (or the host name is allow-listed)."""
    if host_is_allowlisted(host):
        return
    if not addresses:
        raise EgressBlocked(f"{host} did not resolve to any address.")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not (ip_is_public(ip) or ip_is_allowlisted(ip)):
            raise EgressBlocked(f"{host} resolves to {ip}, a non-public address; webhooks may not reach it.")


def check_literal_host(host: str) -> None:
    """aiohttp connects to an IP-literal host without asking the resolver, so literals are checked here first."""
    literal = parse_ip_literal(host)
    if literal is not None:
        check_addresses(host, [str(literal)])


def egress_proxy_host() -> str | None:
    """The host of WEBHOOK_EGRESS_PROXY (lower case), or None when no proxy is configured."""
    proxy = settings.WEBHOOK_EGRESS_PROXY
    return URL(proxy).raw_host.lower() if proxy else None


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses to return a non-public address (unless allow-listed)."""

    def __init__(self) -> None:
        self._resolver = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        literal = parse_ip_literal(host)
        if literal is not None:
            # Normalise odd spellings (0x7f.1, 2130706433, ::ffff:…) to the address they really are.
            check_addresses(host, [str(literal)])
            fam = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
            return [
                ResolveResult(hostname=host, host=str(literal), port=port, family=fam, proto=0,
                              flags=socket.AI_NUMERICHOST)
            ]
        results = await self._resolver.resolve(host, port, family)
        # The operator's own proxy is trusted (and typically private); every other name is checked.
        if host.lower() != egress_proxy_host():
            check_addresses(host, [r["host"] for r in results])
        return results

    async def close(self) -> None:
        await self._resolver.close()


@dataclass(frozen=True)
class PinnedRequest:
    """A destination rewritten to one checked address, for sending through the egress proxy."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    server_hostname: str | None = None


async def pin_for_proxy(url: str, resolver: AbstractResolver | None = None) -> PinnedRequest:
    """Resolve and check the destination, and address the request to the checked IP so that the proxy cannot
    resolve the name to something else. Raises EgressBlocked like the direct path."""
    parsed = URL(url)
    host = parsed.raw_host or ""
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    own = resolver is None
    resolver = resolver or GuardedResolver()
    try:
        results = await resolver.resolve(host, port, socket.AF_UNSPEC)
    finally:
        if own:
            await resolver.close()
    host_header = host if parsed.explicit_port is None else f"{host}:{parsed.explicit_port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if parsed.explicit_port is None else f"[{host}]:{parsed.explicit_port}"
    return PinnedRequest(
        url=str(parsed.with_host(results[0]["host"])),
        headers={"Host": host_header},
        server_hostname=host.rstrip(".") if parsed.scheme == "https" and parse_ip_literal(host) is None else None,
    )
