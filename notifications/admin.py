"""Admin for the pipeline: events with their deliveries and messages, deliveries with attempts, dead letters.

Actions call the same services as the partner API and the ops commands."""

import json

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html

from notifications import services
from notifications.models import (
    AdvanceNotice,
    CustomerMessage,
    DeadLetter,
    DeliveryAttempt,
    Event,
    OutboxMessage,
    RewrittenEvent,
    ServiceHeartbeat,
    TransactionCompletion,
    WebhookDelivery,
)
from subscriptions.models import AuditChannel


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveryInline(ReadOnlyMixin, admin.TabularInline):
    model = WebhookDelivery
    fields = ("link", "subscription", "status", "attempt_count", "last_status_code", "last_error", "next_attempt_at")
    readonly_fields = fields
    extra = 0

    @admin.display(description="delivery")
    def link(self, obj):
        url = reverse("admin:notifications_webhookdelivery_change", args=[obj.pk])
        return format_html('<a href="{}">#{}</a>', url, obj.pk)


class MessageInline(ReadOnlyMixin, admin.TabularInline):
    model = CustomerMessage
    fields = ("channel", "status", "finished_at", "skip_reason", "recipient", "provider_message_id",
              "provider_error_code", "last_error", "attempt_count")
    readonly_fields = fields
    extra = 0


@admin.register(Event)
class EventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("event_id", "event_name", "partner", "entity_id", "sequence", "occurred_at", "received_at")
    list_filter = ("event_name", "event_type", "partner")
    search_fields = ("event_id", "entity_id", "data__kitNo")
    date_hierarchy = "received_at"
    list_select_related = ("partner",)
    readonly_fields = ("event_id", "event_name", "event_type", "partner", "occurred_at", "entity_id", "sequence",
                       "pretty_data", "received_as", "received_at", "source_topic", "source_partition",
                       "source_offset")
    exclude = ("data", "body", "source_timestamp")
    inlines = [DeliveryInline, MessageInline]
    show_full_result_count = False

    @admin.display(description="data")
    def pretty_data(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2, ensure_ascii=False))

    @admin.display(description="received as")
    def received_as(self, obj):
        """The message's own name when the platform delivered it as another event (seed 004's once-only rule)."""
        rewrite = RewrittenEvent.objects.filter(event=obj).first()
        if rewrite is None:
            return "-"
        return f"{rewrite.received_name} ({rewrite.reason})"


class AttemptInline(ReadOnlyMixin, admin.TabularInline):
    model = DeliveryAttempt
    fields = ("attempt_number", "started_at", "duration_ms", "status_code", "error_class", "error_message",
              "response_body")
    readonly_fields = fields
    extra = 0


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "event_link", "partner", "subscription", "status", "attempt_count", "last_status_code",
                    "next_attempt_at", "created_at")
    list_filter = ("status", "partner", "subscription__event_name", "last_status_code")
    search_fields = ("=id", "event__event_id", "subscription__destination")
    list_select_related = ("event", "partner", "subscription")
    date_hierarchy = "created_at"
    readonly_fields = ("event", "subscription", "partner", "status", "attempt_count", "next_attempt_at",
                       "lease_expires_at", "last_status_code", "last_error", "created_at", "completed_at")
    exclude = ("claim_token", "attempts_before_replay")
    inlines = [AttemptInline]
    actions = ["retry_now"]
    show_full_result_count = False

    @admin.display(description="event")
    def event_link(self, obj):
        url = reverse("admin:notifications_event_change", args=[obj.event_id])
        return format_html('<a href="{}">{}</a>', url, obj.event.event_name)

    @admin.action(description="Retry the selected deliveries now")
    def retry_now(self, request, queryset):
        done, refused = 0, []
        for delivery in queryset.select_related("partner"):
            try:
                services.delivery_retry(delivery=delivery, actor=request.user.get_username(),
                                        channel=AuditChannel.ADMIN)
                done += 1
            except services.DeliveryNotRetryable as exc:
                refused.append(f"#{delivery.pk}: {exc}")
        self.message_user(request, f"{done} deliveries queued for retry.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not retried: " + "; ".join(refused[:10]), messages.WARNING)


class FixPayloadForm(forms.Form):
    payload = forms.CharField(widget=forms.Textarea(attrs={"rows": 16, "cols": 100}),
                              help_text="The corrected message as JSON; the original bytes are kept.")

    def clean_payload(self):
        text = self.cleaned_data["payload"]
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        return text


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "created_at", "reason_code", "short_reason", "topic", "partition", "offset", "status",
                    "fix_link")
    list_filter = ("status", "reason_code", "topic")
    search_fields = ("reason",)
    date_hierarchy = "created_at"
    readonly_fields = ("topic", "partition", "offset", "key_text", "raw_text", "fixed_text", "reason_code", "reason",
                       "status", "created_at", "redriven_at", "redriven_event")
    exclude = ("key", "raw_value", "fixed_value")
    actions = ["redrive"]

    @admin.display(description="reason")
    def short_reason(self, obj):
        return obj.reason[:100]

    @admin.display(description="key")
    def key_text(self, obj):
        return bytes(obj.key).decode("utf-8", "replace") if obj.key else ""

    @admin.display(description="raw message")
    def raw_text(self, obj):
        return format_html("<pre>{}</pre>", bytes(obj.raw_value).decode("utf-8", "replace")[:20000])

    @admin.display(description="fixed payload")
    def fixed_text(self, obj):
        return format_html("<pre>{}</pre>", bytes(obj.fixed_value).decode() if obj.fixed_value else "—")

    @admin.display(description="")
    def fix_link(self, obj):
        if obj.status != DeadLetter.Status.OPEN:
            return ""
        return format_html('<a href="{}">fix…</a>', reverse("admin:notifications_deadletter_fix", args=[obj.pk]))

    def get_urls(self):
        return [
            path("<int:pk>/fix/", self.admin_site.admin_view(self.fix_view), name="notifications_deadletter_fix"),
            *super().get_urls(),
        ]

    def fix_view(self, request, pk: int):
        if not request.user.has_perm("notifications.view_deadletter"):
            return redirect("admin:index")
        dead_letter = DeadLetter.objects.get(pk=pk)
        raw = bytes(dead_letter.fixed_value or dead_letter.raw_value).decode("utf-8", "replace")
        form = FixPayloadForm(request.POST or None, initial={"payload": raw})
        if request.method == "POST" and form.is_valid():
            services.dead_letter_fix(dead_letter=dead_letter, payload=form.cleaned_data["payload"].encode(),
                                     actor=request.user.get_username())
            result = services.dead_letter_redrive(dead_letter=dead_letter)
            if result.ok:
                self.message_user(request, f"Re-driven as event {result.event_id}.", messages.SUCCESS)
                return redirect("admin:notifications_deadletter_changelist")
            form.add_error("payload", f"Still not ingestible: {result.reason}")
        context = {**self.admin_site.each_context(request), "form": form, "dead_letter": dead_letter,
                   "title": f"Fix dead letter #{dead_letter.pk}", "opts": self.model._meta}
        return render(request, "admin/notifications/deadletter/fix.html", context)

    @admin.action(description="Re-drive the selected dead letters (ingest them again)")
    def redrive(self, request, queryset):
        results = [services.dead_letter_redrive(dead_letter=d) for d in queryset]
        ok = [r for r in results if r.ok]
        self.message_user(request, f"{len(ok)} re-driven.", messages.SUCCESS)
        failed = [r for r in results if not r.ok]
        if failed:
            self.message_user(request, "Still failing: " + "; ".join(f"#{r.dead_letter_id}: {r.reason}"
                                                                   for r in failed[:10]), messages.WARNING)


@admin.register(CustomerMessage)
class CustomerMessageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "event", "channel", "status", "provider_error_code", "skip_reason", "attempt_count",
                    "created_at", "sent_at", "finished_at")
    list_filter = ("channel", "status", "partner")
    search_fields = ("=id", "event__event_id", "provider_message_id")
    list_select_related = ("event",)
    exclude = ("claim_token",)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("event_id", "topic", "key", "created_at", "published_at", "publish_attempts", "last_error")
    list_filter = (("published_at", admin.EmptyFieldListFilter),)
    search_fields = ("event_id", "key")


@admin.register(AdvanceNotice)
class AdvanceNoticeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("card", "event_name", "days_before", "target_date", "due_date", "sent_on", "late")
    list_filter = ("event_name", "days_before", "late")
    search_fields = ("card__kit_no", "event_id")


@admin.register(ServiceHeartbeat)
class ServiceHeartbeatAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("name", "last_seen_at", "details")


@admin.register(TransactionCompletion)
class TransactionCompletionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Seed 004's once-only rule, per transaction: whether TRANSACTION_COMPLETED was sent (and which eventId) and the
    last status seen; later completions went out as TRANSACTION_STATUS_CHANGED."""

    list_display = ("transaction_id", "partner", "status", "completed", "completed_event_id", "updated_at")
    list_filter = ("completed", "partner")
    search_fields = ("transaction_id", "completed_event_id")
    list_select_related = ("partner",)
