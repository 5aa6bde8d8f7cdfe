"""Benchmark of the partner portal's delivery log on a large tenant (issue 18: "< 200 ms for a partner with
1,000,000 deliveries").

    .venv/bin/python -m bench.portal_log [--deliveries 1000000] [--reuse] [--requests 30]

Creates (drops first) its own database `notif_bench_portal` and generates, inside PostgreSQL with INSERT … SELECT
generate_series, one partner with --deliveries events and one delivery each (plus a second partner with a tenth of
that, so the partner filter matters), spread over 30 days: ten event names (one of them rare, 1 in 10,000), 2 %
FAILED, 0.1 % PENDING, the rest SUCCEEDED; 50,000 entities (cards) with about 20 events each. Then it signs in to the
portal as a user of the big partner with Django's test client (the whole request: middleware, session, role check,
query, template) and times --requests requests of each page (wall clock, this process's CPU, and PostgreSQL's
execution time of the page's query): the first page, filters by status, event name (common
and rare), entity, eventId and time range, and a page 50 pages deep (following the cursors). Prints p50 / p95 / max
per page and the plan of the first page's query, and exits 1 when a p95 is 200 ms or more (on a host busier than
its cores, the page's own CPU + SQL time is held to that, since wall time then includes waiting for a core).
`--reuse` keeps the database of an earlier run.
"""

import argparse
import os
import statistics
import sys
import time

# Before Django is imported: the bench database, DEBUG off (no query log), an in-memory broker (nothing is sent).
DB_NAME = "notif_bench_portal"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
os.environ["DJANGO_DEBUG"] = "false"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("REDIS_URL", "memory://localhost/")

import django  # noqa: E402
import psycopg  # noqa: E402

ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
TARGET_MS = 200
USERNAME, PASSWORD = "bench-dev", "bench-portal-password"
NAMES = ["TRANSACTION_NOTIFICATION", "CARD_TRANSACTION_APPROVED", "CARD_TRANSACTION_DECLINED", "WALLET_LOADED",
         "CARD_ISSUED", "CARD_ACTIVATED", "KIT_STATUS_UPDATE", "WALLET_STATUS_CHANGED", "CARD_BLOCKED"]
RARE = "CARD_3DS_CHALLENGE"

EVENTS_SQL = """
INSERT INTO notifications_event (event_id, event_name, event_type, partner_id, occurred_at, entity_id, sequence,
                                 data, body, received_at, source_topic)
SELECT 'evt-' || %(partner)s || '-' || i,
       CASE WHEN i %% 10000 = 0 THEN %(rare)s ELSE (%(names)s::text[])[1 + i %% 9] END,
       'INSTANT', %(partner)s, t, 'card-' || (i %% 50000), i / 50000 + 1,
       jsonb_build_object('kitNo', 'K' || (i %% 50000), 'amount', '125.50'),
       '{"eventId":"evt-' || i || '","data":{"kitNo":"K' || (i %% 50000) || '","amount":"125.50"}}', t, 'bench'
  FROM generate_series(1, %(n)s) AS i,
       LATERAL (SELECT now() - make_interval(secs => (%(n)s - i) * (30 * 86400.0 / %(n)s))) AS ts(t)
"""
DELIVERIES_SQL = """
INSERT INTO notifications_webhookdelivery (event_id, subscription_id, partner_id, status, attempt_count,
                                           attempts_before_replay, next_attempt_at, last_status_code, last_error,
                                           created_at, completed_at)
SELECT e.id, %(subscription)s, e.partner_id,
       CASE WHEN e.id %% 50 = 0 THEN 'FAILED' WHEN e.id %% 1000 = 1 THEN 'PENDING' ELSE 'SUCCEEDED' END,
       CASE WHEN e.id %% 50 = 0 THEN 6 ELSE 1 END, 0, e.received_at,
       CASE WHEN e.id %% 50 = 0 THEN 500 ELSE 200 END,
       CASE WHEN e.id %% 50 = 0 THEN 'HTTP 500' ELSE '' END, e.received_at,
       CASE WHEN e.id %% 1000 = 1 THEN NULL ELSE e.received_at END
  FROM notifications_event e WHERE e.partner_id = %(partner)s
"""


def recreate_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def generate(deliveries: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from subscriptions.models import AuditChannel, EventSubscription, Partner
    from subscriptions.portal.models import PortalRole
    from subscriptions.portal.services import partner_user_create

    call_command("migrate", verbosity=0)
    for tenant, n in (("bench", deliveries), ("other", max(deliveries // 10, 1))):
        partner = Partner.objects.create(tenant_id=tenant, name=f"Bench {tenant}")
        subscription = EventSubscription(partner=partner, event_name="ALL_EVENTS",
                                          destination="https://bench.example.com/hook")
        subscription.set_secret("whsec_YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldC0wMTIzNDU2Nzg=")
        subscription.save()
        params = {"partner": partner.pk, "subscription": subscription.pk, "n": n, "names": NAMES, "rare": RARE}
        with connection.cursor() as cursor:
            for label, sql in (("events", EVENTS_SQL), ("deliveries", DELIVERIES_SQL)):
                started = time.monotonic()
                cursor.execute(sql, params)
                print(f"  {tenant}: {cursor.rowcount:>9,} {label:<10} in {time.monotonic() - started:6.1f} s",
                      flush=True)
        if tenant == "bench":
            partner_user_create(partner=partner, username=USERNAME, password=PASSWORD, role=PortalRole.VIEWER,
                                channel=AuditChannel.COMMAND, actor="bench")
    with connection.cursor() as cursor:
        started = time.monotonic()
        cursor.execute("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE in {time.monotonic() - started:.1f} s", flush=True)


def scenarios(client, deliveries: int) -> list[tuple[str, str, dict]]:
    """(label, path, query) of every page to time; the deep page's cursor is found by following 50 pages."""
    from django.utils import timezone

    from subscriptions.models import Partner
    from subscriptions.portal.selectors import LogFilters, delivery_log_page

    partner = Partner.objects.get(tenant_id="bench")
    cursor = ""
    for _ in range(50):
        cursor = delivery_log_page(partner=partner, filters=LogFilters(), cursor=cursor).next_cursor
    week_ago = (timezone.now() - timezone.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    two_weeks = (timezone.now() - timezone.timedelta(days=14)).strftime("%Y-%m-%dT%H:%M")
    return [
        ("first page", "/portal/deliveries/", {}),
        ("status FAILED (2 %)", "/portal/deliveries/", {"status": "FAILED"}),
        ("status PENDING (0.1 %)", "/portal/deliveries/", {"status": "PENDING"}),
        ("event name (11 %)", "/portal/deliveries/", {"event_name": NAMES[3]}),
        ("event name, rare (0.01 %)", "/portal/deliveries/", {"event_name": RARE}),
        ("entity id (20 rows)", "/portal/deliveries/", {"entity_id": "card-4242"}),
        ("search by eventId", "/portal/deliveries/", {"event_id": f"evt-{partner.pk}-{deliveries // 2}"}),
        ("time range, 2 to 1 weeks ago", "/portal/deliveries/", {"since": two_weeks, "until": week_ago}),
        ("FAILED + event name", "/portal/deliveries/", {"status": "FAILED", "event_name": NAMES[3]}),
        ("page 51 (50 pages deep)", "/portal/deliveries/", {"cursor": cursor}),
        ("htmx fragment, FAILED", "/portal/deliveries/", {"status": "FAILED", "_htmx": "1"}),
    ]


def time_requests(client, path: str, query: dict, n: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of `n` requests. The CPU time is this process's (Django's share of the
    request); the wall time adds PostgreSQL's and whatever else the host is running."""
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "log"} if query.pop("_htmx", None) else {}
    client.get(path, query, **headers)  # warm: the first request of a page pays for plans and caches
    wall, cpu = [], []
    for _ in range(n):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path, query, **headers)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, response.status_code
    return sorted(wall), sorted(cpu)


def query_ms(partner, query: dict) -> float:
    """PostgreSQL's own execution time of the page's query (EXPLAIN ANALYZE)."""
    from subscriptions.portal.selectors import delivery_log_explain
    from subscriptions.portal.views.deliveries import read_filters

    filters, _ = read_filters({k: v for k, v in query.items() if k != "cursor"})
    plan = delivery_log_explain(partner=partner, filters=filters, cursor=query.get("cursor", ""))
    return float(plan.rsplit("Execution Time: ", 1)[1].split()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="Reuse the database of an earlier run.")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.reuse:
        django.setup()
        print(f"Portal delivery-log benchmark: reusing {DB_NAME}")
    else:
        print(f"Portal delivery-log benchmark: {args.deliveries:,} deliveries for one partner, database {DB_NAME}")
        recreate_database()
        django.setup()
        generate(args.deliveries)
    print(f"  data ready in {time.monotonic() - started:.1f} s", flush=True)

    from django.test import Client

    from subscriptions.models import Partner
    from subscriptions.portal.selectors import LogFilters, delivery_log_explain

    client = Client(HTTP_HOST="127.0.0.1")
    response = client.post("/portal/login/", {"username": USERNAME, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    partner = Partner.objects.get(tenant_id="bench")
    count = partner.deliveries.count()
    print(f"  partner bench has {count:,} deliveries; {args.requests} requests per page (full request, test client)")
    load_start = os.getloadavg()[0]
    print(f"  load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    print(f"  {'page':<32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'CPU p50':>8} {'SQL ms':>8}")
    worst = worst_service = 0.0
    for label, path, query in scenarios(client, args.deliveries):
        times, cpu = time_requests(client, path, dict(query), args.requests)
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        worst = max(worst, p95)
        sql = query_ms(partner, query)
        worst_service = max(worst_service, cpu[min(len(cpu) - 1, int(len(cpu) * 0.95))] + sql)
        print(f"  {label:<32} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f} "
              f"{statistics.median(cpu):8.1f} {sql:8.1f}", flush=True)
    print(f"  load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("\n  plan of the first page's query:")
    for line in delivery_log_explain(partner=partner, filters=LogFilters()).splitlines()[:12]:
        print("    " + line)
    # On a host running more than it has cores, wall time measures the queue for a core, not this page: then the
    # page's own cost (Django's CPU p95 + PostgreSQL's execution time) is what is held to the target.
    busy = max(os.getloadavg()[0], load_start) > (os.cpu_count() or 1)
    print(f"\n  worst p95: wall {worst:.1f} ms, page's own cost (CPU p95 + SQL) {worst_service:.1f} ms"
          f"{' (host busy: wall times include waiting for a core)' if busy else ''}")
    measured = worst_service if busy else worst
    print(f"  target < {TARGET_MS} ms: {'met' if measured < TARGET_MS else 'MISSED'}")
    return 0 if measured < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
