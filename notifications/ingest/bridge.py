"""The Kafka bridge: consume `pp_initiate_notification` in a consumer group, ingest each batch in one database
transaction, enqueue the delivery tasks, and only then commit the batch's offsets (at-least-once: a crash before the
commit re-reads the batch, and eventId uniqueness absorbs the repeat)."""

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from django.conf import settings
from django.db import close_old_connections
from django.db.utils import DatabaseError
from django.utils import timezone

from notifications import queue
from notifications.ingest.batch import TRANSIENT_ERRORS, ingest_batch_isolating
from notifications.ingest.parsing import RawMessage
from notifications.kafka import make_consumer
from notifications.models import ServiceHeartbeat

logger = logging.getLogger(__name__)


@dataclass
class BridgeStats:
    consumed: int = 0
    events: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    deliveries: int = 0
    batches: int = 0
    started: float = field(default_factory=time.monotonic)


class KafkaBridge:
    def __init__(
        self,
        *,
        topic: str,
        group_id: str,
        batch_size: int = 500,
        poll_timeout: float = 0.5,
        linger: float | None = None,
        max_consecutive_errors: int = 30,
        report_interval: float = 10.0,
        name: str = "bridge",
        stop_after: Callable[[BridgeStats], bool] | None = None,
    ) -> None:
        self.topic = topic
        self.group_id = group_id
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.linger = settings.KAFKA_BRIDGE_LINGER_MS / 1000 if linger is None else linger
        self.max_consecutive_errors = max_consecutive_errors
        self.report_interval = report_interval
        self.name = name
        self.stop_after = stop_after
        self.stats = BridgeStats()
        self._stopping = False
        self._last_report = time.monotonic()
        self._assigned: list[TopicPartition] = []
        self._committed: dict[tuple[str, int], int] = {}  # offsets this bridge committed (for the lag report)
        self._processed: dict[tuple[str, int], int] = {}  # the next offset to read of each partition it ingested

    def request_stop(self, *_args) -> None:
        """SIGTERM/SIGINT: finish the batch in hand, commit, exit."""
        if not self._stopping:
            logger.info("Stop requested; finishing the current batch")
        self._stopping = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def run(self) -> int:
        consumer = make_consumer(self.group_id, on_commit=self._on_commit)
        consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        logger.info("Bridge %s consuming %s in group %s", self.name, self.topic, self.group_id)
        try:
            while not self._stopping:
                batch = self._usable(self._consume(consumer))
                if batch:
                    if not self._process_with_retries(batch):
                        return 1
                    self._commit(consumer, batch)
                self._report(consumer)
                if self.stop_after and self.stop_after(self.stats):
                    break
            self._commit_processed(consumer)
        finally:
            consumer.close()
            logger.info("Bridge %s stopped after %d messages", self.name, self.stats.consumed)
        return 0

    def _consume(self, consumer) -> list:
        """Up to batch_size messages: wait up to poll_timeout for the first one, then at most `linger` for the rest.
        (consume() waits its whole timeout unless the batch fills, which at a moderate rate would add up to
        poll_timeout of latency to every event; under a backlog the second call returns a full batch at once.
        Linger 0 measured 5 ms less p50 at 1,000 events/s for 30 % more bridge and worker CPU per delivery: smaller
        batches, more tasks; docs/benchmarks.md, "Issue 20".)"""
        messages = consumer.consume(1, self.poll_timeout)
        if messages and self.batch_size > 1:
            messages += consumer.consume(self.batch_size - 1, self.linger)
        return messages

    def _usable(self, messages) -> list:
        batch = []
        for message in messages:
            error = message.error()
            if error is None:
                batch.append(message)
            elif error.code() == KafkaError._PARTITION_EOF:
                continue
            elif error.fatal():
                raise KafkaException(error)
            else:
                # Transient broker/transport errors: librdkafka reconnects by itself.
                logger.warning("Kafka: %s", error.str())
        return batch

    def _process_with_retries(self, batch) -> bool:
        """Ingest the batch, retrying while the database is unreachable. False after too many failures in a row
        (the process exits non-zero and its supervisor restarts it; the uncommitted batch is read again). Any other
        error is one message's: it is dead-lettered and the rest goes on (ingest_batch_isolating)."""
        raw = [
            RawMessage(
                value=m.value(), topic=m.topic(), partition=m.partition(), offset=m.offset(), key=m.key(),
                timestamp_ms=m.timestamp()[1] if m.timestamp()[0] else None,
            )
            for m in batch
        ]
        for attempt in range(1, self.max_consecutive_errors + 1):
            close_old_connections()
            try:
                result = ingest_batch_isolating(raw)
                break
            except TRANSIENT_ERRORS as exc:
                if self._stopping and attempt > 3:
                    return False
                delay = min(0.5 * 2 ** (attempt - 1), 10)
                logger.warning("Database unavailable (%s); retrying the batch in %.1fs", exc.__class__.__name__, delay)
                time.sleep(delay)
        else:
            logger.error("Giving up after %d consecutive database errors", self.max_consecutive_errors)
            return False
        queue.enqueue_delivery_batches(result.delivery_batches)
        queue.enqueue_message_planning(result.plans_by_partner)
        self.stats.consumed += len(batch)
        self.stats.events += result.events_created
        self.stats.duplicates += result.duplicates
        self.stats.dead_letters += result.dead_lettered
        self.stats.deliveries += result.delivery_count
        self.stats.batches += 1
        return True

    def _commit(self, consumer, batch) -> None:
        """Commit the batch's offsets without waiting for the broker's answer: a synchronous commit held the next
        batch back for a round trip (docs/benchmarks.md, "Issue 20"). Commits are cumulative, so one that fails is
        made good by the next; the last ones are confirmed synchronously when partitions are revoked and on stop
        (_commit_processed). A commit lost in a crash re-reads batches that eventId uniqueness absorbs."""
        for m in batch:
            key = (m.topic(), m.partition())
            self._processed[key] = max(self._processed.get(key, -1), m.offset() + 1)
        offsets = {key: self._processed[key] for key in {(m.topic(), m.partition()) for m in batch}}
        try:
            consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=True)
            self._committed.update(offsets)
        except KafkaException as exc:  # not even queued (no coordinator yet): the next commit carries it
            logger.warning("Offset commit not sent (%s); the next batch's commit carries it", exc)

    def _commit_processed(self, consumer, partitions: list[TopicPartition] | None = None) -> None:
        """Confirm synchronously the offsets processed on `partitions` (default: all), so the next owner of a
        partition starts after them."""
        keys = {(tp.topic, tp.partition) for tp in partitions} if partitions is not None else set(self._processed)
        tps = [TopicPartition(t, p, o) for (t, p), o in self._processed.items() if (t, p) in keys]
        if not tps:
            return
        for attempt in range(5):
            try:
                consumer.commit(offsets=tps, asynchronous=False)
                return
            except KafkaException as exc:
                # After a rebalance the partition may be someone else's now; they re-read, eventId absorbs it.
                logger.warning("Offset commit failed (%s), attempt %d", exc, attempt + 1)
                time.sleep(0.2 * (attempt + 1))

    @staticmethod
    def _on_commit(error, partitions) -> None:
        if error is not None:
            logger.warning("Offset commit failed (%s); the next commit carries its offsets", error)

    def _on_assign(self, consumer, partitions) -> None:
        self._assigned = list(partitions)
        self._committed = {}  # another bridge may have committed these partitions meanwhile
        logger.info("Assigned partitions: %s", sorted(p.partition for p in partitions))

    def _on_revoke(self, consumer, partitions) -> None:
        logger.info("Revoked partitions: %s", sorted(p.partition for p in partitions))
        self._commit_processed(consumer, partitions)
        self._assigned = []
        for tp in partitions:
            self._processed.pop((tp.topic, tp.partition), None)

    def consumer_lag(self, consumer) -> dict[str, int]:
        """Messages behind the end, per assigned partition. From what the client already knows (the high
        watermark of the last fetch, the offsets this bridge committed) where it can: asking the broker costs two
        round trips per partition, which stalled consumption for a moment every report (docs/profiles/)."""
        lag: dict[str, int] = {}
        for tp in self._assigned:
            key = (tp.topic, tp.partition)
            try:
                low, high = consumer.get_watermark_offsets(tp, cached=True)
                if high < 0:  # nothing fetched from this partition yet
                    low, high = consumer.get_watermark_offsets(tp, timeout=1.0, cached=False)
                if key not in self._committed:
                    self._committed[key] = consumer.committed([tp], timeout=1.0)[0].offset
            except KafkaException:
                continue
            committed = self._committed[key]
            position = committed if committed >= 0 else low
            lag[f"{tp.topic}:{tp.partition}"] = max(high - position, 0)
        return lag

    def _report(self, consumer) -> None:
        now = time.monotonic()
        if now - self._last_report < self.report_interval:
            return
        elapsed = now - self.stats.started
        lag = self.consumer_lag(consumer)
        details = {
            "group": self.group_id,
            "topic": self.topic,
            "lag": lag,
            "total_lag": sum(lag.values()),
            "consumed": self.stats.consumed,
            "events": self.stats.events,
            "duplicates": self.stats.duplicates,
            "dead_letters": self.stats.dead_letters,
            "rate_per_second": round(self.stats.consumed / elapsed, 1) if elapsed else 0.0,
        }
        logger.info(
            "Bridge %s: %d consumed (%.1f/s), %d events, %d duplicates, %d dead letters, lag %d",
            self.name, self.stats.consumed, details["rate_per_second"], self.stats.events, self.stats.duplicates,
            self.stats.dead_letters, details["total_lag"],
        )
        try:
            close_old_connections()
            ServiceHeartbeat.objects.update_or_create(
                name=f"bridge:{self.name}", defaults={"last_seen_at": timezone.now(), "details": details}
            )
        except DatabaseError:
            logger.warning("Could not write the bridge heartbeat", exc_info=True)
        self._last_report = now
