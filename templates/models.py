import re
from datetime import time

from django.core.exceptions import ValidationError
from django.db import models

from notifications.models import CustomerChannel
from subscriptions.catalog import get_event
from templates.rendering import TemplateContentError, template_content_validate
from wallets.models import Product

# BCP 47 as used here: a language ("hi") optionally followed by a region or script ("hi-IN", "zh-Hant").
LOCALE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class NotificationTemplate(models.Model):
    """Subject and body for one event, channel and locale; a product-specific template wins over the default."""

    event_name = models.CharField(max_length=64)
    channel = models.CharField(max_length=8, choices=CustomerChannel.choices)
    locale = models.CharField(max_length=16, default="en")
    product = models.ForeignKey(
        "wallets.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="templates"
    )
    subject = models.CharField(max_length=300, blank=True, default="", help_text="Email subject or push title")
    body = models.TextField(blank=True, help_text="The text (SMS, push, in-app, the email's plain-text part)")
    # EMAIL only: the HTML part, rendered with autoescape; without it the HTML is built from the text, and without
    # a text body the text part is generated from the HTML.
    html_body = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event_name", "channel", "locale"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_name", "channel", "locale", "product"],
                name="uniq_template_with_product",
                condition=models.Q(product__isnull=False),
                violation_error_message="A template for this product, event, channel and locale already exists.",
            ),
            models.UniqueConstraint(
                fields=["event_name", "channel", "locale"],
                name="uniq_default_template",
                condition=models.Q(product__isnull=True),
                violation_error_message="A default template for this event, channel and locale already exists.",
            ),
        ]

    def __str__(self) -> str:
        scope = self.product.code if self.product_id else "default"
        return f"{self.event_name}/{self.channel}/{self.locale} ({scope})"

    def clean(self) -> None:
        """Refuse an unknown or non-customer event, a bad locale, and any subject/body that does not compile or
        uses a variable the event does not provide (the message names the variable and line)."""
        errors: dict[str, str] = {}
        definition = get_event(self.event_name)
        if definition is None:
            errors["event_name"] = f"Unknown event '{self.event_name}'."
        elif not definition.customer_facing:
            errors["event_name"] = f"{self.event_name} is not customer-facing: no customer messages are sent for it."
        if not LOCALE_RE.match(self.locale or ""):
            errors["locale"] = "Use a language code such as 'en', 'hi' or 'hi-IN'."
        if self.channel == CustomerChannel.EMAIL and not (self.subject or "").strip():
            errors["subject"] = "An email template needs a subject."
        if self.channel == CustomerChannel.SMS and (self.subject or "").strip():
            errors["subject"] = "SMS has no subject; leave it empty."
        has_html = bool((self.html_body or "").strip())
        if has_html and self.channel != CustomerChannel.EMAIL:
            errors["html_body"] = "Only an email template has an HTML body."
        if not (self.body or "").strip() and not (has_html and self.channel == CustomerChannel.EMAIL):
            errors["body"] = ("The body cannot be empty (an email template may leave it empty when it has an HTML "
                              "body: the text part is then generated from the HTML)."
                              if self.channel == CustomerChannel.EMAIL else "The body cannot be empty.")
        if definition is not None and not errors:
            try:
                template_content_validate(event_name=self.event_name, subject=self.subject, body=self.body,
                                          html_body=self.html_body)
            except TemplateContentError as exc:
                errors[exc.field] = exc.message
        if errors:
            raise ValidationError(errors)


class ProductChannelSetting(models.Model):
    """Per-product switch for one event and channel (absent means on)."""

    product = models.ForeignKey("wallets.Product", on_delete=models.CASCADE, related_name="channel_settings")
    event_name = models.CharField(max_length=64)
    channel = models.CharField(max_length=8, choices=CustomerChannel.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "event_name", "channel"], name="uniq_product_channel_setting")
        ]

    def __str__(self) -> str:
        return f"{self.product_id}:{self.event_name}/{self.channel}={'on' if self.enabled else 'off'}"


class QuietHoursPolicy(models.Model):
    """A product's quiet hours in the cardholder's local time; without a row the CUSTOMER_QUIET_HOURS default
    applies. A window may cross midnight (22:00-08:00)."""

    product = models.OneToOneField("wallets.Product", on_delete=models.CASCADE, related_name="quiet_hours")
    enabled = models.BooleanField(default=True, help_text="Off: messages of this product are never held.")
    start = models.TimeField(default=time(22, 0))
    end = models.TimeField(default=time(8, 0))

    class Meta:
        verbose_name_plural = "quiet hours policies"

    def __str__(self) -> str:
        if not self.enabled:
            return f"{self.product_id}: no quiet hours"
        return f"{self.product_id}: quiet {self.start:%H:%M}-{self.end:%H:%M}"

    def clean(self) -> None:
        if self.enabled and self.start == self.end:
            raise ValidationError({"end": "Start and end must differ."})


class ProductNotificationSettings(Product):
    """Admin-only view of a product: its per-event channel switches, fallback order and quiet hours."""

    class Meta:
        proxy = True
        verbose_name = "product notification settings"
        verbose_name_plural = "product notification settings"
