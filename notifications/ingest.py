"""Ingest: turn a batch of Kafka messages into Event, WebhookDelivery and CustomerMessage rows in ONE transaction.

Every message ends up either as an Event (or as a duplicate of one) or as a DeadLetter with its reason; nothing is
dropped and no exception escapes for bad input. The caller (the bridge) commits Kafka offsets only after this
function returned, i.e. after the transaction committed."""

import logging
import math
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from notifications import guards, jsoncodec
from notifications.delivery import DeliveryBatch, queued_lease_seconds
from notifications.models import DeadLetter, DeliveryStatus, Event, WebhookDelivery
from notifications.routing import plan_customer_messages
from subscriptions.catalog import ALL_EVENTS, get_event
from subscriptions.models import Partner

logger = logging.getLogger(__name__)

REQUIRED_FIELDS = ("eventId", "eventName", "tenantId", "occurredAt", "data")
MAX_ID_LENGTH = 128


@dataclass(frozen=True)
class RawMessage:
    """What ingest needs of a Kafka message."""

    value: bytes | None
    topic: str = ""
    partition: int = -1
    offset: int = -1
    key: bytes | None = None
    timestamp_ms: int | None = None


class InvalidMessage(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class ParsedMessage:
    raw: RawMessage
    event_id: str
    event_name: str
    tenant_id: str
    occurred_at: datetime
    data: dict
    entity_id: str


@dataclass
class IngestResult:
    events_created: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    # One endpoint's deliveries per batch, each batch leased to the one task that will send it.
    delivery_batches: list[DeliveryBatch] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)

    @property
    def deliveries_by_subscription(self) -> dict[int, list[int]]:
        grouped: dict[int, list[int]] = {}
        for batch in self.delivery_batches:
            grouped.setdefault(batch.subscription_id, []).extend(batch.delivery_ids)
        return grouped

    @property
    def delivery_count(self) -> int:
        return sum(len(b.delivery_ids) for b in self.delivery_batches)


def _require_string(payload: dict, name: str, max_length: int = MAX_ID_LENGTH) -> str:
    value = payload.get(name)
    if not isinstance(value, str):
        raise InvalidMessage("mistyped_field", f"'{name}' must be a string, got {type(value).__name__}.")
    if not value.strip():
        raise InvalidMessage("missing_field", f"'{name}' must not be empty.")
    if len(value) > max_length:
        raise InvalidMessage("mistyped_field", f"'{name}' is longer than {max_length} characters.")
    return value


# JSON escapes of NUL (PostgreSQL text cannot hold it) and of UTF-16 surrogates (a lone one cannot be encoded as
# UTF-8). Raw bytes cannot carry either (strict UTF-8 decoding and the JSON grammar refuse them), so only messages
# with such an escape need the full walk; a correctly paired surrogate escape (an emoji) passes it.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"the number {text[:40]} is out of range")
    return number


def _check_storable_text(payload: dict) -> None:
    """Refuse NUL characters and lone surrogates anywhere in the message: one such message would otherwise fail
    the whole batch's transaction on every retry (a poison pill)."""
    stack: list = [payload]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and _UNSTORABLE.search(item):
            raise InvalidMessage("unstorable_text", "The message holds a NUL character or an unpaired UTF-16 "
                                 "surrogate (\\u0000, \\ud800…), which cannot be stored or sent as UTF-8 JSON.")


def parse_message(raw: RawMessage) -> ParsedMessage:
    """Validate one message against DESIGN.md's topic contract; raises InvalidMessage with a readable reason."""
    value = raw.value
    if value is None:
        raise InvalidMessage("empty", "The message has no value (tombstone or empty message).")
    if len(value) > settings.KAFKA_MAX_MESSAGE_BYTES:
        raise InvalidMessage(
            "oversized", f"The message is {len(value)} bytes; the limit is {settings.KAFKA_MAX_MESSAGE_BYTES}."
        )
    try:
        payload = jsoncodec.loads(value, parse_constant=_reject_constant, parse_float=_finite_float)
    except UnicodeDecodeError as exc:
        raise InvalidMessage("not_utf8", f"The message is not UTF-8: {exc}.") from None
    except (ValueError, RecursionError) as exc:  # incl. NaN/Infinity and integers of more than 4,300 digits
        raise InvalidMessage("not_json", f"The message is not JSON: {exc}.") from None
    if not isinstance(payload, dict):
        raise InvalidMessage("not_an_object", f"The message is JSON {type(payload).__name__}, not an object.")
    if _SUSPECT_ESCAPE.search(value):
        _check_storable_text(payload)
    missing = [name for name in REQUIRED_FIELDS if name not in payload or payload[name] is None]
    if missing:
        raise InvalidMessage("missing_field", f"Required field(s) missing: {', '.join(missing)}.")
    event_id = _require_string(payload, "eventId")
    event_name = _require_string(payload, "eventName", 64)
    tenant_id = _require_string(payload, "tenantId", 64)
    occurred_raw = _require_string(payload, "occurredAt", 64)
    try:
        occurred_at = parse_datetime(occurred_raw)
    except ValueError:
        occurred_at = None
    if occurred_at is None:
        raise InvalidMessage("mistyped_field", f"'occurredAt' is not an ISO 8601 date-time: {occurred_raw!r}.")
    if occurred_at.tzinfo is None:
        raise InvalidMessage("mistyped_field", "'occurredAt' must carry a time zone (e.g. 'Z' or '+05:30').")
    try:
        occurred_at.astimezone(UTC)  # 0001-01-01T00:00+01:00 is a valid string but no representable instant
    except OverflowError:
        raise InvalidMessage("mistyped_field", f"'occurredAt' is out of range: {occurred_raw!r}.") from None
    if not isinstance(payload["data"], dict):
        raise InvalidMessage("mistyped_field", f"'data' must be an object, got {type(payload['data']).__name__}.")
    entity_id = payload.get("entityId")
    if entity_id is not None:
        entity_id = _require_string(payload, "entityId")
    if get_event(event_name) is None:
        raise InvalidMessage("unknown_event_name", f"Unknown eventName {event_name!r}; see GET /event-types/.")
    return ParsedMessage(raw, event_id, event_name, tenant_id, occurred_at, payload["data"], entity_id or "")


def webhook_body(parsed: ParsedMessage, event_type: str, sequence: int | None) -> str:
    """The webhook envelope of DESIGN.md, serialised once."""
    envelope = {
        "eventId": parsed.event_id,
        "eventName": parsed.event_name,
        "eventType": event_type,
        "tenantId": parsed.tenant_id,
        "occurredAt": parsed.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": parsed.data,
    }
    if parsed.entity_id:
        envelope["entityId"] = parsed.entity_id
        envelope["sequence"] = sequence
    return jsoncodec.dumps(envelope)


def _dead_letter(raw: RawMessage, code: str, reason: str) -> DeadLetter:
    return DeadLetter(
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key,
        raw_value=raw.value or b"",
        reason_code=code,
        reason=reason,
    )


@dataclass(frozen=True)
class _Subscription:
    pk: int
    event_name: str
    advance_notification_periods: list[int]


@dataclass(frozen=True)
class _Tenant:
    """What ingest needs of a partner: its key, whether it is active, its enabled subscriptions."""

    pk: int
    is_active: bool
    subscriptions: tuple[_Subscription, ...]


def _tenants(tenant_ids: set[str]) -> dict[str, _Tenant]:
    """The batch's tenants with their enabled subscriptions, in one statement of plain SQL: at a steady 1,000
    events/s the ORM building these lookups was a third of the bridge's time (docs/profiles/). Read for every batch,
    never cached: a subscription created a moment ago gets the next event."""
    if not tenant_ids:
        return {}
    rows: dict[str, list] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.tenant_id, p.id, p.is_active, s.id, s.event_name, s.advance_notification_periods
              FROM subscriptions_partner p
                   LEFT JOIN subscriptions_eventsubscription s ON s.partner_id = p.id AND s.is_enabled
             WHERE p.tenant_id = ANY(%s)
             ORDER BY p.id, s.id
            """,
            [list(tenant_ids)],
        )
        for tenant_id, partner_pk, is_active, sub_pk, event_name, periods in cursor.fetchall():
            entry = rows.setdefault(tenant_id, [partner_pk, is_active, []])
            if sub_pk is not None:
                entry[2].append(_Subscription(sub_pk, event_name, periods))
    return {tenant_id: _Tenant(pk, active, tuple(subs)) for tenant_id, (pk, active, subs) in rows.items()}


def _allocate_sequences(parsed: list[ParsedMessage], partners: dict[str, _Tenant]) -> list[int | None]:
    """Per-tenant, per-entity sequence numbers 1, 2, 3… in batch (= partition) order, in one statement."""
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for p in parsed:
        if p.entity_id:
            counts[(partners[p.tenant_id].pk, p.entity_id)] += 1
    if not counts:
        return [None] * len(parsed)
    keys = sorted(counts)  # a fixed order keeps two concurrent bridges from deadlocking on the rows
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO notifications_entitysequence (partner_id, entity_id, last_sequence)
            SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::int[])
            ON CONFLICT (partner_id, entity_id)
            DO UPDATE SET last_sequence = notifications_entitysequence.last_sequence + EXCLUDED.last_sequence
            RETURNING partner_id, entity_id, last_sequence
            """,
            [[k[0] for k in keys], [k[1] for k in keys], [counts[k] for k in keys]],
        )
        last = {(row[0], row[1]): row[2] for row in cursor.fetchall()}
    next_seq = {k: last[k] - counts[k] + 1 for k in keys}
    sequences: list[int | None] = []
    for p in parsed:
        if p.entity_id:
            k = (partners[p.tenant_id].pk, p.entity_id)
            sequences.append(next_seq[k])
            next_seq[k] += 1
        else:
            sequences.append(None)
    return sequences


def _subscription_wants(subscription: _Subscription, event_name: str, event_type: str, data: dict) -> bool:
    if subscription.event_name not in (event_name, ALL_EVENTS):
        return False
    # An advance notice goes only to subscriptions that asked for its period (when they named periods).
    days_before = data.get("daysBefore") if event_type == Event.EventType.ADVANCE else None
    periods = subscription.advance_notification_periods
    return not (days_before is not None and periods and days_before not in periods)


def _tenant_problem(parsed: ParsedMessage, partner: Partner | _Tenant | None) -> InvalidMessage | None:
    if partner is None or not partner.is_active:
        state = "unknown" if partner is None else "inactive"
        return InvalidMessage("unknown_tenant", f"Tenant {parsed.tenant_id!r} is {state}.")
    return None


def check_message(raw: RawMessage) -> InvalidMessage | None:
    """Why this message would be dead-lettered, or None if it would be ingested (used before a re-drive)."""
    try:
        parsed = parse_message(raw)
    except InvalidMessage as exc:
        return exc
    return _tenant_problem(parsed, Partner.objects.filter(tenant_id=parsed.tenant_id).first())


def _validate(messages: list[RawMessage]) -> tuple[list[ParsedMessage], list[DeadLetter], dict[str, _Tenant]]:
    parsed: list[ParsedMessage] = []
    dead: list[DeadLetter] = []
    for raw in messages:
        try:
            parsed.append(parse_message(raw))
        except InvalidMessage as exc:
            dead.append(_dead_letter(raw, exc.code, exc.reason))
    partners = _tenants({p.tenant_id for p in parsed})
    known: list[ParsedMessage] = []
    for p in parsed:
        problem = _tenant_problem(p, partners.get(p.tenant_id))
        if problem is not None:
            dead.append(_dead_letter(p.raw, problem.code, problem.reason))
        else:
            known.append(p)
    return known, dead, partners


# Fields whose values psycopg adapts as they are (Django's get_db_prep_save returns them unchanged on PostgreSQL).
_PLAIN_FIELDS = (
    models.AutoField, models.BigAutoField, models.CharField, models.TextField, models.IntegerField,
    models.BigIntegerField, models.SmallIntegerField, models.PositiveIntegerField, models.PositiveSmallIntegerField,
    models.BooleanField, models.DateTimeField, models.UUIDField, models.ForeignKey,
)

# The columns ingest writes for every event and delivery, in COPY order (tests check they are all the model's).
EVENT_COLUMNS = (
    "id", "event_id", "event_name", "event_type", "partner_id", "occurred_at", "entity_id", "sequence", "data", "body",
    "holds_card_number", "received_at", "source_topic", "source_partition", "source_offset", "source_timestamp",
)
DELIVERY_COLUMNS = (
    "id", "event_id", "subscription_id", "partner_id", "status", "attempt_count", "attempts_before_replay",
    "next_attempt_at", "lease_expires_at", "claim_token", "last_status_code", "last_error", "created_at",
    "completed_at",
)


def _copy_converter(model_field, db):
    """None when the value goes to COPY as it is, else a function of the value (Django's own preparation)."""
    if isinstance(model_field, models.JSONField):
        return lambda value, encoder=model_field.encoder: db.ops.adapt_json_value(value, encoder)
    if type(model_field) in _PLAIN_FIELDS:
        return None
    return lambda value, f=model_field: f.get_db_prep_save(value, db)


def _next_ids(table: str, count: int) -> list[int]:
    """`count` primary keys from the table's sequence, in one statement (COPY cannot return them)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return [pk for (pk,) in cursor.fetchall()]


def _copy_rows(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY rows (tuples in `columns` order) into `table`, inside the current transaction.

    Why not bulk_create: the profile of the bridge (docs/profiles/) spent most of its time in Django compiling the
    INSERT and in psycopg escaping the array parameters in Python; COPY rows are formatted by psycopg's C code."""
    if not rows:
        return
    quote = connection.ops.quote_name
    statement = f"COPY {quote(table)} ({', '.join(map(quote, columns))}) FROM STDIN"
    # A raw psycopg call: wrap_database_errors maps its errors to Django's (IntegrityError drives the
    # concurrent-ingest retry).
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _copy_insert(objs: list) -> None:
    """Insert unsaved model instances of one model with COPY and give them their primary keys, as bulk_create
    does (for the customer messages, whose rows routing builds as instances)."""
    if not objs:
        return
    meta = objs[0]._meta
    fields = meta.concrete_fields
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the `connection` proxy costs a lookup per attribute
    attnames = [f.attname for f in fields]
    converters = [_copy_converter(f, db) for f in fields]
    for model_field in fields:
        if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            for obj in objs:
                model_field.pre_save(obj, True)  # sets the attribute, as bulk_create does
    for obj, pk in zip(objs, _next_ids(meta.db_table, len(objs)), strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection.alias
    _copy_rows(meta.db_table, tuple(f.column for f in fields), [
        tuple(value if convert is None else convert(value)
              for value, convert in zip([obj.__dict__[a] for a in attnames], converters, strict=True))
        for obj in objs
    ])


def ingest_batch(messages: list[RawMessage]) -> IngestResult:
    """Ingest a batch atomically. Retries once on a unique-key race with another bridge (after a rebalance)."""
    try:
        return _ingest_batch_once(messages)
    except IntegrityError:
        logger.info("Concurrent ingest of the same eventId; re-running the batch")
        return _ingest_batch_once(messages)


def _ingest_batch_once(messages: list[RawMessage]) -> IngestResult:
    result = IngestResult()
    parsed, dead, partners = _validate(messages)
    with transaction.atomic():
        # Drop repeats: inside the batch, then against what is already stored.
        unique: dict[str, ParsedMessage] = {}
        for p in parsed:
            unique.setdefault(p.event_id, p)
        with connection.cursor() as cursor:
            cursor.execute("SELECT event_id FROM notifications_event WHERE event_id = ANY(%s)", [list(unique)])
            existing = {event_id for (event_id,) in cursor.fetchall()}
        fresh = [p for p in unique.values() if p.event_id not in existing]
        result.duplicates = len(parsed) - len(fresh)

        # Events are written as COPY rows, not model instances (building those was a fifth of the bridge's time);
        # instances are made only for customer-facing events, which routing needs.
        now = timezone.now()
        sequences = _allocate_sequences(fresh, partners)
        stored: list[tuple[int, ParsedMessage, str, _Tenant]] = []  # (pk, message, event type, tenant)
        event_rows: list[tuple] = []
        customer_facing: list[Event] = []
        for pk, p, sequence in zip(_next_ids(Event._meta.db_table, len(fresh)), fresh, sequences, strict=True):
            definition = get_event(p.event_name)
            raw = p.raw
            body = webhook_body(p, definition.event_type, sequence)
            row = (
                pk, p.event_id, p.event_name, definition.event_type, partners[p.tenant_id].pk, p.occurred_at,
                p.entity_id, sequence, p.data, body, guards.contains_card_number(body), now, raw.topic,
                raw.partition if raw.partition >= 0 else None, raw.offset if raw.offset >= 0 else None,
                datetime.fromtimestamp(raw.timestamp_ms / 1000, UTC) if raw.timestamp_ms else None,
            )
            if definition.customer_facing:
                event = Event(**dict(zip(EVENT_COLUMNS, row, strict=True)))
                event._state.adding, event._state.db = False, connection.alias
                customer_facing.append(event)
            event_rows.append((*row[:8], jsoncodec.dumps(p.data), *row[9:]))
            stored.append((pk, p, definition.event_type, partners[p.tenant_id]))
        _copy_rows(Event._meta.db_table, EVENT_COLUMNS, event_rows)
        result.events_created = len(stored)
        result.event_ids = [p.event_id for _, p, _, _ in stored]

        # One delivery per wanting subscription, in task-sized batches per endpoint, each batch written leased to
        # the task that will send it, so its first attempt needs no claim (notifications/delivery.py).
        from notifications.dispatch import delivery_batch_size

        targets: dict[int, list[tuple[int, int]]] = defaultdict(list)  # subscription -> (event pk, partner pk)
        for pk, p, event_type, tenant in stored:
            for sub in tenant.subscriptions:
                if _subscription_wants(sub, p.event_name, event_type, p.data):
                    targets[sub.pk].append((pk, tenant.pk))
        size, lease_until = delivery_batch_size(), now + timedelta(seconds=queued_lease_seconds())
        delivery_ids = iter(_next_ids(WebhookDelivery._meta.db_table, sum(map(len, targets.values()))))
        delivery_rows: list[tuple] = []
        for subscription_id, wanted in targets.items():
            for start in range(0, len(wanted), size):
                token, ids = uuid.uuid4(), []
                for event_pk, partner_id in wanted[start : start + size]:
                    ids.append(next(delivery_ids))
                    delivery_rows.append((ids[-1], event_pk, subscription_id, partner_id, DeliveryStatus.SENDING, 0,
                                          0, now, lease_until, token, None, "", now, None))
                result.delivery_batches.append(DeliveryBatch(subscription_id, ids, token))
        _copy_rows(WebhookDelivery._meta.db_table, DELIVERY_COLUMNS, delivery_rows)

        messages_to_send = plan_customer_messages(customer_facing)
        _copy_insert(messages_to_send)
        result.message_ids = [m.pk for m in messages_to_send if m.status == "PENDING"]

        if dead:
            DeadLetter.objects.bulk_create(dead, ignore_conflicts=True)
        result.dead_lettered = len(dead)
    for d in dead:
        logger.warning(
            "Dead-lettered %s[%s]@%s (%s): %s", d.topic, d.partition, d.offset, d.reason_code, d.reason
        )
    return result
