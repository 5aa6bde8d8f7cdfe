"""Admin: the template editor with a live preview, and per-product notification settings (channel matrix,
fallback order, quiet hours). Every save goes through templates.services, which validates and audits."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_POST

from config.partner_api.audit import actor_of_request
from templates.forms import MATRIX_CHANNELS, NotificationTemplateForm, ProductNotificationSettingsForm
from templates.models import NotificationTemplate, ProductNotificationSettings
from templates.rendering import TemplateContentError
from templates.selectors import template_preview, template_variables_describe
from templates.services import (
    TEMPLATE_EDITABLE_FIELDS,
    product_notification_settings_update,
    template_create,
    template_delete,
    template_update,
)


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    form = NotificationTemplateForm
    change_form_template = "admin/templates/notificationtemplate/change_form.html"
    list_display = ("event_name", "channel", "locale", "product", "is_active", "updated_at")
    list_filter = ("channel", "locale", "is_active", ("product", admin.RelatedOnlyFieldListFilter))
    search_fields = ("event_name", "subject", "body", "product__code")
    list_select_related = ("product",)
    raw_id_fields = ("product",)

    class Media:
        js = ("templates/admin/template_preview.js",)
        css = {"all": ("templates/admin/template_preview.css",)}

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("preview/", self.admin_site.admin_view(self.preview_view), name=f"{info[0]}_{info[1]}_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        """POST event_name, subject, body -> the rendered sample, or the error naming field, variable and line."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return _preview_response(request)

    def save_model(self, request, obj, form, change):
        audit_channel, actor = actor_of_request(request)
        data = {f: form.cleaned_data[f] for f in TEMPLATE_EDITABLE_FIELDS if f in form.cleaned_data}
        if change:
            saved = template_update(
                template=NotificationTemplate.objects.get(pk=obj.pk), data=data, audit_channel=audit_channel,
                actor=actor,
            )
        else:
            saved = template_create(**data, audit_channel=audit_channel, actor=actor)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        audit_channel, actor = actor_of_request(request)
        template_delete(template=obj, audit_channel=audit_channel, actor=actor)

    def delete_queryset(self, request, queryset):
        audit_channel, actor = actor_of_request(request)
        for template in queryset.select_related("product"):
            template_delete(template=template, audit_channel=audit_channel, actor=actor)


@require_POST
def _preview_response(request: HttpRequest) -> JsonResponse:
    event_name = request.POST.get("event_name", "")
    variables = template_variables_describe(event_name=event_name)
    if not variables:
        return JsonResponse({"ok": False, "field": "event_name", "error": "Choose a customer-facing event."})
    try:
        rendered, _ = template_preview(
            event_name=event_name, subject=request.POST.get("subject", ""), body=request.POST.get("body", ""),
            html_body=request.POST.get("html_body", ""), channel=request.POST.get("channel", ""),
        )
    except TemplateContentError as exc:
        return JsonResponse({
            "ok": False, "field": exc.field, "error": exc.message, "variable": exc.variable, "line": exc.line,
            "variables": variables,
        })
    return JsonResponse({"ok": True, "subject": rendered.subject, "body": rendered.body, "html_body": rendered.html,
                         "variables": variables})


@admin.register(ProductNotificationSettings)
class ProductNotificationSettingsAdmin(admin.ModelAdmin):
    form = ProductNotificationSettingsForm
    change_form_template = "admin/templates/productnotificationsettings/change_form.html"
    list_display = ("name", "code", "partner", "fallback", "switched_off")
    list_filter = ("partner",)
    search_fields = ("name", "code", "partner__tenant_id")
    list_select_related = ("partner",)
    readonly_fields = ("name", "code", "partner", "default_locale")
    fieldsets = (
        (None, {"fields": ("name", "code", "partner", "default_locale")}),
        ("Fallback and quiet hours", {"fields": ("fallback_order", "quiet_mode", "quiet_start", "quiet_end")}),
    )

    def has_add_permission(self, request) -> bool:
        return False  # products are created in the wallets admin; this page only configures notifications

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Fallback order")
    def fallback(self, obj) -> str:
        return " → ".join(obj.channel_fallback_order or []) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            switched_off_count=Count("channel_settings", filter=Q(channel_settings__enabled=False))
        )

    @admin.display(description="Switched off", ordering="switched_off_count")
    def switched_off(self, obj) -> int:
        return obj.switched_off_count

    def save_model(self, request, obj, form, change):
        audit_channel, actor = actor_of_request(request)
        product_notification_settings_update(
            product=obj, switches=form.switches(), fallback_order=form.cleaned_data["fallback_order"],
            quiet_hours=form.quiet_hours(), audit_channel=audit_channel, actor=actor,
        )

    def render_change_form(self, request, context, *args, **kwargs):
        context["matrix_channels"] = [c.label for c in MATRIX_CHANNELS]
        return super().render_change_form(request, context, *args, **kwargs)
