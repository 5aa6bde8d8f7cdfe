"""Admin forms: the template editor and the per-product notification settings (channel matrix, fallback order,
quiet hours)."""

from __future__ import annotations

from datetime import time

from django import forms

from notifications.models import CustomerChannel
from subscriptions.catalog import get_event
from templates.models import NotificationTemplate, ProductChannelSetting, ProductNotificationSettings, QuietHoursPolicy
from templates.services import fallback_order_clean
from templates.variables import customer_facing_event_names

MATRIX_CHANNELS = (CustomerChannel.SMS, CustomerChannel.EMAIL, CustomerChannel.PUSH, CustomerChannel.IN_APP)


def _event_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in customer_facing_event_names()]


class NotificationTemplateForm(forms.ModelForm):
    event_name = forms.ChoiceField(choices=_event_choices)

    class Meta:
        model = NotificationTemplate
        fields = ["event_name", "channel", "locale", "product", "subject", "body", "html_body", "is_active"]
        widgets = {
            "subject": forms.TextInput(attrs={"size": 80}),
            "body": forms.Textarea(attrs={"rows": 8, "cols": 90, "spellcheck": "false"}),
        }


def switch_field_name(event_name: str, channel: str) -> str:
    return f"switch__{event_name}__{channel}"


class ProductNotificationSettingsForm(forms.ModelForm):
    """One checkbox per customer-facing event and channel, plus the cascade order and quiet hours."""

    QUIET_DEFAULT, QUIET_CUSTOM, QUIET_OFF = "default", "custom", "off"

    fallback_order = forms.CharField(
        required=False,
        help_text="Channels tried in turn, e.g. PUSH, SMS, EMAIL: only the first one the cardholder can receive is "
        "sent; the next is used when it fails for good. Channels not listed are always sent. Empty: all channels.",
    )
    quiet_mode = forms.ChoiceField(
        choices=[(QUIET_DEFAULT, "Platform default"), (QUIET_CUSTOM, "Custom window"), (QUIET_OFF, "No quiet hours")],
        initial=QUIET_DEFAULT,
        label="Quiet hours",
    )
    quiet_start = forms.TimeField(required=False, initial=time(22, 0), help_text="Cardholder's local time")
    quiet_end = forms.TimeField(required=False, initial=time(8, 0))

    class Meta:
        model = ProductNotificationSettings
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        product = self.instance
        off = set()
        if product.pk:
            off = set(
                ProductChannelSetting.objects.filter(product_id=product.pk, enabled=False).values_list(
                    "event_name", "channel"
                )
            )
            self.fields["fallback_order"].initial = ", ".join(product.channel_fallback_order or [])
            policy = QuietHoursPolicy.objects.filter(product_id=product.pk).first()
            if policy is not None:
                self.fields["quiet_mode"].initial = self.QUIET_CUSTOM if policy.enabled else self.QUIET_OFF
                self.fields["quiet_start"].initial, self.fields["quiet_end"].initial = policy.start, policy.end
        for event_name in customer_facing_event_names():
            for channel in MATRIX_CHANNELS:
                self.fields[switch_field_name(event_name, channel)] = forms.BooleanField(
                    required=False, initial=(event_name, channel) not in off, label=f"{event_name} {channel}"
                )

    def matrix_rows(self) -> list[dict]:
        """Rows for the change-form template: event, its flags and the three bound checkboxes."""
        rows = []
        for event_name in customer_facing_event_names():
            definition = get_event(event_name)
            rows.append({
                "event_name": event_name,
                "description": definition.description,
                "critical": definition.critical,
                "urgent": definition.urgent,
                "fields": [self[switch_field_name(event_name, channel)] for channel in MATRIX_CHANNELS],
            })
        return rows

    def clean_fallback_order(self) -> list[str]:
        raw = self.cleaned_data.get("fallback_order", "")
        try:
            return fallback_order_clean([v for v in raw.replace(";", ",").split(",") if v.strip()])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("quiet_mode") == self.QUIET_CUSTOM:
            start, end = cleaned.get("quiet_start"), cleaned.get("quiet_end")
            if start is None or end is None:
                raise forms.ValidationError("A custom quiet-hours window needs a start and an end.")
            if start == end:
                self.add_error("quiet_end", "Start and end must differ.")
        return cleaned

    def switches(self) -> dict[tuple[str, str], bool]:
        return {
            (event_name, channel): bool(self.cleaned_data.get(switch_field_name(event_name, channel)))
            for event_name in customer_facing_event_names()
            for channel in MATRIX_CHANNELS
        }

    def quiet_hours(self) -> tuple[bool, time, time] | None:
        mode = self.cleaned_data["quiet_mode"]
        if mode == self.QUIET_DEFAULT:
            return None
        if mode == self.QUIET_OFF:
            return False, time(22, 0), time(8, 0)
        return True, self.cleaned_data["quiet_start"], self.cleaned_data["quiet_end"]
