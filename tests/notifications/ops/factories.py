"""Factories for the pipeline's history rows, used by the ops tests (metrics, dashboard, status, prune)."""

import datetime

import factory
from django.utils import timezone

from notifications.models import (
    CustomerMessage,
    DeadLetter,
    DeliveryAttempt,
    DeliveryStatus,
    WebhookDelivery,
)
from subscriptions.models import EventSubscription
from tests.factories import EventFactory, EventSubscriptionFactory, PartnerFactory


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    partner = factory.SubFactory(PartnerFactory)
    event = factory.SubFactory(EventFactory, partner=factory.SelfAttribute("..partner"))
    # One ALL_EVENTS subscription per partner (the model allows one per tenant and eventName).
    subscription = factory.LazyAttribute(
        lambda o: EventSubscription.objects.filter(partner=o.partner, event_name="ALL_EVENTS").first()
        or EventSubscriptionFactory(partner=o.partner, event_name="ALL_EVENTS")
    )
    status = DeliveryStatus.SUCCEEDED
    attempt_count = 1
    completed_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.status in ("SUCCEEDED", "FAILED", "CANCELLED") else None
    )


class DeliveryAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryAttempt

    delivery = factory.SubFactory(WebhookDeliveryFactory)
    attempt_number = factory.Sequence(lambda n: n + 1)
    started_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(seconds=5))
    duration_ms = 40
    status_code = 200
    succeeded = True


class DeadLetterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeadLetter

    topic = "pp_initiate_notification"
    partition = 0
    offset = factory.Sequence(lambda n: n)
    raw_value = b"not json"
    reason_code = "invalid_json"
    reason = "The message is not valid JSON"


class CustomerMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerMessage

    partner = factory.SubFactory(PartnerFactory)
    event = factory.SubFactory(EventFactory, partner=factory.SelfAttribute("..partner"))
    channel = "SMS"
    recipient = "+919800000001"
    body = "Hello"
    status = "SENT"
