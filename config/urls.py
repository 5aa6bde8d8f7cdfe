from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

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
    path("", include("notifications.ops.urls")),
]

handler404 = "config.partner_api.errors.not_found"
handler500 = "config.partner_api.errors.server_error"
