"""On the day: cards whose expiry date has passed move to EXPIRED (KIT_EXPIRY_NOTIFICATION) and cards whose
inactivation date has come are inactivated (KIT_INACTIVATION_NOTIFICATION), through the wallets services, each
recorded as a days_before=0 notice so it happens once per card and target date."""

import logging
from abc import ABC, abstractmethod
from datetime import date, timedelta

from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from notifications.models import AdvanceNotice, OutboxMessage
from notifications.outbox import outbox_add_many, outbox_message
from notifications.sweep import sql
from notifications.sweep.advance import local_midnight
from notifications.sweep.report import DORMANCY, EXPIRY, SkipReason, SweepProgress, SweepRow, SweepRun, notice_event_id
from wallets.card_state_machine import EXPIRABLE_STATUSES
from wallets.models import Card
from wallets.services.cards import cards_expire, cards_inactivate_for_dormancy

logger = logging.getLogger(__name__)

# Cards the on-the-day step may expire (the card status table's): a dormant or locked card still expires; blocked,
# closed or replaced ones do not. Each change also emits KIT_STATUS_UPDATE and CARD_STATUS_CHANGED (card_status).


class OnTheDayStep(ABC):
    """Apply a wallets service to each due card and emit an instant event, recorded as a days_before=0 notice so
    that it happens once per card and target date. Subclasses say which cards are due and what the event says."""

    event_name: str

    def __init__(self, run: SweepRun):
        self.run = run

    @abstractmethod
    def due_cards(self) -> QuerySet[Card]:
        """Cards whose change is due on or before the run date."""

    @abstractmethod
    def target_of(self, card: Card) -> date:
        """The expiry or inactivation date the change is about."""

    def due_of(self, card: Card) -> date:
        """The first day the change was due; a later run marks it late."""
        return self.target_of(card)

    @abstractmethod
    def data_of(self, card: Card, target: date) -> dict:
        """The instant event's data."""

    @abstractmethod
    def apply(self, cards: list[Card]) -> None:
        """The state change of a chunk's cards, through the wallets services' bulk variant (one transaction, a
        constant number of statements)."""

    def _queryset(self) -> QuerySet[Card]:
        cards = self.due_cards()
        if self.run.partner_ids is not None:
            cards = cards.filter(partner_id__in=self.run.partner_ids)
        return cards

    def count(self) -> int:
        return self._queryset().count()

    def execute(self, progress: SweepProgress) -> None:
        run = self.run
        row = run.report.row(self.event_name, 0)
        if run.dry_run:
            count = self.count()
            row.due += count
            row.skipped[SkipReason.DRY_RUN] += count
            progress.advance(count, self.event_name)
            return
        after = 0
        while True:
            with transaction.atomic():
                # Concurrent sweeps take turns per chunk, and the query runs after the lock, so the second one no
                # longer sees the cards the first one changed. No row locks here: the wallets services lock wallet,
                # then card, and taking the card first would invert that order.
                sql.advisory_xact_lock(self.event_name)
                cards = list(
                    self._queryset()
                    .filter(pk__gt=after)
                    .select_related("partner", "wallet__cardholder")
                    .order_by("pk")[: run.chunk_size]
                )
                row.due += len(cards)
                outbox_add_many(messages=self._change_all(cards, row))
            after = cards[-1].pk if cards else after
            progress.advance(len(cards), self.event_name)
            if len(cards) < run.chunk_size:
                return

    def _change_all(self, cards: list[Card], row: SweepRow) -> list[OutboxMessage]:
        """Record the chunk's notices in one insert, then change the newly noticed cards in one bulk call; returns
        the outbox messages of the changed ones. A card whose change is refused loses its notice again, so it stays
        due for the next run: notice and change are kept both or neither."""
        targets = {card.pk: (self.target_of(card), self.due_of(card)) for card in cards}
        event_ids = {
            card.pk: notice_event_id(
                card_uuid=card.card_id, event_name=self.event_name, days_before=0, target_date=targets[card.pk][0]
            )
            for card in cards
        }
        inserted = sql.insert_notices(
            event_name=self.event_name,
            run_date=self.run.run_date,
            notices=[(card.pk, card.partner_id, 0, *targets[card.pk], event_ids[card.pk]) for card in cards],
        )
        fresh = [card for card in cards if (card.pk, 0) in inserted]
        if len(fresh) < len(cards):
            row.skipped[SkipReason.ALREADY_SENT] += len(cards) - len(fresh)
        refused = {card.pk for card in self._apply_chunk(fresh)}
        now = timezone.now()
        messages = []
        for card in fresh:
            if card.pk in refused:
                row.skipped[SkipReason.STATE_CHANGE_FAILED] += 1
                continue
            target, due = targets[card.pk]
            late = due < self.run.run_date
            row.sent += 1
            row.late += late
            data = {
                "kitNo": card.kit_no,
                "cardId": str(card.card_id),
                "last4": card.last4,
                **self.data_of(card, target),
                "late": late,
                "customerId": card.wallet.cardholder.external_id,
                "cardholderName": card.wallet.cardholder.name,
            }
            messages.append(
                outbox_message(
                    tenant_id=card.partner.tenant_id,
                    event_name=self.event_name,
                    event_id=event_ids[card.pk],
                    entity_id=str(card.card_id),
                    data=data,
                    occurred_at=now,
                )
            )
        if refused:
            AdvanceNotice.objects.filter(
                event_id__in=[event_ids[pk] for pk in refused], event_name=self.event_name, days_before=0
            ).delete()
        return messages

    def _apply_chunk(self, cards: list[Card]) -> list[Card]:
        """Change the chunk's cards in one bulk call; if it is refused, card by card, so that one refused change
        does not stop the sweep for every other card. Returns the cards whose change was refused. The wallets
        services are atomic (a savepoint inside this chunk's transaction), so a refusal leaves no partial change
        behind."""
        if not cards:
            return []
        try:
            self.apply(cards)
            return []
        except DatabaseError:
            raise  # the transaction is broken or the database gone: stop here, the next run resumes
        except Exception:
            logger.warning("%s: the chunk's state change failed; changing its cards one by one", self.event_name,
                           exc_info=True)
        refused = []
        for card in cards:
            try:
                self.apply([card])
            except DatabaseError:
                raise
            except Exception:
                logger.exception("%s: state change of card %s failed", self.event_name, card.card_id)
                refused.append(card)
        return refused


class ExpiryStep(OnTheDayStep):
    """Cards whose expiry date has passed: EXPIRED (card and wallet, by the system) and KIT_EXPIRY_NOTIFICATION."""

    event_name = EXPIRY

    def due_cards(self) -> QuerySet[Card]:
        return Card.objects.filter(status__in=EXPIRABLE_STATUSES, expiry_date__lt=self.run.run_date)

    def target_of(self, card: Card) -> date:
        return card.expiry_date

    def due_of(self, card: Card) -> date:
        # Valid through its expiry date: the change is due the day after.
        return card.expiry_date + timedelta(days=1)

    def data_of(self, card: Card, target: date) -> dict:
        return {"expiryDate": target.isoformat()}

    def apply(self, cards: list[Card]) -> None:
        cards_expire(cards=cards)


class DormancyStep(OnTheDayStep):
    """ACTIVE cards of one dormancy period whose inactivation date (last activity + dormancy days) has come:
    inactivated and KIT_INACTIVATION_NOTIFICATION."""

    event_name = DORMANCY

    def __init__(self, run: SweepRun, dormancy_days: int):
        super().__init__(run)
        self.dormancy_days = dormancy_days

    def due_cards(self) -> QuerySet[Card]:
        # Inactivation date <= run date  <=>  last activity before midnight of (run date - dormancy days + 1).
        cutoff = local_midnight(self.run.run_date - timedelta(days=self.dormancy_days - 1), self.run.tz)
        return Card.objects.filter(
            status=Card.Status.ACTIVE, wallet__product__dormancy_days=self.dormancy_days, last_activity_at__lt=cutoff
        )

    def target_of(self, card: Card) -> date:
        return timezone.localtime(card.last_activity_at, self.run.tz).date() + timedelta(days=self.dormancy_days)

    def data_of(self, card: Card, target: date) -> dict:
        return {"inactivationDate": target.isoformat(), "lastActivityAt": card.last_activity_at.isoformat()}

    def apply(self, cards: list[Card]) -> None:
        cards_inactivate_for_dormancy(cards=cards)
