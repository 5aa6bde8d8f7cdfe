"""History retention: delete finished work older than a cutoff, in small batches, never open work.

Order matters: attempts first, then finished deliveries and customer messages, then the events that no longer have
any delivery or message left, then resolved dead letters and published outbox rows. Each batch is its own short
transaction that locks its rows (`FOR UPDATE SKIP LOCKED`) and re-checks the conditions, so a delivery replayed
(FAILED -> PENDING) while the prune runs is never deleted, and workers are never blocked for long.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Coalesce

from notifications.models import (
    CustomerMessage,
    DeadLetter,
    DeliveryAttempt,
    Event,
    OutboxMessage,
    WebhookDelivery,
)
from notifications.ops.selectors import FINISHED_DELIVERY_STATUSES, FINISHED_MESSAGE_STATUSES

logger = logging.getLogger(__name__)

# Step names, in the order they run; also the keys of the report and of `--json`.
STEPS = ("deliveryAttempts", "webhookDeliveries", "customerMessages", "events", "deadLetters", "outboxMessages")


@dataclass
class PruneReport:
    cutoff: datetime
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_json(self) -> dict:
        return {
            "cutoff": self.cutoff.isoformat(),
            "dryRun": self.dry_run,
            "wouldDelete" if self.dry_run else "deleted": self.counts,
            "total": self.total,
        }


def _prunable_deliveries(cutoff: datetime) -> QuerySet:
    return WebhookDelivery.objects.annotate(finished_at=Coalesce("completed_at", "created_at")).filter(
        status__in=FINISHED_DELIVERY_STATUSES, finished_at__lt=cutoff
    )


def _prunable_messages(cutoff: datetime) -> QuerySet:
    return CustomerMessage.objects.annotate(done_at=Coalesce("finished_at", "sent_at", "created_at")).filter(
        status__in=FINISHED_MESSAGE_STATUSES, done_at__lt=cutoff
    )


def prunable_querysets(*, cutoff: datetime) -> dict[str, QuerySet]:
    """What each step deletes. An event goes only when every delivery and message of it goes too."""
    kept_deliveries = WebhookDelivery.objects.filter(event=OuterRef("pk")).exclude(
        pk__in=_prunable_deliveries(cutoff).values("pk")
    )
    kept_messages = CustomerMessage.objects.filter(event=OuterRef("pk")).exclude(
        pk__in=_prunable_messages(cutoff).values("pk")
    )
    return {
        "deliveryAttempts": DeliveryAttempt.objects.filter(
            started_at__lt=cutoff, delivery__status__in=FINISHED_DELIVERY_STATUSES
        ),
        "webhookDeliveries": _prunable_deliveries(cutoff),
        "customerMessages": _prunable_messages(cutoff),
        "events": Event.objects.filter(received_at__lt=cutoff).filter(~Exists(kept_deliveries), ~Exists(kept_messages)),
        "deadLetters": DeadLetter.objects.filter(created_at__lt=cutoff).exclude(status=DeadLetter.Status.OPEN),
        "outboxMessages": OutboxMessage.objects.filter(published_at__isnull=False, published_at__lt=cutoff),
    }


def _delete_in_batches(queryset: QuerySet, *, batch_size: int, on_batch: Callable[[int], None]) -> int:
    """Delete the rows of `queryset` batch by batch; returns how many rows of its own model went."""
    deleted = 0
    label = queryset.model._meta.label
    while True:
        with transaction.atomic():
            # Lock a batch (skipping rows a worker holds) with the conditions re-checked at lock time.
            ids = list(
                queryset.order_by().select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[
                    :batch_size
                ]
            )
            if not ids:
                return deleted
            _, per_model = queryset.model.objects.filter(pk__in=ids).delete()
        count = per_model.get(label, 0)
        deleted += count
        on_batch(count)
        if len(ids) < batch_size:
            return deleted


def history_prune(
    *,
    cutoff: datetime,
    batch_size: int = 1000,
    dry_run: bool = False,
    on_progress: Callable[[str, int], None] | None = None,
) -> PruneReport:
    """Delete (or with `dry_run`, count) finished history older than `cutoff`.

    `on_progress(step, rows)` is called after each batch, for a progress bar."""
    report = PruneReport(cutoff=cutoff, dry_run=dry_run)
    for step in STEPS:
        # Rebuilt per step: the events step depends on what the delivery and message steps left.
        queryset = prunable_querysets(cutoff=cutoff)[step]
        if dry_run:
            report.counts[step] = queryset.count()
            continue
        report.counts[step] = _delete_in_batches(
            queryset, batch_size=batch_size, on_batch=lambda n, step=step: on_progress and on_progress(step, n)
        )
        logger.info("Pruned %d %s older than %s", report.counts[step], step, cutoff.isoformat())
    return report


def history_count(*, cutoff: datetime) -> dict[str, int]:
    """How many rows each step would delete now (for the progress bar's total)."""
    return {step: queryset.count() for step, queryset in prunable_querysets(cutoff=cutoff).items()}

