"""Every SQL statement of the sweep, each with its reason; table names come from the models' metadata."""

from datetime import date

from django.db import connection
from django.utils import timezone

from notifications.models import AdvanceNotice
from notifications.sweep.report import LOCK_CLASS
from wallets.models import Card, Cardholder, Product, Wallet

# One page of the cards whose target date lies in [first, last], by id, read once through the (status, <date>)
# index; only then are they matched to the (partner, period, target date) windows and joined to their cardholder.
# Joining the windows first would make PostgreSQL re-read a day's cards once per partner, and every page would
# redo the whole join. `noticed` tells an already-sent notice apart without a second query; the insert's ON
# CONFLICT still decides when two sweeps race.
PAGE_SQL = """
WITH page AS MATERIALIZED (
    SELECT c.id, c.card_id, c.kit_no, c.last4, c.partner_id, c.wallet_id, {target_expr} AS target
      FROM {card} c
      {page_join}
     WHERE c.status = %(active)s AND c.partner_id = ANY(%(partners)s) AND c.id > %(after)s AND {range_filter}
     ORDER BY c.id
     LIMIT %(limit)s
)
SELECT page.id, page.card_id, page.kit_no, page.last4, page.partner_id, w.days_before, w.mode, page.target,
       ch.external_id, ch.name, sent.hit IS NOT NULL AS noticed
  FROM page
  LEFT JOIN unnest(%(w_partner)s::bigint[], %(w_days)s::integer[], %(w_mode)s::text[], %(w_target)s::date[])
       AS w(partner_id, days_before, mode, target)
       ON w.partner_id = page.partner_id AND w.target = page.target
  -- LATERAL: one probe of the unique index per card; a plain EXISTS may be planned as a hash of every notice of
  -- the event, a table that grows every day.
  LEFT JOIN LATERAL (SELECT 1 AS hit FROM {notice} n
                      WHERE n.card_id = page.id AND n.event_name = %(event)s
                        AND n.days_before = w.days_before AND n.target_date = page.target
                      LIMIT 1) sent ON true
  JOIN {wallet} wa ON wa.id = page.wallet_id
  JOIN {cardholder} ch ON ch.id = wa.cardholder_id
 ORDER BY page.id
"""
EXPIRY_SQL = {
    "target_expr": "c.expiry_date",
    "page_join": "",
    "range_filter": "c.expiry_date BETWEEN %(first)s AND %(last)s",
}
# Inactivation date = local date of the last activity + the product's dormancy days. Cards are taken one dormancy
# period at a time so the range on last_activity_at can use the (status, last_activity_at) index; a card that
# expires before it would go dormant gets expiry reminders instead.
DORMANCY_TARGET = "((c.last_activity_at AT TIME ZONE %(tz)s)::date + %(dormancy_days)s::integer)"
DORMANCY_SQL = {
    "target_expr": DORMANCY_TARGET,
    "page_join": "JOIN {wallet} pw ON pw.id = c.wallet_id JOIN {product} p ON p.id = pw.product_id",
    "range_filter": (
        "p.dormancy_days = %(dormancy_days)s AND c.last_activity_at >= %(active_from)s"
        f" AND c.last_activity_at < %(active_to)s AND c.expiry_date >= {DORMANCY_TARGET}"
    ),
}
# Cards per target date, to cut the dates into pages of about a chunk each and to size the progress bar. Reads the
# (status, <date>) index only; it over-counts (every partner, every product), which only makes pages smaller.
# A run for one tenant filters by partner too (heap reads, but only that tenant's cards are counted).
EXPIRY_COUNT_SQL = """
SELECT c.expiry_date, count(*) FROM {card} c
 WHERE c.status = %(active)s AND c.expiry_date BETWEEN %(first)s AND %(last)s {partner_filter}
 GROUP BY 1
"""
DORMANCY_COUNT_SQL = """
SELECT (c.last_activity_at AT TIME ZONE %(tz)s)::date + %(dormancy_days)s::integer, count(*) FROM {card} c
 WHERE c.status = %(active)s AND c.last_activity_at >= %(active_from)s AND c.last_activity_at < %(active_to)s
       {partner_filter}
 GROUP BY 1
"""

INSERT_NOTICES_SQL = """
INSERT INTO {notice} (card_id, partner_id, event_name, days_before, target_date, due_date, sent_on, late, event_id,
                      created_at)
SELECT u.card_id, u.partner_id, %(event)s, u.days_before, u.target_date, u.due_date, %(sent_on)s, u.late, u.event_id,
       %(now)s
  FROM unnest(%(card_id)s::bigint[], %(partner_id)s::bigint[], %(days_before)s::integer[], %(target_date)s::date[],
              %(due_date)s::date[], %(late)s::boolean[], %(event_id)s::text[])
       AS u(card_id, partner_id, days_before, target_date, due_date, late, event_id)
ON CONFLICT (card_id, event_name, days_before, target_date) DO NOTHING
RETURNING card_id, days_before
"""


def tables() -> dict[str, str]:
    return {
        "notice": AdvanceNotice._meta.db_table,
        "card": Card._meta.db_table,
        "wallet": Wallet._meta.db_table,
        "cardholder": Cardholder._meta.db_table,
        "product": Product._meta.db_table,
    }



def insert_notices(
    *, event_name: str, run_date: date, notices: list[tuple[int, int, int, date, date, str]]
) -> set[tuple[int, int]]:
    """Insert (card pk, partner pk, days before, target, due date, event id) notices; return the (card pk, days
    before) pairs that were new. A notice is late when its due day lies before the run date."""
    if not notices:
        return set()
    columns = list(zip(*notices, strict=True))
    params = {
        "event": event_name,
        "sent_on": run_date,
        "now": timezone.now(),
        "card_id": list(columns[0]),
        "partner_id": list(columns[1]),
        "days_before": list(columns[2]),
        "target_date": list(columns[3]),
        "due_date": list(columns[4]),
        "late": [due < run_date for due in columns[4]],
        "event_id": list(columns[5]),
    }
    with connection.cursor() as cursor:
        cursor.execute(INSERT_NOTICES_SQL.format(**tables()), params)
        return {(card_pk, days) for card_pk, days in cursor.fetchall()}



def advisory_xact_lock(key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_CLASS, key])
