"""The bulk card state changes (cards_expire, cards_inactivate_for_dormancy) leave exactly the rows that changing the
same cards one at a time leaves (card_expire, card_inactivate_for_dormancy, in card id order): statuses, wallet
transitions, audit entries and events, cards that must be skipped included; and they take a constant number of
queries whatever the number of cards."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import OutboxMessage
from subscriptions.models import AuditEntry
from tests.factories import CardFactory, CardholderFactory, PartnerFactory, ProductFactory, WalletFactory
from wallets.models import Card, Wallet, WalletStatusTransition
from wallets.services.cards import (
    card_expire,
    card_inactivate_for_dormancy,
    cards_expire,
    cards_inactivate_for_dormancy,
)

pytestmark = pytest.mark.django_db

S = Card.Status
LAST_ACTIVE = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)

# (wallet label, wallet status, [(card label, card status, in the batch)]), cards created in this order (id order).
EXPIRY_SCENARIO = [
    ("w-alone", "ACTIVE", [("active-alone", S.ACTIVE, True)]),
    ("w-dormant", "ACTIVE", [("inactive-alone", S.INACTIVE, True)]),
    ("w-locked-card", "ACTIVE", [("locked", S.LOCKED, True), ("other-active", S.ACTIVE, False)]),
    # Both expire; the wallet expires after the second, and its transition names the second.
    ("w-two-active", "ACTIVE", [("first-of-two", S.ACTIVE, True), ("second-of-two", S.ACTIVE, True)]),
    # The ACTIVE card comes last: the wallet expires with it, not with the dormant one.
    ("w-inactive-then-active", "ACTIVE", [("dormant-first", S.INACTIVE, True), ("active-last", S.ACTIVE, True)]),
    # The ACTIVE card comes first: no ACTIVE card is left after it, so the wallet expires with it.
    ("w-active-then-inactive", "ACTIVE", [("active-first", S.ACTIVE, True), ("dormant-last", S.INACTIVE, True)]),
    ("w-wallet-locked", "LOCKED", [("card-of-locked-wallet", S.ACTIVE, True)]),
    ("w-wallet-expired", "EXPIRED", [("card-of-expired-wallet", S.ACTIVE, True)]),
    # Skipped: the card status table does not expire them.
    ("w-skipped", "ACTIVE", [("already-expired", S.EXPIRED, True), ("blocked", S.BLOCKED, True),
                             ("replaced", S.REPLACED, True)]),
    ("w-closed", "CLOSED", [("closed", S.CLOSED, True)]),
]
DORMANCY_SCENARIO = [
    ("w-one", "ACTIVE", [("active-one", S.ACTIVE, True)]),
    ("w-two", "ACTIVE", [("active-two", S.ACTIVE, True), ("active-not-due", S.ACTIVE, False)]),
    ("w-skipped", "ACTIVE", [("inactive", S.INACTIVE, True), ("locked", S.LOCKED, True), ("blocked", S.BLOCKED, True),
                             ("expired", S.EXPIRED, True)]),
    ("w-closed", "CLOSED", [("closed", S.CLOSED, True)]),
]


def build(tenant: str, scenario: list) -> tuple[list[Card], dict[str, str]]:
    """The scenario's wallets and cards for a new partner; returns the batch's cards (id order) and a map of every
    uuid to its label, so two partners' rows can be compared."""
    partner = PartnerFactory(tenant_id=tenant)
    product = ProductFactory(partner=partner, code="std")
    batch, labels = [], {}
    for wallet_label, wallet_status, cards in scenario:
        holder = CardholderFactory(partner=partner, external_id=wallet_label, name=wallet_label)
        wallet = WalletFactory(partner=partner, cardholder=holder, product=product, status=wallet_status)
        labels[str(wallet.wallet_id)] = wallet_label
        for label, status, in_batch in cards:
            card = CardFactory(partner=partner, wallet=wallet, kit_no=label, last4="1234", status=status,
                               expiry_date=datetime.date(2026, 5, 31), last_activity_at=LAST_ACTIVE)
            labels[str(card.card_id)] = label
            if in_batch:
                batch.append(card)
    return batch, labels


def _relabel(value, labels: dict[str, str]):
    if isinstance(value, dict):
        return {key: _relabel(item, labels) for key, item in value.items()}
    if isinstance(value, list):
        return [_relabel(item, labels) for item in value]
    return labels.get(value, value) if isinstance(value, str) else value


def rows(tenant: str, labels: dict[str, str]) -> dict:
    """Everything the changes wrote for `tenant`, with uuids replaced by labels and the per-run values (eventIds,
    times, the tenant) left out."""
    outbox = [
        message.payload for message in OutboxMessage.objects.order_by("id") if message.payload["tenantId"] == tenant
    ]
    events_by_entity: dict[str, list] = {}
    for payload in outbox:
        events_by_entity.setdefault(labels[payload["entityId"]], []).append(
            (payload["eventName"], _relabel(payload["data"], labels))
        )
    event_names = {payload["eventId"]: (payload["eventName"], labels[payload["entityId"]]) for payload in outbox}
    transitions = [
        (labels[str(t.wallet.wallet_id)], t.from_status, t.to_status, t.reason, t.comment, t.actor, t.channel,
         event_names[t.event_id])
        for t in WalletStatusTransition.objects.filter(wallet__partner__tenant_id=tenant).order_by("id")
    ]
    audit = [
        (entry.channel, entry.actor, entry.action, entry.object_type, labels[entry.object_id], entry.before,
         entry.after)
        for entry in AuditEntry.objects.filter(partner__tenant_id=tenant).order_by("id")
    ]
    return {
        "cards": {card.kit_no: card.status for card in Card.objects.filter(partner__tenant_id=tenant)},
        "wallets": {labels[str(w.wallet_id)]: w.status for w in Wallet.objects.filter(partner__tenant_id=tenant)},
        "transitions": transitions,
        # Per entity in order (what the topic's per-entity ordering keeps); across tables and entities the order
        # of the inserts is not observable.
        "events": events_by_entity,
        "audit": sorted(audit, key=repr),
        "audit_per_object": {label: [a[2] for a in audit if a[4] == label] for label in labels.values()},
    }


def test_cards_expire_leaves_the_rows_of_expiring_the_cards_one_by_one():
    one_by_one, labels_one = build("one", EXPIRY_SCENARIO)
    in_bulk, labels_bulk = build("bulk", EXPIRY_SCENARIO)

    for card in one_by_one:
        card_expire(card=card)
    cards_expire(cards=in_bulk)

    expected, got = rows("one", labels_one), rows("bulk", labels_bulk)
    assert got == expected
    # The scenario's outcome itself, so that both paths cannot be wrong the same way unnoticed.
    assert got["cards"] == {
        "active-alone": S.EXPIRED, "inactive-alone": S.EXPIRED, "locked": S.EXPIRED, "other-active": S.ACTIVE,
        "first-of-two": S.EXPIRED, "second-of-two": S.EXPIRED, "dormant-first": S.EXPIRED, "active-last": S.EXPIRED,
        "active-first": S.EXPIRED, "dormant-last": S.EXPIRED, "card-of-locked-wallet": S.EXPIRED,
        "card-of-expired-wallet": S.EXPIRED, "already-expired": S.EXPIRED, "blocked": S.BLOCKED,
        "replaced": S.REPLACED, "closed": S.CLOSED,
    }
    assert [(t[0], t[1], t[2], t[4]) for t in got["transitions"]] == [
        ("w-alone", "ACTIVE", "EXPIRED", "Card active-alone expired on 2026-05-31."),
        ("w-dormant", "ACTIVE", "EXPIRED", "Card inactive-alone expired on 2026-05-31."),
        ("w-two-active", "ACTIVE", "EXPIRED", "Card second-of-two expired on 2026-05-31."),
        ("w-inactive-then-active", "ACTIVE", "EXPIRED", "Card active-last expired on 2026-05-31."),
        ("w-active-then-inactive", "ACTIVE", "EXPIRED", "Card active-first expired on 2026-05-31."),
        ("w-wallet-locked", "LOCKED", "EXPIRED", "Card card-of-locked-wallet expired on 2026-05-31."),
    ]
    assert [name for name, _ in got["events"]["locked"]] == ["KIT_STATUS_UPDATE", "CARD_STATUS_CHANGED"]
    assert "blocked" not in got["events"] and got["audit_per_object"]["blocked"] == []
    assert got["audit_per_object"]["w-alone"] == ["wallet.status_changed"]


def test_cards_expire_updates_the_callers_cards_in_place():
    batch, _ = build("bulk", EXPIRY_SCENARIO)

    changes = cards_expire(cards=batch)

    assert {card.kit_no: card.status for card in batch} == {
        card.kit_no: card.status for card in Card.objects.filter(pk__in=[c.pk for c in batch])
    }
    assert len(changes) == 11  # every card of the batch but the already expired, blocked, replaced and closed
    assert all(len(change.event_ids) == 2 for change in changes)


def test_cards_inactivate_for_dormancy_leaves_the_rows_of_inactivating_the_cards_one_by_one():
    one_by_one, labels_one = build("one", DORMANCY_SCENARIO)
    in_bulk, labels_bulk = build("bulk", DORMANCY_SCENARIO)

    for card in one_by_one:
        card_inactivate_for_dormancy(card=card)
    changes = cards_inactivate_for_dormancy(cards=in_bulk)

    expected, got = rows("one", labels_one), rows("bulk", labels_bulk)
    assert got == expected
    assert [change.card.kit_no for change in changes] == ["active-one", "active-two"]
    assert got["cards"]["active-not-due"] == S.ACTIVE and got["cards"]["locked"] == S.LOCKED
    assert got["transitions"] == []
    (update, changed) = got["events"]["active-one"]
    assert update[0] == "KIT_STATUS_UPDATE" and changed[0] == "CARD_STATUS_CHANGED"
    assert changed[1]["reason"] == "DORMANCY" and changed[1]["newStatus"] == "INACTIVE"
    audit = [a for a in got["audit"] if a[4] == "active-one"]
    assert audit == [("SYSTEM", "system", "card.inactivated_for_dormancy", "card", "active-one", {"status": "ACTIVE"},
                      {"status": "INACTIVE", "action": "inactivate_dormant", "comment": "",
                       "lastActivityAt": LAST_ACTIVE.isoformat()})]


def _queries(tenant: str, wallets: int, change) -> int:
    scenario = [(f"w{n}", "ACTIVE", [(f"a{n}", S.ACTIVE, True), (f"i{n}", S.INACTIVE, True),
                                     (f"b{n}", S.BLOCKED, True)]) for n in range(wallets)]
    batch, _ = build(tenant, scenario)
    with CaptureQueriesContext(connection) as captured:
        change(cards=batch)
    return len(captured.captured_queries)


@pytest.mark.parametrize("change", [cards_expire, cards_inactivate_for_dormancy])
def test_the_number_of_queries_does_not_grow_with_the_number_of_cards(change):
    few = _queries("few", 2, change)
    many = _queries("many", 12, change)

    assert many == few
    assert few <= 16
