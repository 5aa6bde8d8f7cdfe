"""Partner API routes of the subscriptions app (mounted under /prepaid/auth/v1/).

Each route accepts the path with and without a trailing slash (the seed writes `/event-subscriptions/` and
`/event-subscriptions/{eventName}`). `{eventName}` never contains a slash, so `{eventName}/test` (routed by the
notifications app) is not swallowed here."""

from django.urls import re_path

from subscriptions.apis.event_types import EventTypeDetailApi, EventTypeListApi
from subscriptions.apis.secrets import SubscriptionSecretApi, SubscriptionSecretRotateApi
from subscriptions.apis.subscriptions import SubscriptionCollectionApi, SubscriptionDetailApi

# Named as the seed and the OpenAPI paths write it: {eventName}.
EVENT_NAME = r"(?P<eventName>[^/]+)"
# An optional trailing slash that the OpenAPI path leaves out (non-capturing groups are dropped from it).
SLASH = r"(?:/)?"

urlpatterns = [
    re_path(r"^event-subscriptions/?$", SubscriptionCollectionApi.as_view(), name="event-subscriptions"),
    re_path(
        rf"^event-subscriptions/{EVENT_NAME}/secret/rotate{SLASH}$",
        SubscriptionSecretRotateApi.as_view(),
        name="event-subscription-secret-rotate",
    ),
    re_path(
        rf"^event-subscriptions/{EVENT_NAME}/secret{SLASH}$",
        SubscriptionSecretApi.as_view(),
        name="event-subscription-secret",
    ),
    re_path(
        rf"^event-subscriptions/{EVENT_NAME}{SLASH}$", SubscriptionDetailApi.as_view(), name="event-subscription"
    ),
    re_path(r"^event-types/?$", EventTypeListApi.as_view(), name="event-types"),
    re_path(rf"^event-types/(?P<name>[^/]+){SLASH}$", EventTypeDetailApi.as_view(), name="event-type"),
]
