from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subscriptions"
    verbose_name = "Partners and event subscriptions"

    def ready(self) -> None:
        # Registers the OpenAPI security scheme of the partner token (drf-spectacular extensions register on import).
        from subscriptions import openapi  # noqa: F401
