"""Write-side services of the pipeline that the partner API, the admin, commands and tasks call: retry and replay
deliveries, fix and re-drive dead letters, send a test event, re-enqueue due work."""

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from config.partner_api.audit import audit_record
from notifications import queue
from notifications.ingest.batch import REUSED, ingest_batch
from notifications.ingest.dead_letters import check_message
from notifications.ingest.parsing import RawMessage
from notifications.messaging.planning import events_unplanned_by_partner
from notifications.messaging.sending import message_due_by_partner
from notifications.models import DeadLetter, DeliveryStatus, Event, RecoverJob, WebhookDelivery
from notifications.webhooks.delivery import due_delivery_ids
from notifications.webhooks.payloads import webhook_body
from subscriptions.models import AuditChannel, EventSubscription

logger = logging.getLogger(__name__)


# --- Replay, retry, re-drive -------------------------------------------------------------------------------------

REPLAYABLE = (DeliveryStatus.FAILED, DeliveryStatus.SUCCEEDED, DeliveryStatus.PENDING)


def _reset_for_replay(queryset) -> int:
    """Due now, with a fresh retry budget. Rows held by a worker (SENDING) or cancelled are left alone."""
    return queryset.filter(status__in=REPLAYABLE, subscription__isnull=False).update(
        status=DeliveryStatus.PENDING,
        next_attempt_at=timezone.now(),
        attempts_before_replay=F("attempt_count"),
        completed_at=None,
        last_error="",
    )


def delivery_retry(*, delivery: WebhookDelivery, actor: str, channel: str) -> WebhookDelivery:
    """Send one delivery again now (partner API, admin). SENDING or CANCELLED deliveries cannot be retried."""

    if delivery.status == DeliveryStatus.SENDING:
        raise DeliveryNotRetryable("The delivery is being sent right now; try again in a moment.")
    if delivery.status == DeliveryStatus.CANCELLED or delivery.subscription_id is None:
        raise DeliveryNotRetryable("The delivery was cancelled because its subscription was deleted.")
    with transaction.atomic():
        before = delivery.status
        _reset_for_replay(WebhookDelivery.objects.filter(pk=delivery.pk))
        audit_record(
            channel=channel, actor=actor, partner=delivery.partner, action="delivery.retry",
            object_type="WebhookDelivery", object_id=delivery.pk, before={"status": before},
            after={"status": DeliveryStatus.PENDING},
        )
        transaction.on_commit(lambda: queue.enqueue_deliveries({delivery.subscription_id: [delivery.pk]}))
    delivery.refresh_from_db()
    return delivery


class DeliveryNotRetryable(Exception):
    pass


@dataclass
class ReplaySummary:
    matched: int = 0
    replayed: int = 0
    tasks: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def deliveries_replay(
    *,
    status: str = DeliveryStatus.FAILED,
    since: datetime | None = None,
    until: datetime | None = None,
    tenant_id: str | None = None,
    event_name: str | None = None,
    subscription_id: int | None = None,
    dry_run: bool = False,
    chunk_size: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> ReplaySummary:
    """Re-send deliveries matching the filters (ops `replay_deliveries`, a partner's recover job), in chunks."""

    queryset = WebhookDelivery.objects.filter(status=status, subscription__isnull=False)
    if since:
        queryset = queryset.filter(created_at__gte=since)
    if until:
        queryset = queryset.filter(created_at__lt=until)
    if tenant_id:
        queryset = queryset.filter(partner__tenant_id=tenant_id)
    if event_name:
        queryset = queryset.filter(event__event_name=event_name)
    if subscription_id is not None:
        queryset = queryset.filter(subscription_id=subscription_id)
    ids = list(queryset.order_by("id").values_list("id", flat=True))
    summary = ReplaySummary(matched=len(ids), dry_run=dry_run)
    if dry_run:
        return summary
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        with transaction.atomic():
            summary.replayed += _reset_for_replay(WebhookDelivery.objects.filter(pk__in=chunk))
        grouped: dict[int, list[int]] = {}
        for sub_id, delivery_id in WebhookDelivery.objects.filter(pk__in=chunk).values_list("subscription_id", "id"):
            grouped.setdefault(sub_id, []).append(delivery_id)
        summary.tasks += queue.enqueue_deliveries(grouped)
        if progress:
            progress(min(start + chunk_size, len(ids)), len(ids))
    return summary


@dataclass
class RedriveResult:
    dead_letter_id: int
    ok: bool
    reason: str = ""
    event_id: str = ""


def dead_letter_fix(*, dead_letter: DeadLetter, payload: bytes, actor: str) -> DeadLetter:
    """Store a corrected payload for a dead letter (the original bytes stay as evidence)."""
    with transaction.atomic():
        dead_letter.fixed_value = payload
        dead_letter.save(update_fields=["fixed_value"])
        audit_record(
            channel=AuditChannel.ADMIN, actor=actor, action="dead_letter.fix", object_type="DeadLetter",
            object_id=dead_letter.pk, before=None, after={"fixedValue": payload.decode("utf-8", "replace")[:2000]},
        )
    return dead_letter


def dead_letter_redrive(*, dead_letter: DeadLetter) -> RedriveResult:
    """Ingest a dead letter again (its fixed payload if support entered one). Still invalid: it stays OPEN with the
    new reason. An eventId that was ingested meanwhile is absorbed, as for any repeat."""

    if dead_letter.status != DeadLetter.Status.OPEN:
        return RedriveResult(dead_letter.pk, False, f"already {dead_letter.status.lower()}")
    value = bytes(dead_letter.fixed_value if dead_letter.fixed_value is not None else dead_letter.raw_value)
    raw = RawMessage(value=value, topic=dead_letter.topic, key=bytes(dead_letter.key) if dead_letter.key else None)
    problem = check_message(raw)
    if problem is not None:
        DeadLetter.objects.filter(pk=dead_letter.pk).update(reason_code=problem.code, reason=problem.reason)
        return RedriveResult(dead_letter.pk, False, problem.reason)
    message = json.loads(value)
    with transaction.atomic():
        result = ingest_batch([raw])
        refused = result.dead_lettered > 0  # its eventId was reused with other content: nothing is kept
        if refused:
            transaction.set_rollback(True)
        else:
            DeadLetter.objects.filter(pk=dead_letter.pk).update(
                status=DeadLetter.Status.REDRIVEN,
                redriven_at=timezone.now(),
                redriven_event=Event.objects.filter(
                    event_id=message["eventId"], partner__tenant_id=message["tenantId"]
                ).first(),
            )
            transaction.on_commit(lambda: queue.enqueue_delivery_batches(result.delivery_batches))
            transaction.on_commit(lambda: queue.enqueue_message_planning(result.plans_by_partner))
    if refused:
        code, reason = REUSED
        DeadLetter.objects.filter(pk=dead_letter.pk).update(reason_code=code, reason=reason)
        return RedriveResult(dead_letter.pk, False, reason)
    return RedriveResult(dead_letter.pk, True, "", message["eventId"])


class SubscriptionDisabled(Exception):
    """A test event was asked of a disabled subscription."""


def subscription_send_test(*, subscription: EventSubscription, channel: str, actor: str) -> WebhookDelivery:
    """A signed WEBHOOK_TEST event to one subscription, sent now (partner API `…/{eventName}/test`, the portal).
    Raises SubscriptionDisabled for a disabled subscription."""
    if not subscription.is_enabled:
        raise SubscriptionDisabled("The subscription is disabled; enable it first.")
    now = timezone.now()
    event_id = str(uuid.uuid4())
    data = {"message": f"Test event for your {subscription.event_name} subscription."}
    with transaction.atomic():
        event = Event.objects.create(
            event_id=event_id, event_name="WEBHOOK_TEST", event_type=Event.EventType.INSTANT,
            partner=subscription.partner, occurred_at=now, data=data,
            body=webhook_body(event_id=event_id, event_name="WEBHOOK_TEST", event_type=Event.EventType.INSTANT,
                              tenant_id=subscription.partner.tenant_id, occurred_at=now, data=data),
        )
        delivery = WebhookDelivery.objects.create(event=event, subscription=subscription,
                                                  partner=subscription.partner)
        audit_record(
            channel=channel, actor=actor, partner=subscription.partner, action="subscription.test_sent",
            object_type="EventSubscription", object_id=subscription.pk,
            after={"event_name": subscription.event_name, "event_id": event_id, "delivery_id": delivery.pk},
        )
        transaction.on_commit(lambda: queue.enqueue_deliveries({subscription.pk: [delivery.pk]}))
    return delivery


def requeue_due_work() -> dict:
    """Re-enqueue due work that no worker holds (Redis lost it, a worker died): what beat runs every few seconds."""
    deliveries = due_delivery_ids()
    delivery_tasks = queue.enqueue_deliveries(deliveries)
    message_tasks = queue.enqueue_messages_by_partner(message_due_by_partner())
    message_tasks += queue.enqueue_message_planning(events_unplanned_by_partner())
    found = sum(len(v) for v in deliveries.values())
    if found:
        logger.info("Re-enqueued %d overdue deliveries in %d tasks", found, delivery_tasks)
    recover_jobs = recover_jobs_requeue_stalled()
    return {"deliveries": found, "delivery_tasks": delivery_tasks, "message_tasks": message_tasks,
            "recover_jobs": recover_jobs}


# --- Recover (a partner re-sends a subscription's failed deliveries of a time window) -----------------------------

RECOVERABLE = (DeliveryStatus.FAILED, DeliveryStatus.SUCCEEDED)
# A running job writes its progress at least this often; one silent for longer lost its worker and is started again.
RECOVER_STALL_SECONDS = 10 * 60


class RecoverJobConflict(Exception):
    """Another recover job of the subscription, for a different window, is queued or running."""

    def __init__(self, job: RecoverJob):
        super().__init__(f"Recover job {job.pk} of this subscription is {job.state.lower()}; one job runs at a time. "
                         f"Follow it at …/recover-jobs/{job.pk} and ask again when it has finished.")
        self.job = job


def _validate_recover_window(since: datetime, until: datetime | None, status: str, now: datetime) -> datetime:
    errors: dict[str, list[str]] = {}
    end = until or now
    if since >= now:
        errors["since"] = ["since must be in the past."]
    elif since >= end:
        errors["until"] = ["until must be later than since."]
    elif end - since > timedelta(days=settings.RECOVER_MAX_WINDOW_DAYS):
        errors["until"] = [f"The window from since to until (or now) may cover at most "
                           f"{settings.RECOVER_MAX_WINDOW_DAYS} days; recover a longer period in several jobs."]
    if status not in RECOVERABLE:
        errors["status"] = [f"status must be one of {', '.join(RECOVERABLE)}."]
    if errors:
        raise ValidationError(errors)
    return end


def recover_job_request(
    *, subscription: EventSubscription, since: datetime, until: datetime | None = None,
    status: str = DeliveryStatus.FAILED, channel: str, actor: str,
) -> tuple[RecoverJob, bool]:
    """A background job re-sending the subscription's deliveries of `status` created in [since, until) (until
    defaults to now), and whether it is new. Idempotent: while a job of the subscription is queued or running, the
    same request (same since and status, the same until or none) returns that job; a different one raises
    RecoverJobConflict. Raises ValidationError for a bad window (at most RECOVER_MAX_WINDOW_DAYS)."""
    now = timezone.now()
    end = _validate_recover_window(since, until, status, now)
    with transaction.atomic():
        active = (RecoverJob.objects.select_for_update()
                  .filter(subscription=subscription, state__in=RecoverJob.ACTIVE_STATES).first())
        if active is not None:
            same = active.since == since and active.delivery_status == status and (
                (until is None and not active.until_given) or (until is not None and active.until == until))
            if same:
                return active, False
            raise RecoverJobConflict(active)
        try:
            with transaction.atomic():
                job = RecoverJob.objects.create(
                    subscription=subscription, partner=subscription.partner, since=since, until=end,
                    until_given=until is not None, delivery_status=status, requested_by=actor[:200])
        except IntegrityError:
            # A concurrent identical request won the race (the one-active-job constraint): answer with its job.
            active = RecoverJob.objects.get(subscription=subscription, state__in=RecoverJob.ACTIVE_STATES)
            return active, False
        audit_record(
            channel=channel, actor=actor, partner=subscription.partner, action="subscription.recover_requested",
            object_type="EventSubscription", object_id=subscription.pk,
            after={"recover_job": job.pk, "since": since.isoformat(), "until": end.isoformat(), "status": status},
        )
        transaction.on_commit(lambda: queue.enqueue_recover_job(job.pk))
    return job, True


def recover_job_run(*, job_id: int) -> RecoverJob | None:
    """Run a queued (or stalled) recover job through the replay service, recording its progress; a finished job is
    left alone, so a task delivered twice does nothing the second time."""
    with transaction.atomic():
        job = RecoverJob.objects.select_for_update(skip_locked=True).filter(
            pk=job_id, state__in=RecoverJob.ACTIVE_STATES).first()
        if job is None:
            return None
        job.state, job.started_at, job.updated_at = RecoverJob.State.RUNNING, timezone.now(), timezone.now()
        job.save(update_fields=["state", "started_at", "updated_at"])

    def progress(done: int, total: int) -> None:
        RecoverJob.objects.filter(pk=job.pk).update(matched=total, processed=done, updated_at=timezone.now())

    try:
        summary = deliveries_replay(status=job.delivery_status, since=job.since, until=job.until,
                                    subscription_id=job.subscription_id, progress=progress)
    except Exception as exc:
        logger.exception("Recover job %s failed", job.pk)
        RecoverJob.objects.filter(pk=job.pk).update(state=RecoverJob.State.FAILED, error=str(exc)[:500],
                                                    finished_at=timezone.now(), updated_at=timezone.now())
        raise
    RecoverJob.objects.filter(pk=job.pk).update(
        state=RecoverJob.State.SUCCEEDED, matched=summary.matched, processed=summary.matched,
        replayed=summary.replayed, finished_at=timezone.now(), updated_at=timezone.now())
    job.refresh_from_db()
    return job


def recover_jobs_requeue_stalled() -> int:
    """Enqueue again the recover jobs whose task was lost (queued past the grace) or whose worker died (running
    without progress for RECOVER_STALL_SECONDS)."""
    now = timezone.now()
    stalled = list(RecoverJob.objects.filter(
        Q(state=RecoverJob.State.QUEUED, created_at__lt=now - timedelta(seconds=settings.REQUEUE_GRACE_SECONDS))
        | Q(state=RecoverJob.State.RUNNING, updated_at__lt=now - timedelta(seconds=RECOVER_STALL_SECONDS))
    ).values_list("pk", flat=True)[:100])
    for job_id in stalled:
        queue.enqueue_recover_job(job_id)
    return len(stalled)
