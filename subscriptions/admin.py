"""Support-staff admin for partners, API tokens, event subscriptions and the audit log.

Every write goes through `subscriptions.services` (so it is validated and audited with channel ADMIN, as the
partner API's writes are). Signing secrets are never shown; raw API tokens are shown once, when issued."""

from django import forms
from django.contrib import admin, messages
from django.contrib.postgres.forms import SimpleArrayField
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from subscriptions.catalog import SUBSCRIBABLE_EVENT_NAMES
from subscriptions.destinations import MAX_URL_LENGTH, validate_destination_url
from subscriptions.models import ApiToken, AuditChannel, AuditEntry, EventSubscription, Partner, PayloadFormat
from subscriptions.options import auth_summary, validate_rate_limit
from subscriptions.services.partners import partner_create, partner_update, validate_tenant_id
from subscriptions.services.secrets import subscription_secret_rotate
from subscriptions.services.subscriptions import (
    DeliveryOptions,
    subscription_create,
    subscription_delete,
    subscription_update,
)
from subscriptions.services.tokens import token_issue, token_revoke
from subscriptions.validators import (
    normalize_advance_periods,
    validate_max_retries,
    validate_retry_interval_seconds,
)

ADMIN = AuditChannel.ADMIN


def _actor(request: HttpRequest) -> str:
    return request.user.get_username()


# --- partners -----------------------------------------------------------------------------------------------------


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("prefix", "name", "level", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        # Tokens are issued from the API token page, which shows the raw token once.
        return False


class PartnerForm(forms.ModelForm):
    class Meta:
        model = Partner
        fields = ("tenant_id", "name", "is_active")

    def clean_tenant_id(self) -> str:
        tenant_id = self.cleaned_data["tenant_id"]
        validate_tenant_id(tenant_id)
        if Partner.objects.filter(tenant_id__iexact=tenant_id).exclude(pk=self.instance.pk).exists():
            raise ValidationError("A partner with this tenant id already exists.")
        return tenant_id


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    form = PartnerForm
    list_display = ("tenant_id", "name", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("tenant_id", "name")
    inlines = [ApiTokenInline]

    def get_readonly_fields(self, request, obj=None):
        # The tenant id is in every partner's requests and messages: it never changes.
        return ("tenant_id", "created_at") if obj else ("created_at",)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting would cascade to tokens and subscriptions and is blocked by events: deactivate instead.
        return False

    def save_model(self, request, obj: Partner, form, change: bool) -> None:
        if change:
            fresh = Partner.objects.get(pk=obj.pk)
            partner_update(
                partner=fresh, name=obj.name, is_active=obj.is_active, channel=ADMIN, actor=_actor(request)
            )
            return
        partner = partner_create(
            tenant_id=obj.tenant_id, name=obj.name, channel=ADMIN, actor=_actor(request)
        )
        if not obj.is_active:
            partner_update(partner=partner, is_active=False, channel=ADMIN, actor=_actor(request))
        obj.pk, obj.created_at = partner.pk, partner.created_at


# --- API tokens ---------------------------------------------------------------------------------------------------


class ApiTokenAddForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("partner", "name", "level")


class RevokedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("active", "Active"), ("revoked", "Revoked"))

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "partner", "name", "level", "created_at", "last_used_at", "revoked_at")
    list_filter = (RevokedFilter, "level", "partner")
    search_fields = ("prefix", "name", "partner__tenant_id", "partner__name")
    list_select_related = ("partner",)
    actions = ["revoke_tokens"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("partner", "name", "level")
        return ("partner", "prefix", "name", "level", "created_at", "last_used_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        # An issued token is immutable (revoke it and issue another); the hash is never shown.
        return self.get_fields(request, obj) if obj else ()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: ApiToken, form, change: bool) -> None:
        if change:
            return
        token, raw = token_issue(
            partner=obj.partner, name=obj.name, level=obj.level, channel=ADMIN, actor=_actor(request)
        )
        obj.pk, obj.prefix, obj.token_hash, obj.created_at = token.pk, token.prefix, token.token_hash, token.created_at
        messages.warning(
            request,
            f"New API token for {token.partner.tenant_id} (level {token.level}): {raw} — copy it now, it is not "
            "stored and will not be shown again.",
        )

    @admin.action(description="Revoke selected tokens")
    def revoke_tokens(self, request, queryset: QuerySet[ApiToken]) -> None:
        count = 0
        for token in queryset.select_related("partner").filter(revoked_at__isnull=True):
            token_revoke(token=token, channel=ADMIN, actor=_actor(request))
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


# --- event subscriptions ------------------------------------------------------------------------------------------


class EventSubscriptionForm(forms.ModelForm):
    event_name = forms.ChoiceField(choices=[(n, n) for n in SUBSCRIBABLE_EVENT_NAMES])
    destination = forms.CharField(max_length=MAX_URL_LENGTH, widget=forms.TextInput(attrs={"size": 80}))
    advance_notification_periods = SimpleArrayField(
        forms.IntegerField(), required=False, help_text="Days before, comma separated (ADVANCE events only)."
    )
    # Not required: left out (or blank), a new subscription gets `standard` and an existing one keeps its format.
    payload_format = forms.ChoiceField(
        choices=[("", "---------"), *PayloadFormat.choices], required=False, initial=PayloadFormat.STANDARD,
        help_text="The body shape of the webhooks; the signature is the same for all.",
    )

    class Meta:
        model = EventSubscription
        fields = (
            "partner",
            "event_name",
            "is_enabled",
            "destination",
            "max_retries",
            "retry_interval_seconds",
            "advance_notification_periods",
            "rate_limit_per_second",
            "payload_format",
        )

    def _run(self, field: str, validator, value) -> None:
        try:
            validator(value)
        except ValidationError as exc:
            self.add_error(field, exc)

    def clean(self):
        cleaned = super().clean()
        event_name = cleaned.get("event_name") or self.instance.event_name
        if cleaned.get("destination"):
            self._run("destination", validate_destination_url, cleaned["destination"])
        if cleaned.get("max_retries") is not None:
            self._run("max_retries", validate_max_retries, cleaned["max_retries"])
        if cleaned.get("retry_interval_seconds") is not None:
            self._run("retry_interval_seconds", validate_retry_interval_seconds, cleaned["retry_interval_seconds"])
        if cleaned.get("rate_limit_per_second") is not None:
            self._run("rate_limit_per_second", validate_rate_limit, cleaned["rate_limit_per_second"])
        if event_name and "advance_notification_periods" in cleaned:
            try:
                cleaned["advance_notification_periods"] = normalize_advance_periods(
                    event_name=event_name, periods=cleaned["advance_notification_periods"]
                )
            except ValidationError as exc:
                self.add_error("advance_notification_periods", exc)
        partner = cleaned.get("partner")
        if (
            self.instance.pk is None
            and partner
            and event_name
            and EventSubscription.objects.filter(partner=partner, event_name=event_name).exists()
        ):
            self.add_error("event_name", f"{partner.tenant_id} already has a subscription for {event_name}.")
        return cleaned


class DisabledFilter(admin.SimpleListFilter):
    title = "delivery state"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return (("failing", "Failing"), ("disabled", "Disabled"), ("healthy", "Enabled and not failing"))

    def queryset(self, request, queryset):
        if self.value() == "failing":
            return queryset.filter(failing_since__isnull=False)
        if self.value() == "disabled":
            return queryset.filter(is_enabled=False)
        if self.value() == "healthy":
            return queryset.filter(is_enabled=True, failing_since__isnull=True)
        return queryset


@admin.register(EventSubscription)
class EventSubscriptionAdmin(admin.ModelAdmin):
    form = EventSubscriptionForm
    list_display = ("partner", "event_name", "destination", "payload_format", "is_enabled", "disabled_reason",
                    "updated_at")
    list_filter = ("is_enabled", DisabledFilter, "payload_format", "event_name", "partner")
    search_fields = ("partner__tenant_id", "event_name", "destination")
    list_select_related = ("partner",)
    actions = ["enable_subscriptions", "disable_subscriptions", "rotate_secrets"]
    # The signing secrets and the auth secret (encrypted columns) are deliberately absent from every admin page;
    # custom header values are masked (they may be the partner's credentials). Partners change these options through
    # the API; support staff see them, and may change the rate limit.
    readonly_fields = (
        "disabled_reason",
        "disabled_at",
        "failing_since",
        "previous_secret_expires_at",
        "signature_scheme",
        "public_key",
        "custom_headers",
        "endpoint_auth",
        "created_at",
        "updated_at",
    )

    @admin.display(description="Public key (ed25519)")
    def public_key(self, obj: EventSubscription) -> str:
        return (obj.public_key or "—") if obj.pk else "—"

    @admin.display(description="Custom headers")
    def custom_headers(self, obj: EventSubscription) -> str:
        return ", ".join(f"{name}: ••••" for name in sorted(obj.headers or {})) or "—"

    @admin.display(description="Endpoint authentication")
    def endpoint_auth(self, obj: EventSubscription) -> str:
        summary = auth_summary(obj.auth_type, obj.auth_config or {})
        if summary is None:
            return "—"
        details = ", ".join(f"{k}: {v}" for k, v in summary.items() if k != "type")
        return f"{obj.get_auth_type_display()} ({details}; secret ••••)"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return ("partner", "event_name", *self.readonly_fields)

    def save_model(self, request, obj: EventSubscription, form, change: bool) -> None:
        data = form.cleaned_data
        if change:
            subscription_update(
                subscription=obj,
                is_enabled=data["is_enabled"],
                destination=data["destination"],
                max_retries=data["max_retries"],
                retry_interval_seconds=data["retry_interval_seconds"],
                advance_notification_periods=data.get("advance_notification_periods") or [],
                options=DeliveryOptions(rate_limit_per_second=data.get("rate_limit_per_second")),
                payload_format=data.get("payload_format") or None,
                channel=ADMIN,
                actor=_actor(request),
            )
            obj.refresh_from_db()
            return
        created = subscription_create(
            partner=data["partner"],
            event_name=data["event_name"],
            destination=data["destination"],
            is_enabled=data["is_enabled"],
            max_retries=data["max_retries"],
            retry_interval_seconds=data["retry_interval_seconds"],
            advance_notification_periods=data.get("advance_notification_periods") or [],
            options=DeliveryOptions(rate_limit_per_second=data.get("rate_limit_per_second")),
            payload_format=data.get("payload_format") or None,
            channel=ADMIN,
            actor=_actor(request),
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj: EventSubscription) -> None:
        subscription_delete(subscription=obj, channel=ADMIN, actor=_actor(request))

    def delete_queryset(self, request, queryset: QuerySet[EventSubscription]) -> None:
        for subscription in queryset:
            subscription_delete(subscription=subscription, channel=ADMIN, actor=_actor(request))

    @admin.action(description="Enable selected subscriptions (retries their pending deliveries now)")
    def enable_subscriptions(self, request, queryset: QuerySet[EventSubscription]) -> None:
        for subscription in queryset.filter(is_enabled=False):
            subscription_update(subscription=subscription, is_enabled=True, channel=ADMIN,
                                         actor=_actor(request))
        self.message_user(request, "Enabled the selected subscriptions.", messages.SUCCESS)

    @admin.action(description="Disable selected subscriptions")
    def disable_subscriptions(self, request, queryset: QuerySet[EventSubscription]) -> None:
        for subscription in queryset.filter(is_enabled=True):
            subscription_update(subscription=subscription, is_enabled=False, channel=ADMIN,
                                         actor=_actor(request))
        self.message_user(request, "Disabled the selected subscriptions.", messages.SUCCESS)

    @admin.action(description="Rotate signing secrets (old secret keeps signing for the overlap period)")
    def rotate_secrets(self, request, queryset: QuerySet[EventSubscription]) -> None:
        count = 0
        for subscription in queryset:
            subscription_secret_rotate(subscription=subscription, channel=ADMIN, actor=_actor(request))
            count += 1
        self.message_user(
            request,
            f"Rotated {count} signing secret(s). Partners read the new secret with GET …/{{eventName}}/secret.",
            messages.SUCCESS,
        )


# --- audit log ----------------------------------------------------------------------------------------------------


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "channel", "actor", "partner", "action", "object_type", "object_id")
    list_filter = ("channel", "action", "object_type", "partner")
    search_fields = ("actor", "action", "object_id", "partner__tenant_id")
    date_hierarchy = "created_at"
    list_select_related = ("partner",)
    readonly_fields = ("created_at", "channel", "actor", "partner", "action", "object_type", "object_id",
                       "before", "after")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
