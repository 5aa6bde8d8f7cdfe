"""Factories only the subscriptions tests need."""

import factory

from notifications.models import DeliveryStatus, WebhookDelivery
from tests.factories import EventFactory


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    subscription = None
    partner = factory.LazyAttribute(lambda o: o.subscription.partner)
    event = factory.SubFactory(EventFactory, partner=factory.SelfAttribute("..partner"))
    status = DeliveryStatus.PENDING
