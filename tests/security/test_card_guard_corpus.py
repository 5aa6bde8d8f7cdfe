"""The card-number guard against a generated corpus (hypothesis).

Every Luhn-valid number of 13-19 digits (any first digit), written with random separators between any of its digits
(plain, Unicode, or as JSON, URLs and HTML encode them), in ASCII or full-width digits, with random neighbours, is
recognised and masked to its last four digits, also inside a JSON webhook body. Ordinary values (UUIDs, kit
numbers, numeric ids up to 12 digits, numbers of 20+ digits, amounts, ISO 8601 and Unix-second timestamps) are not
refused, alone or together in a webhook body and an SMS text. The guard's fast "no" never changes its verdict.

`make test` runs a few hundred examples per property; FUZZ_FULL=1 runs 20 times as many."""

import os
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from notifications import guards
from notifications.webhooks.payloads import webhook_body

# Independent of guards.SEPARATORS on purpose: what a person, an encoder or a template puts between digit groups.
SEPARATORS = [
    " ", "-", ".", "_", "+", "\t", "\n", "\r", "\u00a0", "\u2009", "\u202f", "\u3000", "\u200b", "\u200d",
    "\u00ad", "\ufeff", "\u2010", "\u2011", "\u2013", "\u2014", "\u2212", "\uff0d", "\uff0e", "\uff3f",
    "%20", "%2D", "%2e", "%5F", "%09", "%0A", "%C2%A0", "%e2%80%8b",
    "\\n", "\\t", "\\u00a0", "\\u2013", "\\u200B",
    "&nbsp;", "&#32;", "&#45;", "&#x2D;", "&ndash;", "&shy;",
]
SCALE = 20 if os.environ.get("FUZZ_FULL") == "1" else 1
FULL_WIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))
# Neighbours: anything but a digit (a digit right beside the number makes a longer number, which is not a card).
NEIGHBOURS = st.text(st.characters(exclude_categories=("Nd", "Cs")), max_size=12)


def luhn_check_digit(payload: str) -> str:
    total = 0
    for index, char in enumerate(reversed(payload)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


@st.composite
def card_numbers(draw) -> str:
    length = draw(st.integers(13, 19))
    payload = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=length - 1, max_size=length - 1)))
    return payload + luhn_check_digit(payload)


@st.composite
def written_card_numbers(draw) -> tuple[str, str, int]:
    """(the number as written, the same with all but its last four digits masked, its length)."""
    number = draw(card_numbers())
    if draw(st.booleans()):
        number = number.translate(FULL_WIDTH) if draw(st.booleans()) else number
    gaps = draw(st.lists(st.one_of(st.just(""), st.sampled_from(SEPARATORS)),
                         min_size=len(number) - 1, max_size=len(number) - 1))
    written = number[0] + "".join(gap + digit for gap, digit in zip(gaps, number[1:], strict=True))
    masked_digits = "*" * (len(number) - 4) + number[-4:]
    masked = masked_digits[0] + "".join(gap + d for gap, d in zip(gaps, masked_digits[1:], strict=True))
    return written, masked, len(number)


ESCAPE_STARTS = str.maketrans("", "", "%\\&")


def consistent(written: str, neighbour: str) -> str:
    """A text is either encoded or not: beside a number written with escapes (`%20`), a `%`, `\\` or `&` would be
    escaped too (`%25`), so a bare one is left out (the guard reads a text wholly as written or wholly decoded)."""
    return neighbour.translate(ESCAPE_STARTS) if any(c in written for c in "%\\&") else neighbour


def test_the_check_digit_helper_agrees_with_the_guard():
    assert luhn_check_digit("411111111111111") == "1" and guards.luhn_valid("4111111111111111")


@settings(max_examples=300 * SCALE, suppress_health_check=[HealthCheck.too_slow])
@given(written_card_numbers(), NEIGHBOURS, NEIGHBOURS)
@example(("4111 1111 1111 1111", "**** **** **** 1111", 16), "Shop", "")
@example(("4111 1111 1111 1111", "**** **** **** 1111", 16), "", "x")
@example(("4111 11 1111 111111", "**** ** **** **1111", 16), "", "")
@example(("41 11 11 11 11 11 11 11", "** ** ** ** ** ** 11 11", 16), "", "")
def test_every_written_card_number_is_recognised_and_masked(written_number, before, after):
    written, masked, _ = written_number
    before, after = consistent(written, before), consistent(written, after)
    text = before + written + after
    assert guards.contains_card_number(text)
    got = guards.mask_card_numbers(text)
    assert not guards.contains_card_number(got)
    if not any(c in written for c in "%\\&"):
        assert got == before + masked + after
    else:
        # Read as written too, the digits an escape is spelled with (`\\u00a0`) may join the number and be masked
        # with it; nothing else changes, and the number's digits but its last four are masked.
        expected = before + masked + after
        assert len(got) == len(text)
        assert all(g == e or (g == "*" and e.isdigit()) for g, e in zip(got, expected, strict=True))


@settings(max_examples=200 * SCALE)
@given(written_card_numbers(), st.sampled_from(SEPARATORS), st.sampled_from(SEPARATORS),
       st.integers(0, 999_999).map(str), st.integers(0, 999_999).map(str))
@example(("4111 1111 1111 1111", "**** **** **** 1111", 16), " ", " ", "99", "2025")
def test_a_card_number_beside_other_numbers_is_recognised(written_number, sep_before, sep_after, before, after):
    """Another number right before or after, one separator between: `4111 1111 1111 1111 12/27`."""
    written, masked, _ = written_number
    text = before + sep_before + written + sep_after + after
    assert guards.contains_card_number(text)
    masked_text = guards.mask_card_numbers(text)
    assert not guards.contains_card_number(masked_text)
    card = slice(len(before + sep_before), len(before + sep_before + written))
    # every digit of the number but its last four is masked (more may be: another window may also pass Luhn)
    assert all(got == "*" for got, expected in zip(masked_text[card], masked, strict=True) if expected == "*")


@settings(max_examples=150 * SCALE)
@given(written_card_numbers(), NEIGHBOURS)
def test_a_card_number_is_recognised_inside_a_json_webhook_body(written_number, before):
    """JSON escapes control characters (a tab becomes `\\t`): the body is read as its receiver will read it."""
    written, _, _ = written_number
    before = consistent(written, before)
    assume("\\" not in written)  # a JSON escape written as text is escaped again: `\\n` reads as `\n`, no separator
    body = webhook_body(event_id=str(uuid.uuid4()), event_name="CARD_TRANSACTION_APPROVED", event_type="TRANSACTION",
                        tenant_id="acme", occurred_at=datetime(2025, 3, 14, tzinfo=UTC),
                        data={"merchantName": before + written, "amount": "125.50"})
    assert guards.contains_card_number(body)
    assert not guards.contains_card_number(guards.mask_card_numbers(body))


# --- ordinary values -------------------------------------------------------------------------------------------

uuids = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())
kit_numbers = st.integers(0, 10**7 - 1).map(lambda n: f"K{n:04d}")
numeric_ids = st.integers(0, 10**12 - 1).map(str)
long_numbers = st.integers(10**19, 10**40).map(str)
amounts = st.decimals(min_value=0, max_value=10**9, places=2).map(str) | st.decimals(
    min_value=0, max_value=10**9, places=2).map(lambda d: f"{d:,.2f}")
timestamps = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()) | st.datetimes(
    timezones=st.just(UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z"))
unix_seconds = st.integers(0, 2**32).map(str)
ORDINARY = uuids | kit_numbers | numeric_ids | long_numbers | amounts | timestamps | unix_seconds


@settings(max_examples=500 * SCALE)
@given(ORDINARY)
@example("00000000-0000-0000-0000-000000000000")
@example("K0001")
@example("999999999999")
@example("12345678901234567890")
@example("999999999.99")
@example("9999-12-31T23:59:59.999999+14:00")
@example("4294967296")
def test_an_ordinary_value_is_not_refused(value):
    assert not guards.contains_card_number(value)
    assert guards.mask_card_numbers(value) is value


@settings(max_examples=200 * SCALE)
@given(uuids, kit_numbers, numeric_ids, long_numbers, amounts, timestamps, unix_seconds)
def test_ordinary_values_together_in_a_webhook_body_and_an_sms_are_not_refused(
    event_id, kit, rrn, reference, amount, at, loaded_at
):
    body = webhook_body(
        event_id=event_id, event_name="WALLET_LOAD_SUCCESS", event_type="WALLET", tenant_id="acme",
        occurred_at=datetime(2025, 3, 14, tzinfo=UTC), entity_id=kit, sequence=int(loaded_at) % 10**6,
        data={"kitNo": kit, "rrn": rrn, "reference": reference, "amount": amount,
              "balance": str(Decimal(amount.replace(",", "")) * 2), "transactionTime": at,
              "loadedAt": int(loaded_at), "walletId": event_id},
    )
    sms = f"Rs {amount} loaded to card {kit} on {at}. Ref {rrn}, {reference}. Wallet {event_id} ({loaded_at})"
    assert not guards.contains_card_number(body)
    assert not guards.contains_card_number(sms)


# --- the fast "no" -----------------------------------------------------------------------------------------------

RUN_ALPHABET = "0123456789012345678901234567890123456789 -._+\t\n\u00a0\u2013\\%&#;xXnbsputaA2D0Ff"


def _verdict_without_fast_path(text: str) -> bool:
    readings = (guards._as_written(text), guards._as_decoded(text))
    return any(next(guards._scan(text, reading), None) is not None for reading in readings)


@settings(max_examples=1500 * SCALE)
@given(st.text(alphabet=RUN_ALPHABET, max_size=80))
def test_the_fast_no_is_exact(text):
    """The one-scan pre-check only skips texts the full rule would pass too."""
    assert guards.contains_card_number(text) is _verdict_without_fast_path(text)
