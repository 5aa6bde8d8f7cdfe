from datetime import UTC, datetime, time

import pytest
from django.db.models import signals

from notifications.messaging import routing
from notifications.messaging.rendering import message_render, messages_render
from notifications.messaging.routing import SkipReason, plan_customer_messages, subjects_resolve
from notifications.models import CustomerMessage
from templates.models import NotificationTemplate
from tests.factories import CardFactory, CardholderFactory, PartnerFactory, ProductFactory, WalletFactory
from tests.templates_app.factories import (
    NotificationTemplateFactory,
    ProductChannelSettingFactory,
    QuietHoursPolicyFactory,
    make_event,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sample_templates", "no_default_quiet_hours")]

TXN = {"amount": "125.50", "currency": "INR", "merchantName": "Chai Point", "balance": "874.50"}


def plan_and_render(events, **kwargs) -> list[CustomerMessage]:
    """What a cardholder receives: the rows ingest plans (unrendered, with their template), each rendered as the
    messaging worker renders it just before sending."""
    rows = plan_customer_messages(events, **kwargs)
    for row in rows:
        if row.template_id is not None:
            rendered = message_render(row, subject=subjects_resolve([row.event])[0])
            row.subject, row.body = rendered.subject, rendered.body
            if rendered.error:
                row.status, row.skip_reason, row.last_error = "FAILED", rendered.skip_reason, rendered.error
    return rows


def test_routing_chooses_templates_but_never_renders_them(partner, card):
    """Ingest runs routing: it must not run a partner's template (that happens in the worker)."""
    rows = plan_customer_messages([make_event(partner, kitNo=card.kit_no, **TXN)])
    pending = [r for r in rows if r.status == "PENDING"]
    assert pending and all(r.template_id and r.body == "" and r.subject == "" for r in pending)
    assert all(r.rendered_at is None for r in pending)


def _by_channel(rows: list[CustomerMessage]) -> dict[str, CustomerMessage]:
    assert len({r.channel for r in rows}) == len(rows), "one row per channel"
    return {r.channel: r for r in rows}


def test_card_event_renders_every_channel_from_the_defaults(partner, card):
    event = make_event(partner, kitNo=card.kit_no, **TXN)
    rows = _by_channel(plan_and_render([event]))
    assert set(rows) == {"SMS", "EMAIL", "PUSH", "IN_APP"}
    assert all(r.status == "PENDING" and r.pk is None for r in rows.values())
    sms, email, push = rows["SMS"], rows["EMAIL"], rows["PUSH"]
    assert sms.recipient == "+919800000001"
    assert sms.body == "INR 125.50 spent at Chai Point with card XXXX XXXX XXXX 4242. Balance: INR 874.50."
    assert email.recipient == "asha@example.com"
    assert email.subject == "Payment of INR 125.50"
    assert email.body.startswith("Dear Asha Verma,")
    assert push.recipient == "fcm-token-asha"
    assert push.subject == "Payment of INR 125.50"
    assert (rows["IN_APP"].recipient, rows["IN_APP"].subject) == ("CUST1", "Payment of INR 125.50")
    assert {r.cardholder_id for r in rows.values()} == {card.wallet.cardholder_id}
    assert {r.locale for r in rows.values()} == {"en"}
    # Saved by ingest with bulk_create.
    CustomerMessage.objects.bulk_create(rows.values())
    assert CustomerMessage.objects.filter(event=event, status="PENDING").count() == 4


def test_masked_number_is_built_from_last4_only(partner, card):
    event = make_event(partner, kitNo=card.kit_no, last4="4111111111111111", **TXN)
    sms = _by_channel(plan_and_render([event]))["SMS"]
    assert "XXXX XXXX XXXX 1111" in sms.body
    assert "4111111111111111" not in sms.body


def test_product_template_wins_over_the_default(partner, card, product):
    NotificationTemplateFactory(product=product, channel="SMS", body="Travel Card: {{ amount }} at {{ merchantName }}")
    other_product = ProductFactory(partner=partner)
    NotificationTemplateFactory(product=other_product, channel="SMS", body="Other product {{ amount }}")
    rows = _by_channel(plan_and_render([make_event(partner, kitNo=card.kit_no, **TXN)]))
    assert rows["SMS"].body == "Travel Card: 125.50 at Chai Point"
    assert rows["EMAIL"].body.startswith("Dear Asha Verma,")  # no product EMAIL template: the default


def test_locale_falls_back_from_region_to_language(partner, card, holder):
    holder.locale = "hi-IN"
    holder.save()
    rows = _by_channel(plan_and_render([make_event(partner, kitNo=card.kit_no, **TXN)]))
    assert rows["SMS"].locale == "hi"
    assert "खर्च किए गए" in rows["SMS"].body
    assert "XXXX XXXX XXXX 4242" in rows["SMS"].body


def test_locale_falls_back_to_product_default_then_english(partner, card, holder, product):
    holder.locale = "ta-IN"
    holder.save()
    product.default_locale = "hi"
    product.save()
    rows = _by_channel(plan_and_render([make_event(partner, kitNo=card.kit_no, **TXN)]))
    assert rows["SMS"].locale == "hi"  # no Tamil template: the product's default language
    event = make_event(partner, "CARD_ACTIVATED", kitNo=card.kit_no)  # no Hindi sample for this event
    assert _by_channel(plan_and_render([event]))["SMS"].locale == "en"


def test_language_beats_a_product_override_in_another_language(partner, card, holder, product):
    NotificationTemplateFactory(product=product, channel="SMS", locale="en", body="EN override {{ amount }}")
    holder.locale = "hi"
    holder.save()
    sms = _by_channel(plan_and_render([make_event(partner, kitNo=card.kit_no, **TXN)]))["SMS"]
    assert sms.locale == "hi"
    NotificationTemplateFactory(product=product, channel="SMS", locale="hi", body="HI override {{ amount }}")
    sms = _by_channel(plan_and_render([make_event(partner, kitNo=card.kit_no, **TXN)]))["SMS"]
    assert sms.body == "HI override 125.50"


def test_opted_out_channel_is_skipped(partner, card, holder):
    holder.channel_preferences = {"SMS": False, "EMAIL": True}
    holder.save()
    rows = _by_channel(plan_and_render([make_event(partner, kitNo=card.kit_no, **TXN)]))
    assert (rows["SMS"].status, rows["SMS"].skip_reason) == ("SKIPPED", SkipReason.OPTED_OUT)
    assert rows["SMS"].body == ""
    assert rows["EMAIL"].status == "PENDING"


def test_critical_event_ignores_opt_out(partner, card, holder):
    holder.channel_preferences = {"SMS": False, "EMAIL": False, "PUSH": False}
    holder.save()
    event = make_event(partner, "KIT_EXPIRY_ADVANCE_NOTIFICATION", kitNo=card.kit_no, daysBefore=7,
                       expiryDate="2026-03-01")
    rows = _by_channel(plan_and_render([event]))
    assert {r.status for r in rows.values()} == {"PENDING"}
    assert "expires on 2026-03-01, in 7 days" in rows["SMS"].body


def test_missing_contact_data_is_skipped(partner, card, holder):
    holder.email, holder.push_token = "", ""
    holder.save()
    rows = _by_channel(plan_and_render([make_event(partner, kitNo=card.kit_no, **TXN)]))
    assert rows["EMAIL"].skip_reason == SkipReason.NO_CONTACT
    assert rows["PUSH"].skip_reason == SkipReason.NO_CONTACT
    assert rows["SMS"].status == "PENDING"


def test_channel_switched_off_for_the_product_is_skipped(partner, card, product):
    ProductChannelSettingFactory(product=product, event_name="CARD_TRANSACTION_APPROVED", channel="PUSH")
    ProductChannelSettingFactory(product=product, event_name="CARD_TRANSACTION_APPROVED", channel="SMS",
                                 enabled=True)
    rows = _by_channel(plan_and_render([make_event(partner, kitNo=card.kit_no, **TXN)]))
    assert rows["PUSH"].skip_reason == SkipReason.CHANNEL_DISABLED
    assert rows["SMS"].status == "PENDING"


def test_missing_template_is_skipped(partner, card):
    NotificationTemplate.objects.filter(event_name="CARD_ACTIVATED", channel="EMAIL").delete()
    rows = _by_channel(plan_and_render([make_event(partner, "CARD_ACTIVATED", kitNo=card.kit_no)]))
    assert (rows["EMAIL"].status, rows["EMAIL"].skip_reason) == ("SKIPPED", SkipReason.NO_TEMPLATE)
    assert rows["SMS"].status == "PENDING"


def test_unknown_cardholder_and_other_tenants_card_are_recorded_not_sent(partner, card):
    other = PartnerFactory(tenant_id="other")
    other_card = CardFactory(partner=other, kit_no="K-OTHER")
    rows = plan_and_render([
        make_event(partner, kitNo="K-NOPE", **TXN),
        make_event(partner, kitNo=other_card.kit_no, **TXN),  # exists, but for another tenant
    ])
    assert len(rows) == 8  # two events, four channels
    assert {(r.status, r.skip_reason) for r in rows} == {("SKIPPED", SkipReason.CARDHOLDER_NOT_FOUND)}
    assert all(r.cardholder_id is None for r in rows)


def test_non_customer_facing_events_produce_nothing(partner, card):
    assert plan_and_render([make_event(partner, "CARD_TRANSACTION_CLEARED", kitNo=card.kit_no)]) == []


def test_resolves_by_wallet_id_and_by_customer_id(partner, card, wallet, holder):
    by_wallet = make_event(partner, "WALLET_LOADED", walletId=str(wallet.wallet_id), amount="500.00",
                           currency="INR", balance="1374.50")
    by_customer = make_event(partner, "CUSTOMER_OTP", customerId=holder.external_id, otp="482913",
                             purpose="login")
    bad_wallet = make_event(partner, "WALLET_LOADED", walletId="not-a-uuid", customerId=holder.external_id)
    rows = plan_and_render([by_wallet, by_customer, bad_wallet])
    wallet_sms = next(r for r in rows if r.event_id == by_wallet.pk and r.channel == "SMS")
    assert wallet_sms.body == "INR 500.00 was added to your wallet. Balance: INR 1374.50."
    otp_sms = next(r for r in rows if r.event_id == by_customer.pk and r.channel == "SMS")
    assert otp_sms.body == "482913 is your one-time password for login. Never share it."
    fallback_sms = next(r for r in rows if r.event_id == bad_wallet.pk and r.channel == "SMS")
    assert fallback_sms.cardholder_id == holder.pk  # the walletId was junk; customerId resolved it


def test_quiet_hours_hold_non_urgent_messages_until_morning(partner, card, product):
    QuietHoursPolicyFactory(product=product, start=time(22, 0), end=time(8, 0))
    night = datetime(2026, 2, 12, 18, 0, tzinfo=UTC)  # 23:30 in Asia/Kolkata
    morning = datetime(2026, 2, 13, 2, 30, tzinfo=UTC)  # 08:00 local
    txn = make_event(partner, kitNo=card.kit_no, **TXN)
    blocked = make_event(partner, "CARD_BLOCKED", kitNo=card.kit_no, reason="Lost")  # urgent
    rows = plan_and_render([txn, blocked], now=night)
    held = [r for r in rows if r.event_id == txn.pk and r.channel != "IN_APP"]
    urgent = [r for r in rows if r.event_id == blocked.pk]
    assert {(r.status, r.next_attempt_at) for r in held} == {("HELD", morning)}
    # The inbox is never held: storing a message there disturbs nobody.
    inbox = next(r for r in rows if r.event_id == txn.pk and r.channel == "IN_APP")
    assert (inbox.status, inbox.next_attempt_at) == ("PENDING", night)
    assert {(r.status, r.next_attempt_at) for r in urgent} == {("PENDING", night)}


def test_default_quiet_hours_apply_without_a_policy_and_a_disabled_policy_turns_them_off(settings, partner, card,
                                                                                        product):
    settings.CUSTOMER_QUIET_HOURS = "22:00-08:00"
    night = datetime(2026, 2, 12, 18, 0, tzinfo=UTC)
    rows = plan_and_render([make_event(partner, kitNo=card.kit_no, **TXN)], now=night)
    assert {r.status for r in rows if r.channel != "IN_APP"} == {"HELD"}
    QuietHoursPolicyFactory(product=product, enabled=False)
    rows = plan_and_render([make_event(partner, kitNo=card.kit_no, **TXN)], now=night)
    assert {r.status for r in rows} == {"PENDING"}


def test_fallback_order_sends_only_the_first_receivable_channel(partner, card, holder, product):
    product.channel_fallback_order = ["PUSH", "SMS", "EMAIL", "IN_APP"]
    product.save()
    rows = plan_and_render([make_event(partner, kitNo=card.kit_no, **TXN)])
    assert [(r.channel, r.status) for r in rows] == [("PUSH", "PENDING")]

    holder.push_token = ""
    holder.save()
    rows = plan_and_render([make_event(partner, kitNo=card.kit_no, **TXN)])
    assert [(r.channel, r.status, r.skip_reason) for r in rows] == [
        ("PUSH", "SKIPPED", SkipReason.NO_CONTACT),
        ("SMS", "PENDING", ""),
    ]


def test_channels_outside_the_fallback_order_are_sent_independently(partner, card, product):
    product.channel_fallback_order = ["PUSH", "SMS"]
    product.save()
    rows = plan_and_render([make_event(partner, kitNo=card.kit_no, **TXN)])
    assert sorted((r.channel, r.status) for r in rows) == [
        ("EMAIL", "PENDING"), ("IN_APP", "PENDING"), ("PUSH", "PENDING")]


def test_a_batch_costs_a_fixed_number_of_queries(partner, product, django_assert_max_num_queries):
    events = []
    for n in range(30):
        holder = CardholderFactory(partner=partner, locale="hi-IN" if n % 2 else "en")
        card = CardFactory(partner=partner, wallet=WalletFactory(partner=partner, cardholder=holder,
                                                                 product=product))
        events.append(make_event(partner, kitNo=card.kit_no, **TXN))
        events.append(make_event(partner, "WALLET_LOADED", walletId=str(card.wallet.wallet_id), amount="1",
                                 currency="INR"))
        events.append(make_event(partner, "CUSTOMER_KYC_UPDATED", customerId=holder.external_id,
                                 kycStatus="FULL"))
    # cards, wallets, cardholders, newest wallets, templates, switches, quiet hours
    with django_assert_max_num_queries(7):
        rows = plan_customer_messages(events)
    assert len(rows) == 90 * 4
    assert {r.status for r in rows} == {"PENDING"}

    # The worker renders a claimed batch with a fixed number of queries too: what the events are about.
    CustomerMessage.objects.bulk_create(rows)
    claimed = list(CustomerMessage.objects.filter(pk__in=[r.pk for r in rows])
                   .select_related("event", "event__partner", "cardholder", "template"))
    with django_assert_max_num_queries(4):
        rendered = messages_render(claimed)
    assert len(rendered) == 360 and not any(r.error for r in rendered.values())
    assert all(r.body for r in rendered.values())


def _fields(message: CustomerMessage) -> dict:
    return {f.attname: getattr(message, f.attname) for f in CustomerMessage._meta.concrete_fields}


def test_message_rows_are_what_the_keyword_constructor_builds(partner, card, django_assert_num_queries):
    """Routing builds its rows from values in field order (the keyword constructor was a fifth of the planning
    CPU): every field, defaults included, must come out as Django's own constructor makes it."""
    event = make_event(partner, kitNo=card.kit_no, **TXN)
    holder, product = card.wallet.cardholder, card.wallet.product
    template = NotificationTemplateFactory(product=product, event_name=event.event_name, channel="SMS")
    now = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    cases = [
        ({}, {"channel": "PUSH", "status": "SKIPPED", "skip_reason": SkipReason.CARDHOLDER_NOT_FOUND,
              "created_at": now, "next_attempt_at": now}),
        ({"cardholder": holder, "product": product, "template": template},
         {"channel": "SMS", "recipient": "+919800000001", "locale": "en", "status": "HELD", "created_at": now,
          "next_attempt_at": datetime(2026, 12, 4, 8, 0, tzinfo=UTC)}),
    ]
    for related, values in cases:
        with django_assert_num_queries(0):
            built = routing.message_row(event=event, **related, **values)
            expected = CustomerMessage(event=event, partner_id=event.partner_id, **related, **values)
            assert _fields(built) == _fields(expected)
            assert built.event is event and built._state.adding and built.pk is None
            for name, obj in related.items():
                assert getattr(built, name) is obj, f"{name} is cached on the row"
    # A field with a callable default left out gets it called, as the constructor does.
    assert routing.message_row(event=event, channel="SMS").created_at is not None
    # The rows skip the constructor: nothing may be listening for its signals.
    assert not signals.pre_init.has_listeners(CustomerMessage)
    assert not signals.post_init.has_listeners(CustomerMessage)
    built = routing.message_row(event=event, channel="SMS")
    assert built._state.adding and built._state.db is None and built._state.fields_cache == {"event": event}
