"""Benchmark of the daily advance-notification sweep on a large card base (issue 5, "Scale").

    .venv/bin/python -m bench.sweep_bench [--cards 1000000] [--partners 10] [--date 2026-06-01] [--reuse]
                                          [--database notif_bench_sweep]

Creates (drops first) its own database, `notif_bench_sweep` unless `--database` or the environment variable
SWEEP_BENCH_DB names another (give each checkout that benchmarks on one server a name of its own), generates the
cards inside PostgreSQL with INSERT … SELECT generate_series (a few minutes for a million), then times three sweeps
with notifications.sweep.run. `--reuse` keeps the database of an earlier run and only undoes what its sweeps wrote
(notices, outbox, transitions, audit entries, card and wallet statuses), to measure again without regenerating. The
three sweeps:

1. the first run on --date: today's notices plus the catch-up window (ADVANCE_CATCHUP_DAYS) and every card whose
   expiry or inactivation date has come;
2. the next day: the steady daily load;
3. the next day again: a repeated run, which must send nothing.

Each line prints wall time, notices sent and the process's peak RSS (resource.getrusage; the card generation runs
in the database server, so the peak is the sweep's), then the time per event. Data shape: one cardholder and wallet
per card, cards spread round-robin over the partners; expiry dates uniform (hashed) over three years from the day
before --date (about 1/1095 of the cards per day); last activity uniform over the 366 days up to --date with a
dormancy period of 365 days (about 1/366 of the cards reach it per day); 2% of the cards BLOCKED. Partners 0-5
subscribe to both advance events with [30, 15, 7], partner 6 has ALL_EVENTS (default periods), partner 7 a
disabled subscription, the others none.
"""

import argparse
import os
import resource
import sys
import time
from datetime import date, timedelta


# Before Django is imported: the bench database, no DEBUG query log, and an in-memory Celery broker so the sweep's
# "publish the outbox" nudge after each commit costs nothing and leaves nothing behind in Redis (a REDIS_URL
# exported in the shell would otherwise queue those nudges on a real Redis).
def _database_name(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg == "--database" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--database="):
            return arg.split("=", 1)[1]
    return os.environ.get("SWEEP_BENCH_DB", "notif_bench_sweep")


DB_NAME = _database_name(sys.argv[1:])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
os.environ["DJANGO_DEBUG"] = "false"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["REDIS_URL"] = "memory://localhost/"

import django  # noqa: E402
import psycopg  # noqa: E402

from bench.report import sweep_targets  # noqa: E402

ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DORMANCY_DAYS = 365
EXPIRY_SPREAD_DAYS = 1095

CARDHOLDERS_SQL = """
INSERT INTO wallets_cardholder (partner_id, external_id, name, phone, email, push_token, locale, timezone,
                                channel_preferences, category_opt_outs, invalid_destinations, created_at)
SELECT p.ids[1 + i %% cardinality(p.ids)], 'C' || i, 'Holder ' || i, '+9198' || lpad(i::text, 8, '0'),
       'holder' || i || '@example.com', '', 'en', 'Asia/Kolkata', '{}'::jsonb, '{}'::jsonb, '{}'::jsonb, now()
  FROM generate_series(1, %(cards)s) AS i, (SELECT array_agg(id ORDER BY id) AS ids FROM subscriptions_partner) p
"""
# One wallet per cardholder, on its partner's product.
WALLETS_SQL = """
INSERT INTO wallets_wallet (wallet_id, partner_id, cardholder_id, product_id, status, balance, currency, created_at,
                            updated_at)
SELECT gen_random_uuid(), ch.partner_id, ch.id, pr.id, 'ACTIVE', 100, 'INR', now(), now()
  FROM wallets_cardholder ch JOIN wallets_product pr ON pr.partner_id = ch.partner_id
"""
CARDS_SQL = """
INSERT INTO wallets_card (card_id, kit_no, partner_id, wallet_id, last4, expiry_date, status, last_activity_at,
                          created_at, updated_at)
SELECT gen_random_uuid(), 'K' || w.id, w.partner_id, w.id, lpad((w.id %% 10000)::text, 4, '0'),
       %(run_date)s::date - 1 + (abs(hashint8extended(w.id, 1)) %% %(expiry_spread)s)::integer,
       CASE WHEN abs(hashint8extended(w.id, 2)) %% 50 = 0 THEN 'BLOCKED' ELSE 'ACTIVE' END,
       ((%(run_date)s::date - (abs(hashint8extended(w.id, 3)) %% (%(dormancy)s + 1))::integer)::timestamp
           + make_interval(secs => abs(hashint8extended(w.id, 4)) %% 86000)) AT TIME ZONE 'UTC',
       now(), now()
  FROM wallets_wallet w
"""


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def recreate_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


RESET_SQL = [
    # CASCADE: tables that point at transitions (status idempotency keys) are empty in the bench database.
    "TRUNCATE notifications_advancenotice, notifications_outboxmessage, wallets_walletstatustransition,"
    " subscriptions_auditentry CASCADE",
    "UPDATE wallets_card SET status = 'ACTIVE' WHERE status IN ('EXPIRED', 'INACTIVE')",
    "UPDATE wallets_wallet SET status = 'ACTIVE' WHERE status = 'EXPIRED'",
    "VACUUM ANALYZE",
]


def reset() -> int:
    """Undo the sweeps of an earlier run; returns the number of cards found."""
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in RESET_SQL:
            cursor.execute(sql)
        cursor.execute("SELECT count(*) FROM wallets_card")
        return cursor.fetchone()[0]


def generate(*, cards: int, partners: int, run_date: date) -> None:
    from django.core.management import call_command
    from django.db import connection

    from subscriptions.models import EventSubscription, Partner
    from wallets.models import Product

    call_command("migrate", verbosity=0)
    for n in range(partners):
        partner = Partner.objects.create(tenant_id=f"bench{n}", name=f"Bench partner {n}")
        Product.objects.create(partner=partner, code="std", name="Standard", dormancy_days=DORMANCY_DAYS)
        if n <= 5:
            names, enabled = ["KIT_EXPIRY_ADVANCE_NOTIFICATION", "KIT_INACTIVATION_ADVANCE_NOTIFICATION"], True
        elif n == 6:
            names, enabled = ["ALL_EVENTS"], True
        elif n == 7:
            names, enabled = ["KIT_EXPIRY_ADVANCE_NOTIFICATION"], False
        else:
            names, enabled = [], True
        for name in names:
            subscription = EventSubscription(
                partner=partner,
                event_name=name,
                is_enabled=enabled,
                destination="https://bench.example.com/hook",
                advance_notification_periods=[] if name == "ALL_EVENTS" else [30, 15, 7],
            )
            subscription.set_secret("whsec_YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldC0wMTIzNDU2Nzg=")
            subscription.save()
    params = {"cards": cards, "run_date": run_date, "expiry_spread": EXPIRY_SPREAD_DAYS, "dormancy": DORMANCY_DAYS}
    with connection.cursor() as cursor:
        for label, sql in (("cardholders", CARDHOLDERS_SQL), ("wallets", WALLETS_SQL), ("cards", CARDS_SQL)):
            started = time.monotonic()
            cursor.execute(sql, params)
            print(f"  generated {cursor.rowcount:>9,} {label:<12} in {time.monotonic() - started:6.1f} s", flush=True)
        cursor.execute("ANALYZE")


def timed_sweep(label: str, run_date: date) -> dict:
    from notifications.sweep.run import sweep_run

    started = time.monotonic()
    report = sweep_run(run_date=run_date)
    elapsed = time.monotonic() - started
    row = {
        "label": label,
        "date": run_date.isoformat(),
        "seconds": elapsed,
        "due": report.total_due,
        "sent": report.total_sent,
        "peak_rss_mb": peak_rss_mb(),
        "report": report,
    }
    print(
        f"  {label:<28} {run_date}  {elapsed:7.1f} s  due {report.total_due:>7,}  sent {report.total_sent:>7,}"
        f"  peak RSS {row['peak_rss_mb']:6.0f} MB",
        flush=True,
    )
    by_event = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.as_dict()["secondsByEvent"].items())
    print(f"      {by_event}", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=10)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 6, 1))
    parser.add_argument("--reuse", action="store_true", help="Reuse the database of an earlier run (same --date).")
    parser.add_argument("--database", default=DB_NAME,
                        help="The bench database (default: $SWEEP_BENCH_DB or notif_bench_sweep); dropped first.")
    args = parser.parse_args(argv)

    started = time.monotonic()
    if args.reuse:
        django.setup()
        print(f"Advance sweep benchmark: reusing {DB_NAME} ({reset():,} cards)")
    else:
        print(f"Advance sweep benchmark: {args.cards:,} cards, {args.partners} partners, database {DB_NAME}")
        recreate_database()
        django.setup()
        generate(cards=args.cards, partners=args.partners, run_date=args.date)
    print(f"  data ready in {time.monotonic() - started:.1f} s; peak RSS so far {peak_rss_mb():.0f} MB", flush=True)

    from django.conf import settings

    print(
        f"  chunk size {settings.ADVANCE_SWEEP_CHUNK_SIZE}, catch-up {settings.ADVANCE_CATCHUP_DAYS} days, "
        f"default periods {settings.ADVANCE_DEFAULT_PERIODS}"
    )
    first = timed_sweep("first run (with catch-up)", args.date)
    daily = timed_sweep("next day (steady state)", args.date + timedelta(days=1))
    repeat = timed_sweep("same day again (idempotent)", args.date + timedelta(days=1))
    if repeat["sent"] != 0:
        print("FAIL: the repeated run sent notices again", file=sys.stderr)
        return 1

    print("\nPer event and period, first run:")
    from notifications.management.commands.run_advance_sweep import format_report

    print(format_report(first["report"]))
    print("\nPer event and period, steady-state day:")
    print(format_report(daily["report"]))
    print(f"\ntargets (issue 20, {args.cards:,} cards):")
    for target, measured, met in sweep_targets(first, daily, repeat):
        print(f"  [{'met' if met else 'NOT MET'}] {target}: {measured}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
