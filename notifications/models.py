import uuid

from django.db import models
from django.utils import timezone

from subscriptions.models import EventSubscription, Partner


class Event(models.Model):
    """One event from the topic (or the outbox). eventId is unique: a repeated message creates nothing."""

    class EventType(models.TextChoices):
        INSTANT = "INSTANT"
        ADVANCE = "ADVANCE"

    # Every index costs each of the thousands of inserts a second (docs/profiles/): no LIKE index for event_id
    # (a constraint, not unique=True), none for event_name or partner alone (the composite indexes cover them).
    event_id = models.CharField(max_length=128)
    event_name = models.CharField(max_length=64)
    event_type = models.CharField(max_length=8, choices=EventType.choices)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="events", db_index=False)
    occurred_at = models.DateTimeField()
    entity_id = models.CharField(max_length=128, blank=True, default="")
    sequence = models.PositiveIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict)
    # The exact webhook body, serialised once: every attempt signs and sends the same bytes.
    body = models.TextField()
    # The card-number guard's verdict on `body`, taken once at ingest (the body never changes); NULL for events
    # written otherwise, which the sender checks itself.
    holds_card_number = models.BooleanField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    source_topic = models.CharField(max_length=255, blank=True, default="")
    source_partition = models.IntegerField(null=True, blank=True)
    source_offset = models.BigIntegerField(null=True, blank=True)
    source_timestamp = models.DateTimeField(null=True, blank=True, help_text="Kafka message timestamp")

    class Meta:
        ordering = ["-received_at", "-id"]
        # Event ids are scoped to the tenant (DESIGN.md): two partners may use the same id.
        constraints = [models.UniqueConstraint(fields=["partner", "event_id"], name="uniq_event_per_tenant")]
        indexes = [
            models.Index(fields=["partner", "-received_at"]),
            models.Index(fields=["partner", "event_name"]),
            # The portal's delivery log and the API's events list filter by entity; events without one stay out.
            models.Index(
                fields=["partner", "entity_id"], name="event_partner_entity_idx", condition=~models.Q(entity_id="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} {self.event_id}"


class UnplannedEvent(models.Model):
    """A customer-facing event whose messages the messaging worker has not planned yet: written by ingest with the
    event, deleted by the planning that takes it (so exactly one planning does). The re-enqueue sweep finds lost
    planning tasks here.

    A table of its own, not a flag on the event: flipping a flag rewrote the whole event row (its body included)
    and every one of its index entries, about as much PostgreSQL work as the event's four message rows
    (docs/profiles/README.md, "Issue 20: planning customer messages"); this row is small and only ever deleted."""

    event = models.OneToOneField(Event, on_delete=models.CASCADE, primary_key=True, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+", db_index=False)
    received_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"messages of event {self.event_id} not planned yet"


class EntitySequence(models.Model):
    """The last sequence number given to events about one entity of one tenant."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+", db_index=False)  # uniq leads
    entity_id = models.CharField(max_length=128)
    last_sequence = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "entity_id"], name="uniq_entity_sequence")]

    def __str__(self) -> str:
        return f"{self.entity_id}#{self.last_sequence}"


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"  # waiting for its next attempt (next_attempt_at)
    SENDING = "SENDING", "Sending"  # claimed by a worker until lease_expires_at
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"  # retries exhausted or permanently refused
    CANCELLED = "CANCELLED", "Cancelled"  # subscription deleted before delivery


class WebhookDelivery(models.Model):
    """The outbox row for one event to one subscription."""

    # No index of their own: the unique (event, subscription) and the (partner|subscription, status) indexes lead
    # with these columns, and each index is written by every insert and outcome.
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    subscription = models.ForeignKey(
        EventSubscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries", db_index=False
    )
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    # Attempts made before the last manual replay: a replay gets a fresh retry budget.
    attempts_before_replay = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "subscription"], name="uniq_delivery_per_event_subscription"),
        ]
        indexes = [
            # The claim and re-enqueue queries: open work ordered by due time.
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_open_due_idx",
                condition=models.Q(status__in=["PENDING", "SENDING"]),
            ),
            # The portal's delivery log: newest first per partner, keyset-paginated on (created_at, id), with or
            # without a status filter (the second one also serves every (partner, status) query).
            models.Index(fields=["partner", "-created_at", "-id"], name="delivery_partner_log_idx"),
            models.Index(fields=["partner", "status", "-created_at", "-id"], name="delivery_partner_status_idx"),
            models.Index(fields=["subscription", "status"]),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class DeliveryAttempt(models.Model):
    """One HTTP attempt of a delivery, successful or not."""

    # No database constraint (Django still cascades deletes): an attempt row is written only by the statement that
    # records its delivery's outcome. PostgreSQL plans a constraint's per-row check once per connection and keeps
    # the plan; made while the deliveries table was small, it was a sequential scan of the whole table for every
    # attempt as the table grew (docs/profiles/). Indexed by uniq_attempt_number, which leads with it.
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempts", db_index=False, db_constraint=False
    )
    attempt_number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="", help_text="First 2 KB of the response body")
    error_class = models.CharField(max_length=100, blank=True, default="")
    error_message = models.CharField(max_length=500, blank=True, default="")
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery_id", "attempt_number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "attempt_number"], name="uniq_attempt_number"),
        ]
        indexes = [models.Index(fields=["started_at"])]

    def __str__(self) -> str:
        return f"attempt {self.attempt_number} of delivery {self.delivery_id}: {self.status_code or self.error_class}"


class DeadLetter(models.Model):
    """A Kafka message that could not be ingested, kept whole with the reason."""

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        REDRIVEN = "REDRIVEN", "Re-driven"
        DISCARDED = "DISCARDED", "Discarded"

    topic = models.CharField(max_length=255)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    key = models.BinaryField(null=True, blank=True)
    raw_value = models.BinaryField()
    # A corrected payload entered by support; re-driving ingests it instead of raw_value (which stays as evidence).
    fixed_value = models.BinaryField(null=True, blank=True)
    reason_code = models.CharField(max_length=40)
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    redriven_at = models.DateTimeField(null=True, blank=True)
    redriven_event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "partition", "offset"], name="uniq_dead_letter_position"),
        ]

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}: {self.reason_code}"


class OutboxMessage(models.Model):
    """An event produced by this service (wallet changes, sweeps), written with the business change and
    published to Kafka after commit (transactional outbox)."""

    event_id = models.CharField(max_length=128, unique=True)
    topic = models.CharField(max_length=255)
    key = models.CharField(max_length=128, blank=True, default="")
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["created_at"], name="outbox_unpublished_idx", condition=models.Q(published_at=None)),
        ]

    def __str__(self) -> str:
        return f"outbox {self.event_id} ({'published' if self.published_at else 'pending'})"


class CustomerChannel(models.TextChoices):
    """The channels a cardholder is reached on."""

    SMS = "SMS", "SMS"
    EMAIL = "EMAIL", "Email"
    PUSH = "PUSH", "Push"
    IN_APP = "IN_APP", "In-app inbox"  # stored for the partner's app to show (InboxMessage); nothing leaves


class MessageStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    HELD = "HELD", "Held for quiet hours"
    SENDING = "SENDING", "Sending"
    SENT = "SENT", "Sent"  # the provider accepted it (final for channels without receipts)
    DELIVERED = "DELIVERED", "Delivered"  # the provider's receipt: it reached the handset
    UNDELIVERED = "UNDELIVERED", "Undelivered"  # the provider's receipt: it did not arrive (provider_error_code)
    FAILED = "FAILED", "Failed"
    SKIPPED = "SKIPPED", "Skipped"  # opted out, no contact data, no template, channel off: see skip_reason


# A provider's receipt: what it can say about a message after accepting it.
RECEIPT_STATUSES = (MessageStatus.DELIVERED, MessageStatus.UNDELIVERED)


class CustomerMessage(models.Model):
    """One customer notification on one channel for one event."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="messages")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    # The nullable references are indexed only where they are set (Meta.indexes): most rows of a batch have no
    # fallback_of, a skipped row no template, an unknown cardholder's rows no cardholder, and every NULL entry cost
    # each planned row an index insert.
    cardholder = models.ForeignKey(
        "wallets.Cardholder", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages",
        db_index=False,
    )
    channel = models.CharField(max_length=8, choices=CustomerChannel.choices)
    # The product the event was routed for (sender name and reply-to of its emails); NULL for old rows.
    product = models.ForeignKey(
        "wallets.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    recipient = models.CharField(
        max_length=500, blank=True, default="", help_text="Phone, email, push token or (in-app) the customerId"
    )
    locale = models.CharField(max_length=16, blank=True, default="")
    # The partner's template, chosen at ingest; rendered by the worker just before the first send (rendered_at).
    template = models.ForeignKey(
        "templates.NotificationTemplate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    subject = models.CharField(max_length=300, blank=True, default="")
    body = models.TextField(blank=True, default="")
    html_body = models.TextField(blank=True, default="", help_text="Email only: the HTML alternative")
    rendered_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    skip_reason = models.CharField(max_length=200, blank=True, default="")
    provider_message_id = models.CharField(max_length=200, blank=True, default="")
    # The provider's own error code (Twilio 30005, SMTP 550, FCM UNREGISTERED) of the failure or receipt.
    provider_error_code = models.CharField(max_length=40, blank=True, default="")
    # The provider's receipt as it arrived (DELIVERED / UNDELIVERED), kept apart from `status`: a receipt may arrive
    # before the worker recorded SENT, and the worker's write then takes it as the status (messaging/sql.py).
    receipt_status = models.CharField(max_length=12, blank=True, default="")
    receipt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    fallback_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    db_index=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the message reached its current outcome (sent, failed, or the provider's receipt).
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Receipts find their message by the provider's id.
            models.Index(fields=["provider_message_id"], name="message_provider_id_idx",
                         condition=~models.Q(provider_message_id="")),
            models.Index(
                fields=["next_attempt_at"],
                name="message_open_due_idx",
                condition=models.Q(status__in=["PENDING", "HELD", "SENDING"]),
            ),
            models.Index(fields=["cardholder"], name="message_cardholder_idx",
                         condition=models.Q(cardholder__isnull=False)),
            models.Index(fields=["template"], name="message_template_idx", condition=models.Q(template__isnull=False)),
            models.Index(fields=["fallback_of"], name="message_fallback_of_idx",
                         condition=models.Q(fallback_of__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.channel} message {self.pk} ({self.status})"


class InboxMessage(models.Model):
    """One notification in a cardholder's in-app inbox: what the IN_APP channel "sends" (stores), and what the
    partner's app lists, counts and marks read through the partner API. It outlives its CustomerMessage (history
    pruning keeps the inbox)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+", db_index=False)
    cardholder = models.ForeignKey("wallets.Cardholder", on_delete=models.CASCADE, related_name="inbox",
                                   db_index=False)  # the (cardholder, -id) index leads with it
    # One inbox entry per message, however often an at-least-once send stores it.
    message = models.OneToOneField(CustomerMessage, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="inbox_entry")
    event_id = models.CharField(max_length=128)
    event_name = models.CharField(max_length=64)
    category = models.CharField(max_length=40)
    title = models.CharField(max_length=300, blank=True, default="")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["cardholder", "-id"], name="inbox_cardholder_idx"),
            models.Index(fields=["cardholder"], name="inbox_unread_idx", condition=models.Q(read_at=None)),
        ]

    def __str__(self) -> str:
        return f"inbox {self.pk} {self.event_name} ({'read' if self.read_at else 'unread'})"


class AdvanceNotice(models.Model):
    """One advance (or on-the-day) notice per card, event, period and target date: the unique constraint is
    what makes the daily sweep exactly-once, even when two sweeps run at once."""

    card = models.ForeignKey("wallets.Card", on_delete=models.CASCADE, related_name="advance_notices")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    event_name = models.CharField(max_length=64)
    days_before = models.PositiveIntegerField()
    target_date = models.DateField(help_text="Expiry or inactivation date the notice is about")
    due_date = models.DateField(help_text="target_date - days_before")
    sent_on = models.DateField(help_text="Sweep date that sent it")
    late = models.BooleanField(default=False)
    event_id = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["card", "event_name", "days_before", "target_date"], name="uniq_advance_notice"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} -{self.days_before}d for card {self.card_id} ({self.target_date})"


class ServiceHeartbeat(models.Model):
    """Last sign of life of a background process (worker, beat, bridge), for /readyz and `status`."""

    name = models.CharField(max_length=100, unique=True)
    last_seen_at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen_at:%H:%M:%S}"


def new_claim_token() -> uuid.UUID:
    return uuid.uuid4()


class RecoverJob(models.Model):
    """A partner's request to re-send the failed deliveries of one subscription in a time window (`POST
    …/event-subscriptions/{eventName}/recover`), run in the background with its progress recorded here."""

    class State(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        RUNNING = "RUNNING", "Running"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)

    subscription = models.ForeignKey(EventSubscription, on_delete=models.CASCADE, related_name="recover_jobs")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField()
    until = models.DateTimeField()
    until_given = models.BooleanField(default=True)  # False: `until` was "now" (a repeat request matches any now)
    delivery_status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.FAILED)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    matched = models.PositiveIntegerField(default=0)  # deliveries in the window with the status asked for
    processed = models.PositiveIntegerField(default=0)  # of those, how many the job has gone through so far
    replayed = models.PositiveIntegerField(default=0)  # how many were sent again (one may have changed meanwhile)
    error = models.CharField(max_length=500, blank=True, default="")
    requested_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One job at a time per subscription: a second request while one is queued or running is answered with
            # that job (same window) or 409, and this settles a race between two concurrent requests.
            models.UniqueConstraint(
                fields=["subscription"], name="one_active_recover_job_per_subscription",
                condition=models.Q(state__in=["QUEUED", "RUNNING"]),
            ),
        ]

    def __str__(self) -> str:
        return f"recover job {self.pk} ({self.state})"


class EventBody(models.Model):
    """An event's webhook body in a format other than `standard` (DESIGN.md "Subscription options"), rendered once
    when ingest saw a subscription wanting it (or by the first delivery that needed it) and sent as stored by every
    attempt. The standard body stays on the event."""

    # One index, the primary key: each row is written with its event at ingest, on the hot path.
    pk = models.CompositePrimaryKey("event_id", "payload_format")
    # No database constraint, as for DeliveryAttempt: written only beside its event; Django still cascades deletes.
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="bodies", db_index=False,
                              db_constraint=False)
    payload_format = models.CharField(max_length=16)
    body = models.TextField()
    holds_card_number = models.BooleanField()

    def __str__(self) -> str:
        return f"{self.payload_format} body of event {self.event_id}"


class TransactionCompletion(models.Model):
    """Seed 004's once-only rule: what the platform knows of one transaction of one tenant (keyed by the
    transactionId in the events' data). The unique row is the decision: whichever ingest marks it completed first
    sends TRANSACTION_COMPLETED; any later completion becomes TRANSACTION_STATUS_CHANGED with the old and new status
    (notifications/ingest/completions.py)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+", db_index=False)  # uniq leads
    transaction_id = models.CharField(max_length=128)
    status = models.CharField(max_length=64, blank=True, default="", help_text="The last status seen")
    completed = models.BooleanField(default=False)
    completed_event_id = models.CharField(max_length=128, blank=True, default="",
                                          help_text="eventId of the one TRANSACTION_COMPLETED sent")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "transaction_id"], name="uniq_transaction_completion"),
        ]

    def __str__(self) -> str:
        completed = ", completed" if self.completed else ""
        return f"transaction {self.transaction_id} ({self.status or 'unknown'}{completed})"


class RewrittenEvent(models.Model):
    """An event stored with another name or data than its message carried (a repeated TRANSACTION_COMPLETED becomes
    TRANSACTION_STATUS_CHANGED), with the message as received: a redelivery of that message is then recognised as a
    repeat of this event rather than as a reused eventId."""

    event = models.OneToOneField(Event, on_delete=models.CASCADE, primary_key=True, related_name="rewrite")
    received_name = models.CharField(max_length=64)
    received_data = models.JSONField()
    reason = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.received_name} stored as another event ({self.reason})"
