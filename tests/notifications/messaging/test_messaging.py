"""message_send_batch / message_due_ids against the local providers: routing -> rows -> sends -> outcomes."""

import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import guards, retry
from notifications.messaging import sending
from notifications.messaging.routing import plan_customer_messages
from notifications.messaging.sending import _claim, _send_one, _SentGroup, message_due_ids, message_send_batch
from notifications.models import CustomerMessage, InboxMessage
from tests.notifications.messaging.fakes import Scripted
from tests.templates_app.factories import QuietHoursPolicyFactory, make_event

pytestmark = pytest.mark.django_db

TXN = {"amount": "125.50", "currency": "INR", "merchantName": "Chai Point", "balance": "874.50"}


def _plan(partner, card, event_name="CARD_TRANSACTION_APPROVED", **data) -> dict[str, CustomerMessage]:
    """Plan and save the rows the way ingest does; returns them by channel."""
    rows = plan_customer_messages([make_event(partner, event_name, kitNo=card.kit_no, **(data or TXN))])
    CustomerMessage.objects.bulk_create(rows)
    return {r.channel: r for r in rows}


def test_an_event_reaches_the_cardholder_on_every_channel(partner, card, providers):
    smtp, twilio, fcm = providers
    rows = _plan(partner, card)
    assert message_send_batch(message_ids=[r.pk for r in rows.values()]) == {}

    sent = {m.channel: m for m in CustomerMessage.objects.filter(pk__in=[r.pk for r in rows.values()])}
    assert {m.status for m in sent.values()} == {"SENT"}
    assert all(m.attempt_count == 1 and m.sent_at and m.claim_token for m in sent.values())

    [(_, rcpt, email)] = smtp.messages
    assert rcpt == ["asha@example.com"]
    assert email["Subject"] == "Payment of INR 125.50"
    assert "XXXX XXXX XXXX 4242" in email.get_body(("plain",)).get_content()
    assert "XXXX XXXX XXXX 4242" in email.get_body(("html",)).get_content()
    assert email["Message-ID"] == sent["EMAIL"].provider_message_id

    [sms] = twilio.sms()
    assert sms["To"] == "+919800000001"
    assert sms["Body"] == "INR 125.50 spent at Chai Point with card XXXX XXXX XXXX 4242. Balance: INR 874.50."
    assert sent["SMS"].provider_message_id.startswith("SM")

    [push] = fcm.pushes()
    assert push["token"] == "fcm-token-asha"
    assert push["notification"]["title"] == "Payment of INR 125.50"
    assert push["data"]["messageId"] == str(sent["PUSH"].pk)
    assert sent["PUSH"].provider_message_id.startswith("projects/demo-project/messages/")


def test_a_sent_message_is_never_sent_twice(partner, card, providers):
    _, twilio, _ = providers
    sms = _plan(partner, card)["SMS"]
    message_send_batch(message_ids=[sms.pk])
    assert message_send_batch(message_ids=[sms.pk, sms.pk]) == {}
    assert len(twilio.requests) == 1


def test_transient_error_is_retried_on_the_schedule(partner, card, providers):
    _, twilio, _ = providers
    sms = _plan(partner, card)["SMS"]
    twilio.script.append(Scripted(503, {"code": 20503, "message": "Service Unavailable"}))
    before = timezone.now()
    requeue = message_send_batch(message_ids=[sms.pk])

    assert set(requeue) == {sms.pk}
    assert 27 <= requeue[sms.pk] <= 33  # 30 s +-10 % jitter
    sms.refresh_from_db()
    assert (sms.status, sms.attempt_count) == ("PENDING", 1)
    assert "503" in sms.last_error
    assert before + timedelta(seconds=26) < sms.next_attempt_at < timezone.now() + timedelta(seconds=34)
    assert message_send_batch(message_ids=[sms.pk]) == {}  # not due yet: untouched
    assert len(twilio.requests) == 1

    CustomerMessage.objects.filter(pk=sms.pk).update(next_attempt_at=timezone.now())
    assert message_send_batch(message_ids=[sms.pk]) == {}
    sms.refresh_from_db()
    assert (sms.status, sms.attempt_count, sms.last_error) == ("SENT", 2, "")


def test_providers_retry_after_is_honoured(partner, card, providers):
    _, twilio, _ = providers
    sms = _plan(partner, card)["SMS"]
    twilio.script.append(Scripted(429, {"code": 20429, "message": "Too Many Requests"}, {"Retry-After": "300"}))
    assert message_send_batch(message_ids=[sms.pk]) == {sms.pk: 300.0}


def test_exhausted_retries_fail_and_fall_back(settings, partner, card, product, providers):
    smtp, twilio, _ = providers
    settings.CUSTOMER_MESSAGE_MAX_ATTEMPTS = 2
    product.channel_fallback_order = ["SMS", "EMAIL"]
    product.save()
    rows = _plan(partner, card)
    assert set(rows) == {"SMS", "PUSH", "IN_APP"}  # EMAIL waits in the cascade
    sms = rows["SMS"]
    twilio.script.extend([Scripted(500, {"code": 20500}), Scripted(500, {"code": 20500})])
    message_send_batch(message_ids=[sms.pk])
    CustomerMessage.objects.filter(pk=sms.pk).update(next_attempt_at=timezone.now())
    requeue = message_send_batch(message_ids=[sms.pk])

    sms.refresh_from_db()
    assert sms.status == "FAILED"
    assert "gave up after 2 attempts" in sms.last_error
    backup = CustomerMessage.objects.get(fallback_of=sms)
    assert (backup.channel, backup.status, backup.recipient) == ("EMAIL", "PENDING", "asha@example.com")
    assert requeue == {backup.pk: 0.0}
    message_send_batch(message_ids=list(requeue))
    backup.refresh_from_db()
    assert backup.status == "SENT"
    assert len(smtp.messages) == 1


def test_permanent_errors_walk_the_fallback_order(partner, card, holder, product, providers):
    smtp, twilio, fcm = providers
    product.channel_fallback_order = ["PUSH", "SMS", "EMAIL"]
    product.save()
    holder.push_token, holder.phone = "unregistered-device", "+0001234"
    holder.save()
    rows = _plan(partner, card)
    assert sorted(rows) == ["IN_APP", "PUSH"]  # the inbox is outside this cascade: sent on its own

    requeue = message_send_batch(message_ids=[rows["PUSH"].pk])
    push = CustomerMessage.objects.get(pk=rows["PUSH"].pk)
    assert push.status == "FAILED" and "UNREGISTERED" in push.last_error
    sms = CustomerMessage.objects.get(fallback_of=push)
    assert requeue == {sms.pk: 0.0}

    requeue = message_send_batch(message_ids=list(requeue))
    sms.refresh_from_db()
    assert sms.status == "FAILED" and "21211" in sms.last_error
    email = CustomerMessage.objects.get(fallback_of=sms)
    assert email.channel == "EMAIL"

    assert message_send_batch(message_ids=list(requeue)) == {}
    email.refresh_from_db()
    assert email.status == "SENT"
    assert (len(fcm.requests), len(twilio.requests), len(smtp.messages)) == (1, 1, 1)


def test_permanent_error_without_a_next_channel_just_fails(partner, card, holder, providers):
    _, _, fcm = providers
    holder.push_token = "unregistered-device"
    holder.save()
    push = _plan(partner, card)["PUSH"]  # no fallback order: channels are independent
    assert message_send_batch(message_ids=[push.pk]) == {}
    push.refresh_from_db()
    assert push.status == "FAILED"
    assert not CustomerMessage.objects.filter(fallback_of=push).exists()
    assert len(fcm.requests) == 1


def test_card_number_in_the_text_is_refused_not_sent(partner, card, providers):
    _, twilio, _ = providers
    # Rendered by the worker from event data that carries a card number (a merchant name, here).
    sms = _plan(partner, card, **{**TXN, "merchantName": "4111 1111 1111 1111"})["SMS"]
    assert message_send_batch(message_ids=[sms.pk]) == {}
    sms.refresh_from_db()
    assert (sms.status, sms.skip_reason, sms.last_error) == (
        "FAILED", guards.REFUSAL_REASON, guards.REFUSAL_REASON)
    assert twilio.requests == []


def test_held_messages_wait_for_the_end_of_quiet_hours(partner, card, providers):
    _, twilio, _ = providers
    sms = _plan(partner, card)["SMS"]
    later = timezone.now() + timedelta(hours=3)
    CustomerMessage.objects.filter(pk=sms.pk).update(status="HELD", next_attempt_at=later)
    assert sms.pk not in message_due_ids(grace_seconds=0)
    assert message_send_batch(message_ids=[sms.pk]) == {}
    assert twilio.requests == []

    CustomerMessage.objects.filter(pk=sms.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert sms.pk in message_due_ids(grace_seconds=0)
    message_send_batch(message_ids=[sms.pk])
    sms.refresh_from_db()
    assert sms.status == "SENT"


def test_a_retry_that_would_land_in_quiet_hours_is_held(partner, card, holder, product, providers):
    _, twilio, _ = providers
    local_now = timezone.now().astimezone(ZoneInfo(holder.timezone))
    # A window from an hour ago to three hours ahead, in the cardholder's time zone.
    QuietHoursPolicyFactory(product=product, start=(local_now - timedelta(hours=1)).time().replace(microsecond=0),
                            end=(local_now + timedelta(hours=3)).time().replace(microsecond=0))
    txn_sms = _plan(partner, card)["SMS"]
    CustomerMessage.objects.filter(pk=txn_sms.pk).update(status="PENDING", next_attempt_at=timezone.now())
    twilio.script.append(Scripted(503, {"code": 20503}))
    requeue = message_send_batch(message_ids=[txn_sms.pk])
    txn_sms.refresh_from_db()
    assert txn_sms.status == "HELD"
    assert 2.9 * 3600 < requeue[txn_sms.pk] < 3.1 * 3600
    assert txn_sms.next_attempt_at > timezone.now() + timedelta(hours=2, minutes=50)


def test_expired_leases_are_reclaimed_and_live_ones_are_not(partner, card, providers):
    rows = _plan(partner, card)
    sms, email = rows["SMS"], rows["EMAIL"]
    now = timezone.now()
    CustomerMessage.objects.filter(pk=sms.pk).update(status="SENDING", lease_expires_at=now - timedelta(seconds=1),
                                                     attempt_count=1)
    CustomerMessage.objects.filter(pk=email.pk).update(status="SENDING", lease_expires_at=now + timedelta(minutes=2),
                                                       attempt_count=1)
    due = message_due_ids(grace_seconds=0)
    assert sms.pk in due and email.pk not in due
    message_send_batch(message_ids=[sms.pk, email.pk])
    sms.refresh_from_db()
    email.refresh_from_db()
    assert (sms.status, sms.attempt_count) == ("SENT", 2)
    assert (email.status, email.attempt_count) == ("SENDING", 1)


def test_an_outcome_is_not_recorded_by_a_worker_that_lost_its_claim(partner, card, providers):
    sms = _plan(partner, card)["SMS"]
    [claimed] = _claim([sms.pk])
    # Meanwhile the lease expired and another worker re-claimed the row with its own token.
    CustomerMessage.objects.filter(pk=sms.pk).update(claim_token="00000000-0000-0000-0000-000000000001")
    sent = _SentGroup(claimed.claim_token)
    assert _send_one(claimed, {}, None, sent) == {}
    assert sent.flush() == {}
    sms.refresh_from_db()
    assert (sms.status, str(sms.claim_token)) == ("SENDING", "00000000-0000-0000-0000-000000000001")


def _record_statements(queries) -> list[str]:
    table = CustomerMessage._meta.db_table
    return [q["sql"] for q in queries if q["sql"].lstrip().startswith(f'UPDATE "{table}" AS m')]


def test_successful_sends_are_recorded_in_one_statement_per_group(partner, card, providers, monkeypatch):
    rows = _plan(partner, card)
    with CaptureQueriesContext(connection) as queries:
        assert message_send_batch(message_ids=[r.pk for r in rows.values()]) == {}
    assert len(_record_statements(queries)) == 1
    for m in CustomerMessage.objects.filter(pk__in=[r.pk for r in rows.values()]):
        assert (m.status, m.last_error, m.lease_expires_at) == ("SENT", "", None)
        assert m.provider_message_id and m.sent_at == m.finished_at and m.rendered_at
        assert m.body  # the text rendered for this attempt is written with its outcome

    # A full group is written before the next send: groups of two, four messages, two statements.
    monkeypatch.setattr(sending, "RECORD_GROUP_SIZE", 2)
    rows = _plan(partner, card)
    with CaptureQueriesContext(connection) as queries:
        message_send_batch(message_ids=[r.pk for r in rows.values()])
    assert len(_record_statements(queries)) == 2
    assert set(CustomerMessage.objects.filter(pk__in=[r.pk for r in rows.values()])
               .values_list("status", flat=True)) == {"SENT"}


def test_a_group_waits_no_longer_than_its_time_bound(partner, card, providers, monkeypatch):
    """A slow provider after a success does not leave the success unrecorded for a whole chunk: once the bound has
    passed, the waiting records are written before the next send."""
    monkeypatch.setattr(sending, "RECORD_GROUP_SECONDS", 0.0)
    rows = _plan(partner, card)
    with CaptureQueriesContext(connection) as queries:
        message_send_batch(message_ids=[r.pk for r in rows.values()])
    assert len(_record_statements(queries)) == len(rows)


def test_a_group_writes_the_messages_it_still_holds_and_skips_the_one_taken_over(partner, card, providers):
    rows = _plan(partner, card)
    claimed = _claim([rows["SMS"].pk, rows["EMAIL"].pk])
    CustomerMessage.objects.filter(pk=rows["EMAIL"].pk).update(claim_token="00000000-0000-0000-0000-000000000002")
    sent = _SentGroup(claimed[0].claim_token)
    for message in claimed:
        _send_one(message, {}, None, sent)
    assert sent.flush() == {}
    sms, email = (CustomerMessage.objects.get(pk=rows[c].pk) for c in ("SMS", "EMAIL"))
    assert sms.status == "SENT" and sms.provider_message_id.startswith("SM")
    assert (email.status, email.provider_message_id) == ("SENDING", "")


def test_an_in_app_message_sent_again_keeps_its_one_inbox_entry(partner, card, providers):
    inbox = _plan(partner, card)["IN_APP"]
    message_send_batch(message_ids=[inbox.pk])
    inbox.refresh_from_db()
    [entry] = InboxMessage.objects.filter(message=inbox)
    assert inbox.provider_message_id == f"inbox-{entry.pk}"
    # An at-least-once resend (the worker died before its record): the same entry, nothing added.
    CustomerMessage.objects.filter(pk=inbox.pk).update(status="PENDING", next_attempt_at=timezone.now())
    message_send_batch(message_ids=[inbox.pk])
    inbox.refresh_from_db()
    assert InboxMessage.objects.filter(message=inbox).count() == 1
    assert (inbox.status, inbox.provider_message_id) == ("SENT", f"inbox-{entry.pk}")
    assert (entry.title, entry.body) == (inbox.subject, inbox.body)


def test_message_due_ids_lists_only_due_work(partner, card):
    rows = _plan(partner, card)
    future = timezone.now() + timedelta(hours=1)
    CustomerMessage.objects.filter(pk=rows["PUSH"].pk).update(next_attempt_at=future)
    CustomerMessage.objects.filter(pk__in=[rows["EMAIL"].pk, rows["IN_APP"].pk]).update(status="SENT")
    assert message_due_ids(grace_seconds=0) == [rows["SMS"].pk]
    assert message_due_ids(limit=0, grace_seconds=0) == []
    # Freshly queued PENDING work is left to its own task for the grace period.
    assert message_due_ids(grace_seconds=30) == []
    CustomerMessage.objects.filter(pk=rows["SMS"].pk).update(next_attempt_at=timezone.now() - timedelta(minutes=1))
    assert message_due_ids(grace_seconds=30) == [rows["SMS"].pk]


def test_retry_delay_schedule():
    """The customer-message schedule of notifications.retry: 30 s, 2 min, 8 min, 32 min, then hourly."""
    schedule = retry.MESSAGE_SCHEDULE
    for attempts, base in [(1, 30), (2, 120), (3, 480), (4, 1920), (5, 3600), (9, 3600)]:
        delay = retry.retry_delay_seconds(schedule, retry_number=attempts)
        assert base * 0.9 <= delay <= base * 1.1
    assert retry.retry_delay_seconds(schedule, retry_number=1, retry_after=500) == 500
    assert retry.retry_delay_seconds(schedule, retry_number=1, retry_after=10**9) == 6 * 3600


# Committed rows are needed for a second connection to see them (the sample_templates fixture puts the migration's
# templates back for later tests after the flush).
@pytest.mark.django_db(transaction=True)
def test_rows_locked_by_another_worker_are_skipped(partner, card, providers):
    _, twilio, _ = providers
    sms = _plan(partner, card)["SMS"]
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        with transaction.atomic():
            list(CustomerMessage.objects.select_for_update().filter(pk=sms.pk))
            locked.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(10)
        assert message_send_batch(message_ids=[sms.pk]) == {}  # SKIP LOCKED: no wait, no send
        assert twilio.requests == []
    finally:
        release.set()
        thread.join()
    message_send_batch(message_ids=[sms.pk])
    assert CustomerMessage.objects.get(pk=sms.pk).status == "SENT"
