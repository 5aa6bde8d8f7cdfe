"""SSRF-proof egress, proven at send time with the real sender (aiohttp, GuardedResolver) against real sockets.

Only the network edge is replaced: `fake_dns` stands in for DNS, and loopback servers stand in for a partner's
endpoint and for an internal service an attacker would like to reach. 127.0.0.2 plays a public address (it is put on
the allow-list); 127.0.0.1 plays the internal target that must never be reached."""

import asyncio

import pytest

from notifications.webhooks.egress import EgressBlocked, GuardedResolver, pin_for_proxy
from notifications.webhooks.sender import OutgoingRequest, SendResult, WebhookSender
from tests.fixtures.receiver import WebhookReceiver
from tests.security.netdoubles import ForwardProxy, free_port_on, self_signed_certificate

pytestmark = pytest.mark.django_db

BODY = b'{"eventId": "e-1"}'


def send(sender, url: str) -> SendResult:
    (result,) = sender.send_many([OutgoingRequest(subscription_id=1, url=url, headers={"webhook-id": "e-1"},
                                                  body=BODY)])
    return result


def resolve(host: str) -> list[str]:
    async def run():
        resolver = GuardedResolver()
        try:
            return [r["host"] for r in await resolver.resolve(host, 443, 0)]
        finally:
            await resolver.close()

    return asyncio.run(run())


@pytest.fixture
def internal_service():
    """What an attacker wants to reach: a service on 127.0.0.1."""
    with WebhookReceiver("127.0.0.1", free_port_on("127.0.0.1", "127.0.0.2")) as server:
        yield server


@pytest.fixture
def production_rules(settings):
    settings.WEBHOOK_DESTINATION_ALLOWLIST = []
    settings.WEBHOOK_EGRESS_PROXY = ""
    settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS = 2


# Every spelling of a non-public address that a resolver or inet_aton() would accept.
BLOCKED_LITERALS = [
    ("127.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),  # short form
    ("2130706433", "127.0.0.1"),  # decimal
    ("0177.0.0.1", "127.0.0.1"),  # octal
    ("017700000001", "127.0.0.1"),  # octal, one part
    ("0x7f.0.0.1", "127.0.0.1"),  # hex parts
    ("0x7f000001", "127.0.0.1"),  # hex, one part
    ("0x7f.1", "127.0.0.1"),  # hex, short form
    ("127.0.0.1.", "127.0.0.1"),  # trailing dot
    ("0.0.0.0", "0.0.0.0"),  # 'this host': connects to the local machine on Linux
    ("0", "0.0.0.0"),
    ("10.0.0.1", "10.0.0.1"),
    ("172.16.5.4", "172.16.5.4"),
    ("192.168.1.1", "192.168.1.1"),
    ("100.64.0.1", "100.64.0.1"),  # carrier-grade NAT
    ("169.254.169.254", "169.254.169.254"),  # cloud metadata
    ("2852039166", "169.254.169.254"),  # metadata, decimal
    ("0xa9fea9fe", "169.254.169.254"),  # metadata, hex
    ("0251.0376.0251.0376", "169.254.169.254"),  # metadata, octal
    ("100.100.100.200", "100.100.100.200"),  # Alibaba metadata
    ("224.0.0.1", "224.0.0.1"),  # multicast
    ("255.255.255.255", "255.255.255.255"),
    ("[::1]", "::1"),
    ("[::]", "::"),
    ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),  # IPv4-mapped IPv6
    ("[::ffff:7f00:1]", "::ffff:7f00:1"),
    ("[::ffff:169.254.169.254]", "::ffff:a9fe:a9fe"),
    ("[::ffff:10.0.0.1]", "::ffff:a00:1"),
    ("[::127.0.0.1]", "::7f00:1"),  # deprecated IPv4-compatible
    ("[64:ff9b::7f00:1]", "64:ff9b::7f00:1"),  # NAT64 of 127.0.0.1
    ("[2002:7f00:1::]", "2002:7f00:1::"),  # 6to4 of 127.0.0.1
    ("[fd00::1]", "fd00::1"),  # unique local (fd00::/8)
    ("[fd12:3456::1]", "fd12:3456::1"),
    ("[fd00:ec2::254]", "fd00:ec2::254"),  # AWS metadata over IPv6
    ("[fc00::1]", "fc00::1"),
    ("[fe80::1]", "fe80::1"),  # link-local
    ("[fec0::1]", "fec0::1"),  # site-local
    ("[ff02::1]", "ff02::1"),  # multicast
]


@pytest.mark.parametrize(("host", "address"), BLOCKED_LITERALS)
def test_every_spelling_of_a_private_address_is_refused_by_the_resolver(production_rules, host, address):
    with pytest.raises(EgressBlocked) as caught:
        resolve(host)
    assert address in str(caught.value)


@pytest.mark.parametrize(("host", "address"), BLOCKED_LITERALS)
def test_every_spelling_is_blocked_at_send_time_and_nothing_connects(
    production_rules, sender, internal_service, host, address
):
    result = send(sender, f"http://{host}:{internal_service.port}/hook")
    assert result.error_class == "EgressBlocked", result
    assert address in result.error_message
    assert not result.succeeded and result.status_code is None
    assert internal_service.requests == []


def test_a_zone_id_does_not_hide_a_link_local_address(production_rules):
    with pytest.raises(EgressBlocked):
        resolve("fe80::1%eth0")


@pytest.mark.parametrize("name", ["localhost", "LOCALHOST"])
def test_localhost_names_resolved_by_the_system_are_blocked(production_rules, name):
    """No fake here: the machine's own resolver answers, and whatever it answers for localhost is loopback."""
    with pytest.raises(EgressBlocked, match="non-public"):
        resolve(name)


@pytest.mark.parametrize(
    ("answer", "blocked"),
    [
        (["93.184.216.34"], False),
        (["2606:2800:220:1:248:1893:25c8:1946"], False),
        (["10.1.2.3"], True),
        (["::ffff:10.0.0.1"], True),
        (["fd12::1"], True),
        (["169.254.169.254"], True),
        (["0.0.0.0"], True),
        # One bad address poisons the answer: aiohttp might try any of them.
        (["93.184.216.34", "127.0.0.1"], True),
        (["2606:2800:220:1:248:1893:25c8:1946", "::1"], True),
    ],
)
def test_names_are_checked_on_every_resolved_address(production_rules, fake_dns, answer, blocked):
    fake_dns.set("hooks.partner.test", answer)
    if blocked:
        with pytest.raises(EgressBlocked):
            resolve("hooks.partner.test")
    else:
        assert resolve("hooks.partner.test") == answer


def test_allow_listed_addresses_are_reachable(settings, sender, internal_service):
    """The control for the tests above: the loopback server IS reachable once allowed, so the blocks are the
    guard's doing, not a network failure."""
    settings.WEBHOOK_DESTINATION_ALLOWLIST = ["127.0.0.1/32"]
    result = send(sender, f"http://127.0.0.1:{internal_service.port}/hook")
    assert result.status_code == 204, result
    assert [h.body for h in internal_service.requests] == [BODY]


def test_the_allow_list_matches_the_normalised_address(settings):
    """An allowed CIDR covers every spelling of its addresses (aiohttp itself refuses non-canonical IPv4 in URLs,
    but the resolver sees them when they come from elsewhere, e.g. a CNAME-less DNS name that looks numeric)."""
    settings.WEBHOOK_DESTINATION_ALLOWLIST = ["127.0.0.1/32"]
    assert resolve("2130706433") == ["127.0.0.1"]
    assert resolve("0x7f.1") == ["127.0.0.1"]
    assert resolve("::ffff:127.0.0.1") == ["::ffff:7f00:1"]


@pytest.mark.parametrize("entry", ["hooks.partner.test", "*.partner.test", "127.0.0.0/8"])
def test_allow_list_by_name_wildcard_or_cidr(settings, sender, fake_dns, internal_service, entry):
    settings.WEBHOOK_DESTINATION_ALLOWLIST = [entry]
    fake_dns.set("hooks.partner.test", ["127.0.0.1"])
    assert send(sender, internal_service.url(host="hooks.partner.test")).status_code == 204
    assert internal_service.requests[0].headers["host"] == f"hooks.partner.test:{internal_service.port}"


def test_an_unlisted_name_is_not_exempted_by_a_neighbour_on_the_allow_list(settings, sender, fake_dns,
                                                                          internal_service):
    settings.WEBHOOK_DESTINATION_ALLOWLIST = ["hooks.partner.test"]
    fake_dns.set("evil.partner.test", ["127.0.0.1"])
    result = send(sender, internal_service.url(host="evil.partner.test"))
    assert result.error_class == "EgressBlocked"
    assert internal_service.requests == []


# --- DNS rebinding ------------------------------------------------------------------------------------------------


def test_dns_rebinding_cannot_redirect_the_connection(settings, sender, fake_dns, internal_service):
    """The attacker's DNS answers a permitted address to the first lookup and 127.0.0.1 to every later one. A
    check-then-connect client (resolve, check, then let the HTTP library resolve again) would connect to
    127.0.0.1. Ours resolves once and connects to exactly the address it checked."""
    settings.WEBHOOK_DESTINATION_ALLOWLIST = ["127.0.0.2/32"]  # 127.0.0.2 plays a public address
    with WebhookReceiver("127.0.0.2", internal_service.port) as partner:
        fake_dns.set("rebind.partner.test", ["127.0.0.2"], ["127.0.0.1"])
        url = f"http://rebind.partner.test:{internal_service.port}/hook"

        assert send(sender, url).status_code == 204
        (hit,) = partner.requests
        assert hit.headers["host"] == f"rebind.partner.test:{internal_service.port}"
        assert fake_dns.lookups == ["rebind.partner.test"]  # one lookup: the checked answer is the one used

        # Later sends reuse the checked answer (aiohttp's DNS cache and kept-alive connection) ...
        assert send(sender, url).status_code == 204
        # ... and a fresh lookup (another worker process, or the cache expired) is checked again before connecting.
        fresh = WebhookSender()
        try:
            rebound = send(fresh, url)
        finally:
            fresh.close()
        assert rebound.error_class == "EgressBlocked" and "127.0.0.1" in rebound.error_message
        assert fake_dns.lookups == ["rebind.partner.test", "rebind.partner.test"]
        assert len(partner.requests) == 2
        assert internal_service.requests == []  # never reached, at any point


# --- TLS ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def tls_endpoint(tmp_path):
    """An HTTPS endpoint for hooks.partner.test on 127.0.0.1 whose certificate no CA trusts."""
    certfile, keyfile = self_signed_certificate("hooks.partner.test", tmp_path)
    with WebhookReceiver("127.0.0.1", free_port_on("127.0.0.1"), certfile=certfile, keyfile=keyfile) as server:
        yield server


def test_tls_verification_is_on_and_sni_carries_the_original_host(settings, sender, fake_dns, tls_endpoint):
    """The name is mapped to 127.0.0.1 by DNS and allowed by the allow-list; the connection goes to the checked
    address, yet SNI names the host from the URL and the untrusted certificate is refused."""
    settings.WEBHOOK_DESTINATION_ALLOWLIST = ["127.0.0.1/32"]
    fake_dns.set("hooks.partner.test", ["127.0.0.1"])
    result = send(sender, tls_endpoint.url(host="hooks.partner.test"))
    assert result.error_class == "ClientConnectorCertificateError", result
    assert "certificate verify failed" in result.error_message
    assert tls_endpoint.sni_names == ["hooks.partner.test"]
    assert tls_endpoint.requests == []  # nothing was sent over the unverified connection


# --- egress proxy -------------------------------------------------------------------------------------------------


@pytest.fixture
def proxy(settings, fake_dns):
    """WEBHOOK_EGRESS_PROXY pointing at a local forward proxy by a name that resolves to 127.0.0.1, which is NOT on
    the allow-list: the operator's own proxy is exempt from the destination rules."""
    server = ForwardProxy().start()
    fake_dns.set("egress-proxy.internal", ["127.0.0.1"])
    settings.WEBHOOK_EGRESS_PROXY = f"http://egress-proxy.internal:{server.port}"
    yield server
    server.stop()


def test_through_the_proxy_the_request_goes_to_the_checked_address(settings, sender, fake_dns, proxy,
                                                                   internal_service):
    settings.WEBHOOK_DESTINATION_ALLOWLIST = ["127.0.0.2/32"]
    with WebhookReceiver("127.0.0.2", internal_service.port) as partner:
        # The proxy would resolve the name itself and could be rebound to 127.0.0.1; it is never asked to.
        fake_dns.set("hooks.partner.test", ["127.0.0.2"], ["127.0.0.1"])
        result = send(sender, f"http://hooks.partner.test:{partner.port}/hook")
        assert result.status_code == 204, result
        assert proxy.request_lines == [f"POST http://127.0.0.2:{partner.port}/hook HTTP/1.1"]
        (hit,) = partner.requests
        assert hit.headers["host"] == f"hooks.partner.test:{partner.port}" and hit.body == BODY
        assert internal_service.requests == []


def test_through_the_proxy_a_private_destination_is_blocked_before_the_proxy_sees_it(settings, sender, fake_dns,
                                                                                     proxy, internal_service):
    settings.WEBHOOK_DESTINATION_ALLOWLIST = []
    fake_dns.set("hooks.partner.test", ["127.0.0.1"])
    result = send(sender, internal_service.url(host="hooks.partner.test"))
    assert result.error_class == "EgressBlocked"
    assert proxy.request_lines == [] and internal_service.requests == []


def test_through_the_proxy_tls_is_verified_end_to_end_with_the_original_sni(settings, sender, fake_dns, proxy,
                                                                           tls_endpoint):
    """CONNECT goes to the checked IP; inside the tunnel TLS still names and verifies hooks.partner.test."""
    settings.WEBHOOK_DESTINATION_ALLOWLIST = ["127.0.0.1/32"]
    fake_dns.set("hooks.partner.test", ["127.0.0.1"])
    result = send(sender, tls_endpoint.url(host="hooks.partner.test"))
    assert proxy.request_lines == [f"CONNECT 127.0.0.1:{tls_endpoint.port} HTTP/1.1"]
    assert tls_endpoint.sni_names == ["hooks.partner.test"]
    assert result.error_class == "ClientConnectorCertificateError" and "certificate verify failed" in (
        result.error_message
    )
    assert tls_endpoint.requests == []


def test_pin_for_proxy_keeps_host_and_sni(settings, fake_dns):
    settings.WEBHOOK_DESTINATION_ALLOWLIST = []
    fake_dns.set("hooks.partner.test", ["93.184.216.34"])
    fake_dns.set("v6.partner.test", ["2606:2800:220:1:248:1893:25c8:1946"])
    https = asyncio.run(pin_for_proxy("https://hooks.partner.test/a/b?c=1"))
    assert https.url == "https://93.184.216.34/a/b?c=1"
    assert https.headers == {"Host": "hooks.partner.test"} and https.server_hostname == "hooks.partner.test"
    http = asyncio.run(pin_for_proxy("http://v6.partner.test:8080/x"))
    assert http.url == "http://[2606:2800:220:1:248:1893:25c8:1946]:8080/x"
    assert http.headers == {"Host": "v6.partner.test:8080"} and http.server_hostname is None
