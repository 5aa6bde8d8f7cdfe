"""Hypothesis-generated Kafka messages into `notifications.ingest.ingest_batch`: arbitrary bytes, JSON of any shape,
and valid messages with one field made wrong. Every message is either ingested (or recognised as a duplicate) or
dead-lettered, the counts add up, and no exception ever escapes (an exception would stop the bridge on that batch
forever: a poison pill).

A short run is part of `make test`; `make fuzz` (FUZZ_FULL=1) runs many more examples."""

import importlib
import itertools
import json
import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifications.ingest.batch import ingest_batch
from notifications.ingest.parsing import RawMessage
from notifications.models import DeadLetter, Event
from subscriptions.catalog import EVENT_CATALOG
from tests.factories import CardFactory, CardholderFactory, EventSubscriptionFactory, PartnerFactory, WalletFactory
from tests.notifications.helpers import kafka_message

pytestmark = pytest.mark.django_db

FULL = os.environ.get("FUZZ_FULL") == "1"
EXAMPLES = 1500 if FULL else 60
OFFSETS = itertools.count()  # dead letters are unique per (topic, partition, offset)
TOTALS: Counter = Counter()
EVENT_NAMES = sorted(EVENT_CATALOG)

# Every character, including NUL, control characters and lone surrogates (json.dumps escapes them as \\uXXXX).
any_text = st.text(st.characters(codec=None, categories=None), max_size=40)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def valid_messages(draw) -> dict:
    data = {"kitNo": draw(st.sampled_from(["K1", "K2", "nope"])), "amount": "125.50", "currency": "INR"}
    data.update(draw(st.dictionaries(st.sampled_from(["amount", "merchantName", "balance", "daysBefore", "x"]),
                                     json_values, max_size=3)))
    message = {
        "eventId": str(draw(st.uuids())),
        "eventName": draw(st.sampled_from(EVENT_NAMES)),
        "tenantId": draw(st.sampled_from(["acme", "acme", "ghost", "sleepy"])),
        "occurredAt": draw(st.sampled_from(["2026-02-12T10:30:00Z", "2026-02-12T16:00:00+05:30"])),
        "data": data,
    }
    if draw(st.booleans()):
        message["entityId"] = draw(st.sampled_from(["card-1", "card-2"]))
    return message


@st.composite
def broken_messages(draw) -> dict:
    """A valid message with one field replaced by a random value, or removed."""
    message = draw(valid_messages())
    name = draw(st.sampled_from([*message, "entityId"]))
    if draw(st.booleans()):
        message.pop(name, None)
    else:
        message[name] = draw(json_values | st.sampled_from([
            "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-13-45T99:99:99Z", "x" * 300,
        ]))
    return message


def encode(message) -> bytes:
    # allow_nan: NaN and Infinity are what a careless producer writes; they must be dead-lettered, not crash.
    return json.dumps(message, allow_nan=True).encode("utf-8", "surrogatepass")


raw_values = st.one_of(
    # Mostly messages that look right, so that the deep end (matching, routing, templates) is exercised too.
    valid_messages().map(encode),
    valid_messages().map(encode),
    broken_messages().map(encode),
    broken_messages().map(encode),
    json_values.map(encode),
    st.binary(max_size=200),
    st.none(),
    st.sampled_from([
        b'{"eventId": 1e400}', b"NaN", b"-Infinity", b"1" * 5000, b'{"data": {"a": "\\u0000"}}',
        b'"\\ud800"', b"[" * 3000 + b"]" * 3000,
    ]),
)


@pytest.fixture(scope="module", autouse=True)
def report():
    """Print what the run covered (visible with -s, as `make fuzz` runs it)."""
    yield
    if TOTALS:
        reasons = ", ".join(f"{code} {count}" for code, count in TOTALS.most_common() if code.startswith("dl:"))
        print(f"\ningest fuzz: {TOTALS['batches']} batches, {TOTALS['messages']} messages: {TOTALS['events']} "
              f"ingested, {TOTALS['duplicates']} duplicates, {TOTALS['dead']} dead-lettered ({reasons}); "
              "0 exceptions")


@pytest.fixture
def world(db):
    """Tenants (one inactive), an ALL_EVENTS subscription and a card with a cardholder, so that valid messages go
    all the way through subscription matching and customer-message routing."""
    from django.apps import apps

    importlib.import_module("templates.migrations.0003_sample_templates").add_samples(apps, None)
    acme = PartnerFactory(tenant_id="acme")
    PartnerFactory(tenant_id="sleepy", is_active=False)
    EventSubscriptionFactory(partner=acme, event_name="ALL_EVENTS", destination="https://hooks.example.com/a")
    holder = CardholderFactory(partner=acme)
    CardFactory(partner=acme, kit_no="K1", wallet=WalletFactory(partner=acme, cardholder=holder))
    return acme


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not FULL,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(batch=st.lists(raw_values, min_size=1, max_size=8))
def test_every_message_is_ingested_or_dead_lettered(world, batch):
    offsets = [next(OFFSETS) for _ in batch]
    messages = [RawMessage(value=v, topic="fuzz", partition=0, offset=o, key=b"k") for v, o in zip(batch, offsets,
                                                                                                     strict=True)]
    events_before = Event.objects.count()

    result = ingest_batch(messages)  # must not raise, whatever the bytes

    assert result.events_created + result.duplicates + result.dead_lettered == len(batch)
    TOTALS.update(batches=1, messages=len(batch), events=result.events_created, duplicates=result.duplicates,
                  dead=result.dead_lettered)
    TOTALS.update(f"dl:{code}" for code in DeadLetter.objects.filter(topic="fuzz", offset__in=offsets)
                  .values_list("reason_code", flat=True))
    assert Event.objects.count() == events_before + result.events_created
    assert DeadLetter.objects.filter(topic="fuzz", offset__in=offsets).count() == result.dead_lettered
    # Stored events are valid JSON bodies (what every retry will sign and send).
    for body in Event.objects.filter(event_id__in=result.event_ids).values_list("body", flat=True):
        assert isinstance(json.loads(body), dict)


# Poison pills the fuzzer found (each used to raise out of ingest_batch and stop the bridge on its batch).
@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b'{"eventId": ' + b"1" * 5000 + b"}", "not_json"),  # int() refuses more than 4,300 digits
        (b'{"amount": NaN}', "not_json"),
        (b'{"amount": -Infinity}', "not_json"),
        (b'{"amount": 1e400}', "not_json"),  # overflows to inf: PostgreSQL's jsonb has no infinity
        (encode(kafka_message(data={"kitNo": "K1", "note": "a\x00b"})), "unstorable_text"),
        (encode(kafka_message(eventId="id-\ud800")), "unstorable_text"),  # a lone surrogate
        (encode(kafka_message(occurredAt="0001-01-01T00:00:00+01:00")), "mistyped_field"),  # before year 1 in UTC
    ],
    ids=["huge-int", "nan", "infinity", "1e400", "nul", "lone-surrogate", "occurred-at-overflow"],
)
def test_poison_pills_are_dead_lettered(world, value, code):
    offset = next(OFFSETS)
    result = ingest_batch([RawMessage(value=value, topic="fuzz", partition=0, offset=offset)])
    assert result.dead_lettered == 1 and result.events_created == 0
    letter = DeadLetter.objects.get(topic="fuzz", offset=offset)
    assert letter.reason_code == code and bytes(letter.raw_value) == value


def test_an_emoji_written_as_a_surrogate_pair_is_ingested(world):
    value = encode(kafka_message(data={"kitNo": "K1", "merchantName": "Café \U0001f600"})).replace(
        "\U0001f600".encode(), b"\\ud83d\\ude00"
    )
    value = json.dumps(json.loads(value)).encode()  # ensure_ascii: the emoji travels as \ud83d\ude00
    assert b"\\ud83d\\ude00" in value
    result = ingest_batch([RawMessage(value=value, topic="fuzz", partition=0, offset=next(OFFSETS))])
    assert result.events_created == 1
    assert Event.objects.get(event_id=result.event_ids[0]).data["merchantName"] == "Café \U0001f600"
