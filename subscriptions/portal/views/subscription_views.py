"""Subscriptions in the portal: list, create, edit, enable/disable, delete, send a test event, reveal (after
re-authentication) and rotate the signing secret, recover failed deliveries since a time.

Create and edit are driven by the partner API's own serializers (`SubscriptionCreateApi.InputSerializer`,
`SubscriptionUpdateApi.InputSerializer`) and apply through the API's own `create()`/`update()`, so every option
and rule of the API is the portal's too, with the same error messages."""

from datetime import UTC, datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from rest_framework.exceptions import APIException
from rest_framework.exceptions import ValidationError as DrfValidationError

from notifications import services as pipeline
from notifications.services import RecoverJobConflict
from subscriptions import selectors
from subscriptions.apis.subscriptions import (
    SubscriptionCreateApi,
    SubscriptionOutputSerializer,
    SubscriptionUpdateApi,
)
from subscriptions.catalog import ALL_EVENTS, EVENT_CATALOG
from subscriptions.models import EventSubscription, TokenLevel
from subscriptions.portal import services
from subscriptions.portal.auth import reauth_is_fresh
from subscriptions.portal.serializer_forms import flatten_errors, form_fields, form_payload
from subscriptions.portal.views.base import CHANNEL, PortalView, not_found, redirect_to
from subscriptions.portal.views.signin import reauthenticate
from subscriptions.services.secrets import subscription_secret_reveal, subscription_secret_rotate
from subscriptions.services.subscriptions import subscription_delete

UPDATE_READONLY = ("eventName",)


def api_errors(exc: APIException) -> dict[str, list[str]]:
    """An API exception's messages by field path (the portal shows the API's own words)."""
    if isinstance(exc, DrfValidationError):
        return flatten_errors(exc.detail)
    return {"nonFieldErrors": [str(exc.detail)]}


def event_choices(subscribed: set[str]) -> list[tuple[str, str]]:
    options = [(ALL_EVENTS, f"{ALL_EVENTS} — every event")]
    options += [(name, f"{name} — {d.description}") for name, d in EVENT_CATALOG.items() if name not in subscribed]
    return [option for option in options if option[0] not in subscribed]


def get_subscription(request: HttpRequest, event_name: str) -> EventSubscription:
    subscription = selectors.subscription_get(partner=request.portal.partner, event_name=event_name)
    if subscription is None:
        raise not_found()
    return subscription


class SubscriptionListView(PortalView):
    section = "subscriptions"

    def get(self, request: HttpRequest) -> HttpResponse:
        subscriptions = selectors.subscription_list(partner=request.portal.partner)
        return self.page(request, "portal/subscriptions.html", subscriptions=subscriptions)


class SubscriptionCreateView(PortalView):
    section = "subscriptions"
    required_level = {"GET": TokenLevel.STANDARD, "POST": TokenLevel.STANDARD}

    def _render(self, request, *, initial=None, errors=None, status=200) -> HttpResponse:
        subscribed = set(selectors.subscription_list(partner=request.portal.partner)
                         .values_list("event_name", flat=True))
        fields = form_fields(SubscriptionCreateApi.InputSerializer(), initial=initial, errors=errors,
                             choices={"eventName": event_choices(subscribed)})
        return self.page(request, "portal/subscription_form.html", status=status, fields=fields, creating=True,
                         form_errors=(errors or {}).get("nonFieldErrors", []))

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        payload, problems = form_payload(SubscriptionCreateApi.InputSerializer(), request.POST)
        if problems:
            return self._render(request, initial=payload, errors=problems, status=400)
        serializer = SubscriptionCreateApi.InputSerializer(data=payload)
        if not serializer.is_valid():
            return self._render(request, initial=payload, errors=flatten_errors(serializer.errors), status=400)
        try:
            subscription = SubscriptionCreateApi.create(partner=request.portal.partner,
                                                        data=serializer.validated_data, channel=CHANNEL,
                                                        actor=request.portal.actor)
        except APIException as exc:
            return self._render(request, initial=payload, errors=api_errors(exc), status=exc.status_code)
        return redirect_to(request, reverse("portal:subscription", args=[subscription.event_name]) + "?created=1")


class SubscriptionDetailView(PortalView):
    """GET shows the subscription with its edit form; POST saves the form (as a PUT of the API would)."""

    section = "subscriptions"

    def _render(self, request, subscription, *, initial=None, errors=None, status=200, **extra) -> HttpResponse:
        current = SubscriptionOutputSerializer(subscription).data
        fields = form_fields(SubscriptionUpdateApi.InputSerializer(), initial=initial or current, errors=errors,
                             readonly=UPDATE_READONLY)
        return self.page(request, "portal/subscription_detail.html", status=status, subscription=subscription,
                         fields=fields, form_errors=(errors or {}).get("nonFieldErrors", []),
                         created=request.GET.get("created") == "1", now_utc=datetime.now(UTC), **extra)

    def get(self, request: HttpRequest, event_name: str) -> HttpResponse:
        return self._render(request, get_subscription(request, event_name))

    def post(self, request: HttpRequest, event_name: str) -> HttpResponse:
        subscription = get_subscription(request, event_name)
        payload, problems = form_payload(SubscriptionUpdateApi.InputSerializer(), request.POST, keep_empty_lists=True)
        payload["eventName"] = subscription.event_name  # the URL names the subscription, never the form
        if problems:
            return self._render(request, subscription, initial=payload, errors=problems, status=400)
        serializer = SubscriptionUpdateApi.InputSerializer(data=payload)
        if not serializer.is_valid():
            return self._render(request, subscription, initial=payload, errors=flatten_errors(serializer.errors),
                                status=400)
        try:
            subscription = SubscriptionUpdateApi.update(subscription=subscription, data=serializer.validated_data,
                                                        channel=CHANNEL, actor=request.portal.actor)
        except APIException as exc:
            return self._render(request, subscription, initial=payload, errors=api_errors(exc),
                                status=exc.status_code)
        return self._render(request, subscription, saved=True)


class SubscriptionToggleView(PortalView):
    def post(self, request: HttpRequest, event_name: str) -> HttpResponse:
        subscription = get_subscription(request, event_name)
        data = {"eventName": subscription.event_name, "isEnabled": not subscription.is_enabled}
        SubscriptionUpdateApi.update(subscription=subscription, data=data, channel=CHANNEL, actor=request.portal.actor)
        return redirect_to(request, reverse("portal:subscription", args=[event_name]))


class SubscriptionDeleteView(PortalView):
    def post(self, request: HttpRequest, event_name: str) -> HttpResponse:
        subscription = get_subscription(request, event_name)
        try:
            subscription_delete(subscription=subscription, channel=CHANNEL, actor=request.portal.actor)
        except EventSubscription.DoesNotExist:
            raise not_found() from None
        return redirect_to(request, reverse("portal:subscriptions"))


class SubscriptionTestView(PortalView):
    """Send a WEBHOOK_TEST event; the answer is a fragment that polls the delivery until its attempt appears."""

    def post(self, request: HttpRequest, event_name: str) -> HttpResponse:
        subscription = get_subscription(request, event_name)
        try:
            delivery = pipeline.subscription_send_test(subscription=subscription, channel=CHANNEL,
                                                       actor=request.portal.actor)
        except pipeline.SubscriptionDisabled as exc:
            return self.page(request, "portal/partials/notice.html", status=409, error=str(exc))
        return redirect_to(request, reverse("portal:event", args=[delivery.event.event_id]))


class SecretRevealView(PortalView):
    """The signing secret, after the password (and TOTP code) are entered again, unless that happened within
    PORTAL_REAUTH_MINUTES. Reading a secret needs the developer role, as on the API (level 2)."""

    required_level = {"POST": TokenLevel.STANDARD}

    def post(self, request: HttpRequest, event_name: str) -> HttpResponse:
        subscription = get_subscription(request, event_name)
        from_session = "password" not in request.POST
        if from_session and not reauth_is_fresh(request):
            return self.page(request, "portal/partials/reauth.html", subscription=subscription,
                             needs_totp=_needs_totp(request))
        if not from_session:
            error = reauthenticate(request)
            if error:
                return self.page(request, "portal/partials/reauth.html", status=403, subscription=subscription,
                                 error=error, needs_totp=_needs_totp(request))
        secret = subscription_secret_reveal(subscription=subscription, channel=CHANNEL, actor=request.portal.actor)
        return self.page(request, "portal/partials/secret.html", subscription=subscription, secret=secret)


def _needs_totp(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.totpdevice_set.filter(confirmed=True).exists())


class SecretRotateView(PortalView):
    """A new signing secret; the old one keeps signing beside it for the overlap. Admin role, as on the API."""

    required_level = {"POST": TokenLevel.ADMIN}

    def post(self, request: HttpRequest, event_name: str) -> HttpResponse:
        subscription = get_subscription(request, event_name)
        try:
            subscription = subscription_secret_rotate(subscription=subscription, channel=CHANNEL,
                                                      actor=request.portal.actor)
        except EventSubscription.DoesNotExist:
            raise not_found() from None
        return self.page(request, "portal/partials/notice.html",
                         message=f"Secret rotated. The previous secret keeps signing beside the new one until "
                         f"{subscription.previous_secret_expires_at:%Y-%m-%d %H:%M} UTC. Reveal the secret to copy "
                         "the new one into your receiver.")


def parse_utc(value: str) -> datetime | None:
    """A `datetime-local` input's value (or ISO 8601) as UTC; None when empty. Raises ValueError when unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SubscriptionRecoverView(PortalView):
    """Send again every FAILED delivery of the subscription created since a time (and before an optional end)."""

    def post(self, request: HttpRequest, event_name: str) -> HttpResponse:
        subscription = get_subscription(request, event_name)
        try:
            since = parse_utc(request.POST.get("since", ""))
            until = parse_utc(request.POST.get("until", ""))
        except ValueError:
            return self.page(request, "portal/partials/notice.html", status=400,
                             error="Enter the times as YYYY-MM-DD HH:MM (UTC).")
        if since is None:
            return self.page(request, "portal/partials/notice.html", status=400, error="Enter the start time.")
        try:
            job, new = services.subscription_recover(subscription=subscription, since=since, until=until,
                                                     channel=CHANNEL, actor=request.portal.actor)
        except DjangoValidationError as exc:
            return self.page(request, "portal/partials/notice.html", status=400, error=" ".join(exc.messages))
        except RecoverJobConflict as exc:
            return self.page(request, "portal/partials/notice.html", status=409, error=str(exc))
        return self.page(request, "portal/partials/notice.html",
                         message=f"Recovering: job {job.pk} {'started' if new else 'is already running'}; the failed "
                         f"deliveries created since {since:%Y-%m-%d %H:%M} UTC are being sent again in the background "
                         f"(the delivery log shows each one as it goes out).")
