from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "subscriptions.portal"
    label = "portal"
    verbose_name = "Partner portal"
    default_auto_field = "django.db.models.BigAutoField"
