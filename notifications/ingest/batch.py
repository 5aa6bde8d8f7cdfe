"""Ingest: turn a batch of Kafka messages into Event, WebhookDelivery and CustomerMessage rows in ONE transaction.

Every message ends up either as an Event (or as a duplicate of one) or as a DeadLetter with its reason; nothing is
dropped and no exception escapes for bad input. The caller (the bridge) commits Kafka offsets only after this
function returned, i.e. after the transaction committed."""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from notifications import bulk, guards, jsoncodec, queue
from notifications.ingest import sql
from notifications.ingest.bodies import event_bodies_store
from notifications.ingest.completions import rewrites_store, transactions_once
from notifications.ingest.dead_letters import dead_letter, dead_letters_log, dead_letters_store, tenant_problem
from notifications.ingest.parsing import InvalidMessage, ParsedMessage, RawMessage, parse_message
from notifications.models import DeadLetter, Event, UnplannedEvent, WebhookDelivery
from notifications.webhooks.payloads import STANDARD, webhook_body
from notifications.webhooks.planning import DELIVERY_COLUMNS, leased_delivery_rows, subscription_wants
from subscriptions.catalog import get_event

logger = logging.getLogger(__name__)


@dataclass
class IngestResult:
    events_created: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    # One endpoint's deliveries per batch, each batch leased to the one task that will send it.
    delivery_batches: list[queue.DeliveryBatch] = field(default_factory=list)
    # Customer-facing events whose messages the messaging worker plans (per tenant); ingest never runs routing.
    plans_by_partner: dict[int, list[int]] = field(default_factory=dict)
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


REUSED = ("event_id_reused", "eventId reused with different content: this tenant already sent an event with this "
          "eventId and another eventName, occurredAt, entityId or data. Use a new eventId for a new event.")


def _content(p: ParsedMessage) -> tuple:
    """What must match for a message to be a repeat of a stored event with its eventId (sql.existing_events)."""
    return (p.event_name, p.occurred_at, p.entity_id, p.data)


def ingest_batch(messages: list[RawMessage]) -> IngestResult:
    """Ingest a batch atomically. Retries once on a unique-key race with another bridge (after a rebalance)."""
    try:
        return _ingest_batch_once(messages)
    except IntegrityError:
        logger.info("Concurrent ingest of the same eventId; re-running the batch")
        return _ingest_batch_once(messages)


# Errors of the database server or connection: the batch is retried whole by the bridge (it may be down). Anything
# else a batch raises is about its content, and must not stop ingest for every tenant.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def ingest_batch_isolating(messages: list[RawMessage]) -> IngestResult:
    """ingest_batch, except that a batch failing for any reason but an unreachable database is ingested again one
    message at a time, and a message that still fails is dead-lettered with the error as its reason: one poison
    message (or a bug it triggers) costs that message, never the partition."""
    try:
        return ingest_batch(messages)
    except TRANSIENT_ERRORS:
        raise
    except Exception:
        logger.exception("A batch of %d messages failed to ingest; ingesting them one by one", len(messages))
    total = IngestResult()
    for raw in messages:
        try:
            result = ingest_batch([raw])
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            logger.exception("Message %s[%s]@%s failed to ingest; dead-lettered", raw.topic, raw.partition, raw.offset)
            reason = f"Ingesting this message failed ({type(exc).__name__}: {exc}"[:900] + ")."
            dead = [dead_letter(raw, "ingest_failed", reason)]
            with transaction.atomic():
                dead_letters_store(dead)
            dead_letters_log(dead)
            result = IngestResult(dead_lettered=1)
        total.events_created += result.events_created
        total.duplicates += result.duplicates
        total.dead_lettered += result.dead_lettered
        total.delivery_batches += result.delivery_batches
        for partner_id, ids in result.plans_by_partner.items():
            total.plans_by_partner.setdefault(partner_id, []).extend(ids)
        total.event_ids += result.event_ids
    return total


def _validate(messages: list[RawMessage]) -> tuple[list[ParsedMessage], list[DeadLetter], dict[str, sql.Tenant]]:
    parsed: list[ParsedMessage] = []
    dead: list[DeadLetter] = []
    for raw in messages:
        try:
            parsed.append(parse_message(raw))
        except InvalidMessage as exc:
            dead.append(dead_letter(raw, exc.code, exc.reason))
    partners = sql.tenants_load({p.tenant_id for p in parsed})
    known: list[ParsedMessage] = []
    for p in parsed:
        problem = tenant_problem(p, partners.get(p.tenant_id))
        if problem is not None:
            dead.append(dead_letter(p.raw, problem.code, problem.reason))
        else:
            known.append(p)
    return known, dead, partners


def _ingest_batch_once(messages: list[RawMessage]) -> IngestResult:
    result = IngestResult()
    parsed, dead, partners = _validate(messages)
    with transaction.atomic():
        # Drop repeats (the same tenant's eventId with the same content: at-least-once delivery upstream), inside
        # the batch and against what is stored; the same tenant's eventId with other content is dead-lettered.
        unique: dict[tuple[int, str], ParsedMessage] = {}
        for p in parsed:
            key = (partners[p.tenant_id].pk, p.event_id)
            first = unique.setdefault(key, p)
            if first is not p and _content(first) != _content(p):
                dead.append(dead_letter(p.raw, *REUSED))
        stored_before = sql.existing_events(list(unique))
        fresh = []
        for key, p in unique.items():
            if key not in stored_before:
                fresh.append(p)
            elif stored_before[key] != _content(p):
                dead.append(dead_letter(p.raw, *REUSED))
        result.duplicates = len(parsed) - len(fresh) - sum(d.reason_code == REUSED[0] for d in dead)
        # Seed 004: one TRANSACTION_COMPLETED per transaction; a later one becomes TRANSACTION_STATUS_CHANGED.
        fresh, incomplete, rewritten = transactions_once(fresh, partners)
        dead.extend(incomplete)

        # Events are written as COPY rows, not model instances (building those was a fifth of the bridge's time).
        # A customer-facing event is written with an UnplannedEvent row: the messaging worker plans its messages
        # (routing costs several times ingest per event), so every event costs the bridge alike, whoever sent it.
        now = timezone.now()
        sequences = sql.sequences_allocate(fresh, partners)
        stored: list[tuple[int, ParsedMessage, str, sql.Tenant]] = []  # (pk, message, event type, tenant)
        event_rows: list[tuple] = []
        unplanned_rows: list[tuple] = []  # sql.UNPLANNED_COLUMNS
        for pk, p, sequence in zip(bulk.next_ids(Event._meta.db_table, len(fresh)), fresh, sequences, strict=True):
            definition = get_event(p.event_name)
            raw = p.raw
            body = webhook_body(
                event_id=p.event_id, event_name=p.event_name, event_type=definition.event_type,
                tenant_id=p.tenant_id, occurred_at=p.occurred_at, data=p.data, entity_id=p.entity_id,
                sequence=sequence,
            )
            row = (
                pk, p.event_id, p.event_name, definition.event_type, partners[p.tenant_id].pk, p.occurred_at,
                p.entity_id, sequence, jsoncodec.dumps(p.data), body, guards.contains_card_number(body), now,
                raw.topic, raw.partition if raw.partition >= 0 else None, raw.offset if raw.offset >= 0 else None,
                datetime.fromtimestamp(raw.timestamp_ms / 1000, UTC) if raw.timestamp_ms else None,
            )
            if definition.customer_facing:
                result.plans_by_partner.setdefault(partners[p.tenant_id].pk, []).append(pk)
                unplanned_rows.append((pk, partners[p.tenant_id].pk, now))
            event_rows.append(row)
            stored.append((pk, p, definition.event_type, partners[p.tenant_id]))
        bulk.copy_rows(Event._meta.db_table, sql.EVENT_COLUMNS, event_rows)
        bulk.copy_rows(UnplannedEvent._meta.db_table, sql.UNPLANNED_COLUMNS, unplanned_rows)
        rewrites_store([(pk, p) for pk, p, _, _ in stored], rewritten)
        result.events_created = len(stored)
        result.event_ids = [p.event_id for _, p, _, _ in stored]

        # One delivery per wanting subscription, written leased to the task that will send it (webhooks.planning).
        targets: dict[int, list[tuple[int, int]]] = defaultdict(list)  # subscription -> (event pk, partner pk)
        other_formats: dict[int, set[str]] = defaultdict(set)  # event pk -> body formats besides the standard one
        for pk, p, event_type, tenant in stored:
            for sub in tenant.subscriptions:
                if subscription_wants(sub, event_name=p.event_name, event_type=event_type, data=p.data):
                    targets[sub.pk].append((pk, tenant.pk))
                    if sub.payload_format != STANDARD:
                        other_formats[pk].add(sub.payload_format)
        event_bodies_store(stored=stored, sequences=sequences, formats=other_formats)
        delivery_ids = iter(bulk.next_ids(WebhookDelivery._meta.db_table, sum(map(len, targets.values()))))
        delivery_rows, result.delivery_batches = leased_delivery_rows(targets, delivery_ids=delivery_ids, now=now)
        bulk.copy_rows(WebhookDelivery._meta.db_table, DELIVERY_COLUMNS, delivery_rows)

        dead_letters_store(dead)
        result.dead_lettered = len(dead)
    dead_letters_log(dead)
    return result
