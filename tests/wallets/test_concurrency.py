"""Two status changes racing on one wallet serialize on the row lock; the loser is judged on the winner's result.

Real transactions and one database connection per thread, so the lock is PostgreSQL's, not the test's."""

import threading

import pytest
from django.db import connection, transaction

from tests.factories import PartnerFactory, WalletFactory
from wallets.models import Wallet, WalletStatusTransition
from wallets.services.wallet_status import TransitionNotAllowed, wallet_change_status
from wallets.state_machine import Actor

pytestmark = pytest.mark.django_db(transaction=True)


def _run_in_thread(target, results: list, barrier: threading.Barrier | None = None) -> threading.Thread:
    def work():
        try:
            if barrier is not None:
                barrier.wait(timeout=10)
            results.append(target())
        except Exception as exc:  # the loser's refusal is a result too
            results.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_two_racing_closes_produce_one_transition_and_one_refusal():
    wallet = WalletFactory(partner=PartnerFactory(tenant_id="race"))
    barrier = threading.Barrier(2)
    results: list = []

    def close():
        # Each thread holds its own stale copy, read as ACTIVE before the race.
        stale = Wallet.objects.get(pk=wallet.pk)
        return wallet_change_status(wallet=stale, to_status="CLOSED", actor=Actor.PARTNER, actor_name="t",
                                    reason="CUSTOMER_REQUEST")

    threads = [_run_in_thread(close, results, barrier) for _ in range(2)]
    for thread in threads:
        thread.join(timeout=30)

    winners = [r for r in results if isinstance(r, WalletStatusTransition)]
    losers = [r for r in results if isinstance(r, TransitionNotAllowed)]
    assert len(winners) == len(losers) == 1, results
    assert losers[0].current == "CLOSED"  # the loser saw the winner's state, not its stale ACTIVE copy
    assert losers[0].allowed_targets == []
    assert WalletStatusTransition.objects.filter(wallet=wallet).count() == 1


def test_a_change_waits_for_the_lock_and_is_judged_on_the_new_status():
    wallet = WalletFactory(partner=PartnerFactory(tenant_id="race"))
    results: list = []
    started = threading.Event()

    def freeze_credit():
        stale = Wallet.objects.get(pk=wallet.pk)  # ACTIVE
        started.set()
        return wallet_change_status(wallet=stale, to_status="CREDIT_FREEZE", actor=Actor.PARTNER, actor_name="t",
                                    reason="DISPUTE")

    with transaction.atomic():
        # Hold the row lock as a concurrent request would, and block the wallet meanwhile.
        Wallet.objects.select_for_update().get(pk=wallet.pk)
        thread = _run_in_thread(freeze_credit, results)
        started.wait(timeout=10)
        thread.join(timeout=1)
        assert thread.is_alive(), "the second change must wait for the row lock"
        Wallet.objects.filter(pk=wallet.pk).update(status="BLOCKED")
    thread.join(timeout=30)

    [refusal] = results
    assert isinstance(refusal, TransitionNotAllowed)
    assert (refusal.current, refusal.target) == ("BLOCKED", "CREDIT_FREEZE")
    wallet.refresh_from_db()
    assert wallet.status == "BLOCKED"
    assert not WalletStatusTransition.objects.exists()
