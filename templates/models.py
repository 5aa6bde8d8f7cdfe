from django.db import models

from notifications.models import Channel


class NotificationTemplate(models.Model):
    """Subject and body for one event, channel and locale; a product-specific template wins over the default."""

    event_name = models.CharField(max_length=64)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    locale = models.CharField(max_length=16, default="en")
    product = models.ForeignKey(
        "wallets.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="templates"
    )
    subject = models.CharField(max_length=300, blank=True, default="", help_text="Email subject or push title")
    body = models.TextField()
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event_name", "channel", "locale"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_name", "channel", "locale", "product"],
                name="uniq_template_with_product",
                condition=models.Q(product__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["event_name", "channel", "locale"],
                name="uniq_default_template",
                condition=models.Q(product__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        scope = self.product.code if self.product_id else "default"
        return f"{self.event_name}/{self.channel}/{self.locale} ({scope})"


class ProductChannelSetting(models.Model):
    """Per-product switch for one event and channel (absent means on)."""

    product = models.ForeignKey("wallets.Product", on_delete=models.CASCADE, related_name="channel_settings")
    event_name = models.CharField(max_length=64)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "event_name", "channel"], name="uniq_product_channel_setting")
        ]

    def __str__(self) -> str:
        return f"{self.product_id}:{self.event_name}/{self.channel}={'on' if self.enabled else 'off'}"
