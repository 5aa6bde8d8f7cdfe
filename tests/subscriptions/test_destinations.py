"""Destination URL rules (SSRF): every spelling of a private address is refused, nothing is resolved."""

import ipaddress
import socket

import pytest
from django.core.exceptions import ValidationError

from subscriptions.destinations import (
    host_is_allowlisted,
    ip_is_allowlisted,
    ip_is_public,
    parse_ip_literal,
    validate_destination_url,
)

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "2130706433",  # decimal
    "0177.0.0.1",  # octal
    "0x7f.0.0.1",  # hex
    "0x7F000001",  # one hex number
    "017700000001",  # one octal number
    "127.1",  # short form
    "127.0.1",
    "127.0.0.1.",  # trailing dot
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_parse_ip_literal_reads_every_loopback_spelling(host):
    ip = parse_ip_literal(host)
    assert ip is not None
    assert not ip_is_public(ip)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("192.168.257", "192.168.1.1"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("[::ffff:7f00:1]", "::ffff:127.0.0.1"),
        ("[fe80::1%25eth0]", "fe80::1"),
    ],
)
def test_parse_ip_literal_values(host, expected):
    assert parse_ip_literal(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize("host", ["example.com", "hooks.partner.io", "256.1.1.1.example", "", "0x7g.0.0.1"])
def test_parse_ip_literal_returns_none_for_names(host):
    assert parse_ip_literal(host) is None


@pytest.mark.parametrize("host", ["256.0.0.1", "1.2.3.4.5", "0x100.0.0.1", "4294967296"])
def test_parse_ip_literal_rejects_out_of_range_numbers(host):
    assert parse_ip_literal(host) is None


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "169.254.1.1", "0.0.0.0",
        "100.64.0.1", "100.100.100.200", "192.0.0.192", "198.18.0.1", "224.0.0.1", "239.255.255.250",
        "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd00::1", "fd00:ec2::254",
        "ff02::1", "::ffff:10.0.0.1", "::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::1", "2001:db8::1", "fec0::1",
    ],
)
def test_ip_is_public_false_for_non_public_addresses(address):
    assert ip_is_public(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_ip_is_public_true_for_public_addresses(address):
    assert ip_is_public(ipaddress.ip_address(address)) is True


@pytest.mark.usefixtures("no_allowlist")
@pytest.mark.parametrize("host", [*LOOPBACK_SPELLINGS, "0", "0.0.0.0", "[::]", "10.0.0.1", "192.168.1.20",
                                  "172.31.255.255", "169.254.169.254", "[fd00::1]", "[fd00:ec2::254]",
                                  "[fe80::1%25eth0]", "224.0.0.1", "[ff02::1]", "100.100.100.200",
                                  "[::ffff:169.254.169.254]", "0xa9fea9fe", "127。0。0。1", "①②⑦.0.0.1"])
def test_private_address_in_any_spelling_is_rejected(host):
    with pytest.raises(ValidationError) as exc_info:
        validate_destination_url(f"https://{host}/webhooks")
    assert exc_info.value.code == "private_address"


@pytest.mark.usefixtures("no_allowlist")
@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST", "localhost.", "api.localhost", "a.b.localhost.", "metadata",
             "metadata.google.internal", "printer.local", "db.internal", "intranet"],
)
def test_local_names_are_rejected(host):
    with pytest.raises(ValidationError) as exc_info:
        validate_destination_url(f"https://{host}:8443/hook")
    assert exc_info.value.code == "private_host"


@pytest.mark.usefixtures("no_allowlist")
@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.com/hook", "https_required"),
        ("ftp://example.com/hook", "https_required"),
        ("javascript:alert(1)", "https_required"),
        ("//example.com/hook", "https_required"),
        ("https://user:pass@example.com/hook", "userinfo"),
        ("https://user@example.com/hook", "userinfo"),
        ("https:///hook", "invalid"),
        ("https://", "invalid"),
        ("https://exa mple.com/", "invalid"),
        ("https://example.com/\nhook", "invalid"),
        ("https://example.com\\@evil.com/", "invalid"),
        ("https://example.com:0/", "invalid"),
        ("https://example.com:99999/", "invalid"),
        ("https://[::1/", "invalid"),
        ("https://example.com/hook#frag", "invalid"),
        ("https://exa_mple..com/", "invalid_host"),
        ("https://08.0.0.1/", "invalid_host"),
        ("https://1.2.3.4.5/", "invalid_host"),
        ("https://" + "a" * 2100 + ".com/", "max_length"),
        ("", "required"),
    ],
)
def test_malformed_destinations_are_rejected(url, code):
    with pytest.raises(ValidationError) as exc_info:
        validate_destination_url(url)
    assert exc_info.value.code == code
    assert exc_info.value.messages[0]


@pytest.mark.usefixtures("no_allowlist")
@pytest.mark.parametrize(
    "url",
    [
        "https://your-app.com/webhooks/transactions",
        "https://hooks.example.com:8443/a/b?x=1",
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://EXAMPLE.com./hook",
        "https://bücher.example/hook",
    ],
)
def test_public_https_destinations_are_accepted(url):
    validate_destination_url(url)


@pytest.mark.usefixtures("no_allowlist")
def test_no_dns_lookup_at_creation(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("DNS must not be resolved when a destination is validated")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    monkeypatch.setattr(socket, "gethostbyname", fail)
    # A name that does not resolve today is still accepted.
    validate_destination_url("https://not-yet-registered-domain-4d1c.example/hook")


def test_allowlisted_loopback_http_is_accepted(settings):
    settings.WEBHOOK_DESTINATION_ALLOWLIST = ["127.0.0.1/32", "::1/128"]
    validate_destination_url("http://127.0.0.1:8000/webhooks")
    validate_destination_url("http://[::1]:9000/webhooks")
    # Other spellings of an allow-listed address are the same address.
    validate_destination_url("http://2130706433:8000/webhooks")
    validate_destination_url("http://[::ffff:127.0.0.1]:8000/webhooks")


def test_allowlist_does_not_cover_other_private_addresses(settings):
    settings.WEBHOOK_DESTINATION_ALLOWLIST = ["127.0.0.1/32"]
    with pytest.raises(ValidationError):
        validate_destination_url("http://127.0.0.2/webhooks")
    with pytest.raises(ValidationError):
        validate_destination_url("https://10.0.0.1/webhooks")


def test_allowlist_never_allows_userinfo(settings):
    settings.WEBHOOK_DESTINATION_ALLOWLIST = ["127.0.0.1/32"]
    with pytest.raises(ValidationError) as exc_info:
        validate_destination_url("http://user:pw@127.0.0.1/webhooks")
    assert exc_info.value.code == "userinfo"


def test_allowlisted_host_names(settings):
    settings.WEBHOOK_DESTINATION_ALLOWLIST = ["receiver.test", "*.corp.example", "10.20.0.0/16"]
    assert host_is_allowlisted("receiver.test")
    assert host_is_allowlisted("RECEIVER.test.")
    assert host_is_allowlisted("a.corp.example")
    assert not host_is_allowlisted("corp.example.evil.com")
    assert not host_is_allowlisted("other.test")
    assert host_is_allowlisted("10.20.3.4")
    assert host_is_allowlisted("0x0a.20.3.4")
    assert ip_is_allowlisted(ipaddress.ip_address("::ffff:10.20.0.9"))
    assert not ip_is_allowlisted(ipaddress.ip_address("10.21.0.1"))
    validate_destination_url("http://receiver.test:8080/hook")
