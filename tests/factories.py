"""factory-boy factories, one per model. Shared by every test package."""

import datetime

import factory
from django.utils import timezone

from notifications.models import (
    CustomerMessage,
    DeadLetter,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    WebhookDelivery,
)
from subscriptions.models import ApiToken, EventSubscription, Partner, TokenLevel, generate_signing_secret, hash_token
from wallets.models import Card, Cardholder, Product, Wallet


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner
        django_get_or_create = ("tenant_id",)

    tenant_id = factory.Sequence(lambda n: f"tenant{n}")
    name = factory.LazyAttribute(lambda o: f"Partner {o.tenant_id}")


class ApiTokenFactory(factory.django.DjangoModelFactory):
    """Build with `raw_token=...` or read `token._raw` for the plaintext."""

    class Meta:
        model = ApiToken

    partner = factory.SubFactory(PartnerFactory)
    raw_token = factory.LazyFunction(ApiToken.generate)
    prefix = factory.LazyAttribute(lambda o: o.raw_token[:10])
    token_hash = factory.LazyAttribute(lambda o: hash_token(o.raw_token))
    level = TokenLevel.STANDARD

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        raw = kwargs.pop("raw_token", None)
        obj = super()._create(model_class, *args, **kwargs)
        obj._raw = raw
        return obj


class EventSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EventSubscription
        skip_postgeneration_save = True

    partner = factory.SubFactory(PartnerFactory)
    event_name = "TRANSACTION_NOTIFICATION"
    is_enabled = True
    destination = "https://partner.example.com/webhooks"
    max_retries = 3
    retry_interval_seconds = 1
    secret_encrypted = ""

    @factory.post_generation
    def secret(obj, create, extracted, **kwargs):
        obj.set_secret(extracted or generate_signing_secret())
        if create:
            obj.save(update_fields=["secret_encrypted"])


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    partner = factory.SubFactory(PartnerFactory)
    code = factory.Sequence(lambda n: f"prod{n}")
    name = factory.LazyAttribute(lambda o: f"Product {o.code}")
    dormancy_days = 180


class CardholderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cardholder

    partner = factory.SubFactory(PartnerFactory)
    external_id = factory.Sequence(lambda n: f"CUST{n:05d}")
    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: f"+9198{n:08d}")
    email = factory.Sequence(lambda n: f"holder{n}@example.com")
    push_token = factory.Sequence(lambda n: f"push-token-{n}")
    locale = "en"
    timezone = "Asia/Kolkata"


class WalletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Wallet

    partner = factory.SubFactory(PartnerFactory)
    cardholder = factory.SubFactory(CardholderFactory, partner=factory.SelfAttribute("..partner"))
    product = factory.SubFactory(ProductFactory, partner=factory.SelfAttribute("..partner"))
    balance = 1000
    currency = "INR"


class CardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Card

    partner = factory.SubFactory(PartnerFactory)
    wallet = factory.SubFactory(WalletFactory, partner=factory.SelfAttribute("..partner"))
    kit_no = factory.Sequence(lambda n: f"K{n:07d}")
    last4 = factory.Sequence(lambda n: f"{n % 10000:04d}")
    expiry_date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=3 * 365))


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    partner = factory.SubFactory(PartnerFactory)
    event_id = factory.Faker("uuid4")
    event_name = "TRANSACTION_NOTIFICATION"
    event_type = "INSTANT"
    occurred_at = factory.LazyFunction(timezone.now)
    data = factory.LazyFunction(lambda: {"kitNo": "K0001", "amount": "125.50", "currency": "INR"})
    body = "{}"


# A delivery's subscription when the caller names none: the partner's ALL_EVENTS subscription (the model allows one
# per tenant and eventName, so it is shared by every such delivery of that partner).
ALL_EVENTS_SUBSCRIPTION = object()


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    """`WebhookDeliveryFactory(subscription=s)` belongs to s's partner; `WebhookDeliveryFactory(partner=p)` (or
    neither) to p's ALL_EVENTS subscription. Final statuses get `completed_at`; any status but PENDING one attempt."""

    class Meta:
        model = WebhookDelivery

    subscription = ALL_EVENTS_SUBSCRIPTION
    partner = factory.Maybe(
        factory.LazyAttribute(lambda o: o.subscription is not ALL_EVENTS_SUBSCRIPTION),
        yes_declaration=factory.SelfAttribute("subscription.partner"),
        no_declaration=factory.SubFactory(PartnerFactory),
    )
    event = factory.SubFactory(EventFactory, partner=factory.SelfAttribute("..partner"))
    status = DeliveryStatus.PENDING
    attempt_count = factory.LazyAttribute(lambda o: 0 if o.status == DeliveryStatus.PENDING else 1)
    completed_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.status in ("SUCCEEDED", "FAILED", "CANCELLED") else None
    )

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        if kwargs["subscription"] is ALL_EVENTS_SUBSCRIPTION:
            partner = kwargs["partner"]
            kwargs["subscription"] = (
                EventSubscription.objects.filter(partner=partner, event_name="ALL_EVENTS").first()
                or EventSubscriptionFactory(partner=partner, event_name="ALL_EVENTS")
            )
        return kwargs


class DeliveryAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryAttempt

    delivery = factory.SubFactory(WebhookDeliveryFactory, status=DeliveryStatus.SUCCEEDED)
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
