"""Factories for the templates app (and helpers shared with tests/channels)."""

import factory

from notifications.models import Event
from templates.models import NotificationTemplate, ProductChannelSetting, QuietHoursPolicy
from tests.factories import EventFactory, ProductFactory


class NotificationTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NotificationTemplate

    event_name = "CARD_TRANSACTION_APPROVED"
    channel = "SMS"
    locale = "en"
    product = factory.SubFactory(ProductFactory)
    subject = ""
    body = "{{ currency }} {{ amount }} at {{ merchantName }}"


class ProductChannelSettingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductChannelSetting

    product = factory.SubFactory(ProductFactory)
    event_name = "CARD_TRANSACTION_APPROVED"
    channel = "SMS"
    enabled = False


class QuietHoursPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuietHoursPolicy

    product = factory.SubFactory(ProductFactory)


def make_event(partner, event_name: str = "CARD_TRANSACTION_APPROVED", **data) -> Event:
    """A saved Event row as ingest would have written it."""
    return EventFactory(partner=partner, event_name=event_name, data=data)
