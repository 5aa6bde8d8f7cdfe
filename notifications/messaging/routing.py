"""Customer notification routing: which channels a cardholder gets for an event, and with which template.

Called by ingest inside the event batch's transaction. For every customer-facing event the cardholder is resolved
(kitNo -> card -> wallet -> cardholder, else walletId, else customerId; always within the event's tenant) and each
channel gets one row:

- PENDING (send now) or HELD (quiet hours; `next_attempt_at` = the end of the window) with its template, which
  the messaging worker renders just before sending (`messaging.rendering`): routing runs in the ingest transaction
  and never runs a partner's template, so no template can slow or stop ingest for anyone;
- SKIPPED with `skip_reason` for the quiet cases: channel switched off for the product, cardholder opted out of
  the channel or of the event's category on it (both ignored for critical events), a destination a provider called
  dead (`Cardholder.invalid_destinations`), no contact data, no template, cardholder not found.

IN_APP (the cardholder's inbox) is a channel like the others, except that it is never held for quiet hours: storing
a message in the inbox disturbs nobody.

A product's `channel_fallback_order` (e.g. ["PUSH", "SMS", "EMAIL"]) makes those channels a cascade: only the first
one the cardholder can receive is sent, and the next is used when it fails permanently
(`message_fallback_plan`). Channels not in the order are sent independently.

Everything a batch needs (cards, wallets, cardholders, templates, switches, quiet hours) is loaded in a fixed
number of queries, whatever the batch size."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections import defaultdict
from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import Q
from django.db.models.base import ModelState
from django.utils import timezone

from notifications.models import CustomerChannel, CustomerMessage, Event, MessageStatus
from subscriptions.catalog import EventDefinition, get_event
from templates.models import NotificationTemplate
from templates.quiet_hours import quiet_hours_end, quiet_window_for
from templates.selectors import (
    TemplateBook,
    channel_switches_load,
    locale_candidates,
    quiet_policies_load,
    template_book_load,
)
from templates.variables import Subject
from wallets.models import CONTACT_FIELDS, Card, Cardholder, Product, Wallet

logger = logging.getLogger(__name__)

# What routing reads of an event (the planner loads only these).
ROUTED_EVENT_FIELDS = ("id", "partner_id", "event_name", "data")
CHANNEL_ORDER = (CustomerChannel.PUSH, CustomerChannel.SMS, CustomerChannel.EMAIL, CustomerChannel.IN_APP)
_RECIPIENT_MAX = CustomerMessage._meta.get_field("recipient").max_length

# CustomerMessage rows are built from their values in field order, straight into the instance's attributes:
# Django's keyword constructor looks up every field's default and goes through the relations' descriptors (~20 % of
# the messaging worker's CPU per customer-facing event, four rows each), and even its positional form sets the
# fields one setattr() at a time (~15 %; docs/profiles/README.md, "Issue 20: planning customer messages"). The
# constructor's only other work is the pre_init/post_init signals, which nothing connects for this model (a test
# checks both, and that the rows equal the keyword constructor's).
_MESSAGE_FIELDS = CustomerMessage._meta.concrete_fields
_MESSAGE_ATTNAMES = tuple(f.attname for f in _MESSAGE_FIELDS)
_MESSAGE_SLOT = {f.attname: i for i, f in enumerate(_MESSAGE_FIELDS)}
_MESSAGE_CALLABLE_DEFAULTS = [(i, f.default) for i, f in enumerate(_MESSAGE_FIELDS)
                              if f.has_default() and callable(f.default)]
_MESSAGE_BLANK = [None if (i, f.default) in _MESSAGE_CALLABLE_DEFAULTS else f.get_default()
                  for i, f in enumerate(_MESSAGE_FIELDS)]
_MESSAGE_RELATIONS = tuple(CustomerMessage._meta.get_field(name) for name in ("event", "cardholder", "product",
                                                                             "template"))


def message_row(*, event: Event, cardholder: Cardholder | None = None, product: Product | None = None,
                template: NotificationTemplate | None = None, **values) -> CustomerMessage:
    """An unsaved CustomerMessage of `event` with `values` (by attribute name) and every other field at its
    default, as `CustomerMessage(event=event, ...)` builds it; the related objects given are cached on it."""
    row = _MESSAGE_BLANK.copy()
    row[_MESSAGE_SLOT["event_id"]] = event.pk
    row[_MESSAGE_SLOT["partner_id"]] = event.partner_id
    related = (event, cardholder, product, template)
    for field, obj in zip(_MESSAGE_RELATIONS[1:], related[1:], strict=True):
        if obj is not None:
            row[_MESSAGE_SLOT[field.attname]] = obj.pk
    for name, value in values.items():
        row[_MESSAGE_SLOT[name]] = value
    for i, default in _MESSAGE_CALLABLE_DEFAULTS:
        if row[i] is None:  # not given (these fields are NOT NULL: None is never a value)
            row[i] = default()
    message = CustomerMessage.__new__(CustomerMessage)
    message._state = ModelState()
    message.__dict__.update(zip(_MESSAGE_ATTNAMES, row, strict=True))
    for field, obj in zip(_MESSAGE_RELATIONS, related, strict=True):
        if obj is not None:
            field.set_cached_value(message, obj)
    return message


class SkipReason:
    CARDHOLDER_NOT_FOUND = "cardholder_not_found"
    CHANNEL_DISABLED = "channel_disabled_for_product"
    OPTED_OUT = "opted_out"
    CATEGORY_OPTED_OUT = "category_opted_out"
    INVALID_DESTINATION = "destination_invalid"
    NO_CONTACT = "no_contact_data"
    INVALID_CONTACT = "invalid_contact_data"
    NO_TEMPLATE = "no_template"
    TEMPLATE_ERROR = "template_error"


def _recipient_of(holder: Cardholder, channel: str) -> str:
    if channel == CustomerChannel.IN_APP:
        return holder.external_id  # the inbox is the cardholder's own: always there
    return getattr(holder, CONTACT_FIELDS[channel]).strip()


def preference_skip_reason(*, holder: Cardholder, definition: EventDefinition, channel: str) -> str:
    """Why the cardholder's own choices keep `channel` for this event ("" when they do not): an opted-out channel,
    or the event's category opted out on that channel. Critical notices ignore both."""
    if definition.critical:
        return ""
    preferences = holder.channel_preferences if isinstance(holder.channel_preferences, dict) else {}
    if preferences.get(channel) is False:
        return SkipReason.OPTED_OUT
    opt_outs = holder.category_opt_outs if isinstance(holder.category_opt_outs, dict) else {}
    if channel in (opt_outs.get(definition.category) or ()):
        return SkipReason.CATEGORY_OPTED_OUT
    return ""


def fallback_order_of(product: Product | None) -> list[str]:
    """The product's cascade, cleaned: known channels, each once."""
    order: list[str] = []
    for value in (product.channel_fallback_order if product is not None else None) or []:
        value = str(value).upper()
        if value in CustomerChannel.values and value not in order:
            order.append(value)
    return order


# What events are about, by event id, as one task resolved them: a task that plans messages and then renders them
# resolves each event once (the second resolving was a fifth of the messaging worker's CPU, docs/profiles/).
KnownSubjects = dict[int, Subject | None]


def subjects_resolve(events: list[Event], known: KnownSubjects | None = None) -> list[Subject | None]:
    """What each event is about, aligned with `events` (None when no cardholder is found). Four queries at most.
    `known`: the events this task resolved already, taken from it; the others are resolved and added to it."""
    if known is not None:
        todo = [e for e in events if e.pk not in known]
        if todo:
            known.update(zip((e.pk for e in todo), _subjects_resolve(todo), strict=True))
        return [known[e.pk] for e in events]
    return _subjects_resolve(events)


def _subjects_resolve(events: list[Event]) -> list[Subject | None]:
    kits: dict[int, set[str]] = defaultdict(set)
    wallets: dict[int, set[uuid.UUID]] = defaultdict(set)
    customers: dict[int, set[str]] = defaultdict(set)
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        if data.get("kitNo"):
            kits[event.partner_id].add(str(data["kitNo"]))
        if data.get("walletId"):
            # Not a UUID: not a wallet id of ours; the other keys may still resolve.
            with contextlib.suppress(ValueError):
                wallets[event.partner_id].add(uuid.UUID(str(data["walletId"])))
        if data.get("customerId"):
            customers[event.partner_id].add(str(data["customerId"]))

    cards_by_kit: dict[tuple[int, str], Card] = {}
    if kits:
        query = reduce(or_, (Q(partner_id=p, kit_no__in=k) for p, k in kits.items()))
        for card in Card.objects.filter(query).select_related("wallet__cardholder", "wallet__product"):
            cards_by_kit[(card.partner_id, card.kit_no)] = card
    wallets_by_id: dict[tuple[int, uuid.UUID], Wallet] = {}
    if wallets:
        query = reduce(or_, (Q(partner_id=p, wallet_id__in=w) for p, w in wallets.items()))
        for wallet in Wallet.objects.filter(query).select_related("cardholder", "product"):
            wallets_by_id[(wallet.partner_id, wallet.wallet_id)] = wallet
    holders_by_ext: dict[tuple[int, str], Cardholder] = {}
    latest_wallet: dict[int, Wallet] = {}
    if customers:
        query = reduce(or_, (Q(partner_id=p, external_id__in=c) for p, c in customers.items()))
        for holder in Cardholder.objects.filter(query):
            holders_by_ext[(holder.partner_id, holder.external_id)] = holder
        if holders_by_ext:
            # The product of a customer-level event is that of the cardholder's newest wallet (DISTINCT ON).
            newest = (
                Wallet.objects.filter(cardholder_id__in=[h.pk for h in holders_by_ext.values()])
                .select_related("product")
                .order_by("cardholder_id", "-created_at", "-id")
                .distinct("cardholder_id")
            )
            latest_wallet = {w.cardholder_id: w for w in newest}

    resolved: list[Subject | None] = []
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        card = cards_by_kit.get((event.partner_id, str(data.get("kitNo", ""))))
        if card is not None:
            resolved.append(Subject(card.wallet.cardholder, card, card.wallet, card.wallet.product))
            continue
        try:
            wallet_key = uuid.UUID(str(data.get("walletId", "")))
        except ValueError:
            wallet_key = None
        wallet = wallets_by_id.get((event.partner_id, wallet_key)) if wallet_key else None
        if wallet is not None:
            resolved.append(Subject(wallet.cardholder, None, wallet, wallet.product))
            continue
        holder = holders_by_ext.get((event.partner_id, str(data.get("customerId", ""))))
        if holder is not None:
            wallet = latest_wallet.get(holder.pk)
            resolved.append(Subject(holder, None, wallet, wallet.product if wallet else None))
            continue
        resolved.append(None)
    return resolved


class RoutingPlanner:
    """Builds message rows for one batch from data loaded up front."""

    def __init__(self, *, events: list[Event], subjects: list[Subject | None], now: datetime):
        self.now = now
        product_ids = {s.product.pk for s in subjects if s is not None and s.product is not None}
        event_names = {e.event_name for e in events}
        self.book: TemplateBook = template_book_load(product_ids=product_ids, event_names=event_names)
        self.switches = channel_switches_load(product_ids=product_ids, event_names=event_names)
        self.policies = quiet_policies_load(product_ids=product_ids)

    def message(self, *, event: Event, definition: EventDefinition, subject: Subject, channel: str) -> CustomerMessage:
        """One row for one channel: PENDING/HELD with its template (rendered later, by the worker: routing never
        runs partner code), or SKIPPED with the reason."""
        holder, product = subject.cardholder, subject.product

        def skipped(reason: str) -> CustomerMessage:
            return message_row(event=event, cardholder=holder, product=product, channel=channel,
                               status=MessageStatus.SKIPPED, skip_reason=reason, created_at=self.now,
                               next_attempt_at=self.now)

        if product is not None and not self.switches.get((product.pk, event.event_name, channel), True):
            return skipped(SkipReason.CHANNEL_DISABLED)
        opted_out = preference_skip_reason(holder=holder, definition=definition, channel=channel)
        if opted_out:
            return skipped(opted_out)
        recipient = _recipient_of(holder, channel)
        if not recipient:
            return skipped(SkipReason.NO_CONTACT)
        invalid = holder.invalid_destinations if isinstance(holder.invalid_destinations, dict) else {}
        if channel in invalid:
            # A provider called this destination dead: not tried again until the partner clears or changes it.
            return skipped(SkipReason.INVALID_DESTINATION)
        if len(recipient) > _RECIPIENT_MAX:
            return skipped(SkipReason.INVALID_CONTACT)
        locales = locale_candidates(
            locale=holder.locale, product_default_locale=product.default_locale if product else None
        )
        template = self.book.find(
            product_id=product.pk if product else None, event_name=event.event_name, channel=channel, locales=locales
        )
        if template is None:
            return message_row(event=event, cardholder=holder, product=product, channel=channel,
                               recipient=recipient, status=MessageStatus.SKIPPED, skip_reason=SkipReason.NO_TEMPLATE,
                               created_at=self.now, next_attempt_at=self.now)
        held_until = None
        if not definition.urgent and channel != CustomerChannel.IN_APP:
            window = quiet_window_for(policy=self.policies.get(product.pk) if product else None, cardholder=holder)
            held_until = quiet_hours_end(now=self.now, tz_name=holder.timezone, window=window)
        return message_row(
            event=event, cardholder=holder, product=product, template=template, channel=channel,
            recipient=recipient, locale=template.locale, created_at=self.now,
            status=MessageStatus.PENDING if held_until is None else MessageStatus.HELD,
            next_attempt_at=self.now if held_until is None else held_until,
        )

    def plan_event(self, *, event: Event, definition: EventDefinition, subject: Subject) -> list[CustomerMessage]:
        cascade = fallback_order_of(subject.product)
        rows = [
            self.message(event=event, definition=definition, subject=subject, channel=channel)
            for channel in CHANNEL_ORDER
            if channel not in cascade
        ]
        # The cascade: send on the first channel that can go; the rest wait for a permanent failure.
        for channel in cascade:
            row = self.message(event=event, definition=definition, subject=subject, channel=channel)
            rows.append(row)
            if row.status in (MessageStatus.PENDING, MessageStatus.HELD):
                break
        return rows


def plan_customer_messages(
    events: list[Event], *, now: datetime | None = None, known: KnownSubjects | None = None
) -> list[CustomerMessage]:
    """Unsaved CustomerMessage rows (one per channel per customer-facing event); ingest bulk-creates them.
    `known`: as for subjects_resolve."""
    now = now or timezone.now()
    relevant = [(e, d) for e in events if (d := get_event(e.event_name)) is not None and d.customer_facing]
    if not relevant:
        return []
    subjects = subjects_resolve([e for e, _ in relevant], known)
    planner: RoutingPlanner | None = None
    rows: list[CustomerMessage] = []
    for (event, definition), subject in zip(relevant, subjects, strict=True):
        if subject is None or subject.cardholder is None:
            rows.extend(
                message_row(event=event, channel=channel, status=MessageStatus.SKIPPED,
                            skip_reason=SkipReason.CARDHOLDER_NOT_FOUND, created_at=now, next_attempt_at=now)
                for channel in CHANNEL_ORDER
            )
            continue
        if planner is None:
            # Templates, switches and quiet hours are loaded once, and only when some event has a cardholder.
            planner = RoutingPlanner(events=[e for e, _ in relevant], subjects=subjects, now=now)
        rows.extend(planner.plan_event(event=event, definition=definition, subject=subject))
    return rows


def message_fallback_plan(*, failed: CustomerMessage, now: datetime | None = None) -> CustomerMessage | None:
    """The unsaved fallback for a message that failed for good: the next channel after it in the product's
    fallback order that the cardholder can receive and that this event has not used yet; None if there is none."""
    now = now or timezone.now()
    event = failed.event
    definition = get_event(event.event_name)
    if definition is None:
        return None
    subject = subjects_resolve([event])[0]
    if subject is None or subject.cardholder is None:
        return None
    cascade = fallback_order_of(subject.product)
    if failed.channel not in cascade:
        return None
    used = set(
        CustomerMessage.objects.filter(event=event)
        .exclude(status=MessageStatus.SKIPPED)
        .values_list("channel", flat=True)
    )
    planner = RoutingPlanner(events=[event], subjects=[subject], now=now)
    for channel in cascade[cascade.index(failed.channel) + 1 :]:
        if channel in used:
            continue
        row = planner.message(event=event, definition=definition, subject=subject, channel=channel)
        if row.status in (MessageStatus.PENDING, MessageStatus.HELD):
            row.fallback_of = failed
            return row
    return None
