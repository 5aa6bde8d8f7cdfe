"""SSRF-proof egress for webhooks: the destination host is resolved at send time, every resolved address is
checked, and aiohttp connects to exactly the checked addresses (the resolver's answer is the connection target, so a
second lookup, and with it DNS rebinding, cannot happen). TLS still verifies the certificate and sends SNI for the
original host name, because aiohttp keeps the URL's host for both."""

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

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


class GuardedResolver(AbstractResolver):
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
        check_addresses(host, [r["host"] for r in results])
        return results

    async def close(self) -> None:
        await self._resolver.close()
