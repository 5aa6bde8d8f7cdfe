"""Partner API route of the portal (mounted under /prepaid/auth/v1/)."""

from django.urls import re_path

from subscriptions.portal.apis import PortalSessionCreateApi

urlpatterns = [
    re_path(r"^portal-sessions/?$", PortalSessionCreateApi.as_view(), name="portal-sessions"),
]
