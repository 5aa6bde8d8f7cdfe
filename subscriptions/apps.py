from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subscriptions"
    verbose_name = "Partners and event subscriptions"

    def ready(self) -> None:
        # Registers the OpenAPI security scheme of the partner token: drf-spectacular extensions register when their
        # module is imported, which needs the models loaded (Django's documented place for such imports is ready()).
        from config.partner_api import openapi  # noqa: F401
