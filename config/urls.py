from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from notifications.callbacks import sms_status_callback

API_PREFIX = "prepaid/auth/v1/"

urlpatterns = [
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path(API_PREFIX, include("subscriptions.urls")),
    path(API_PREFIX, include("notifications.urls")),
    path(API_PREFIX, include("wallets.urls")),
    path(API_PREFIX, include("templates.urls")),
    path(API_PREFIX, include("subscriptions.portal.api_urls")),
    path("portal/", include("subscriptions.portal.urls")),
    # Outside the partner API: the SMS provider's status callbacks, the cardholder's signed-link pages.
    path("callbacks/sms/status", sms_status_callback, name="sms-status-callback"),
    path("preferences/", include("wallets.page_urls")),
    path("", include("notifications.ops.urls")),
]

handler404 = "config.partner_api.errors.not_found"
handler500 = "config.partner_api.errors.server_error"
