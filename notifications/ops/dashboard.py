"""Operations dashboard in the Django admin (staff only): delivery outcomes per hour, success rate per partner,
failing endpoints, open dead letters, overdue work and consumer lag, each linking to the filtered admin list.

Charts are SVG drawn here on the server: no JavaScript chart library is needed (none can be fetched offline), the
page works without scripts, and the markup is testable."""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from notifications.models import DeadLetter, DeliveryStatus
from notifications.ops import heartbeats
from notifications.ops import selectors as ops_selectors
from notifications.ops.metrics import STATE_ROW as METRICS_STATE_ROW

OUTCOME_COLOURS = {
    DeliveryStatus.SUCCEEDED: "#2e7d32",
    DeliveryStatus.FAILED: "#c62828",
    DeliveryStatus.PENDING: "#f9a825",
    DeliveryStatus.SENDING: "#1565c0",
    DeliveryStatus.CANCELLED: "#9e9e9e",
}
HEALTHY_RATE, WARNING_RATE = 0.99, 0.95


def admin_url(viewname: str, args: list | None = None, **query) -> str | None:
    """URL of an admin page with changelist filters, or None when that model is not registered in the admin."""
    try:
        url = reverse(viewname, args=args)
    except NoReverseMatch:
        return None
    return f"{url}?{urlencode(query)}" if query else url


def _svg_text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 11, fill: str = "#444") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">{escape(text)}</text>'
    )


def stacked_bar_chart_svg(
    *, labels: list[str], series: dict[str, list[int]], colours: dict[str, str], title: str, width: int = 760
) -> SafeString:
    """Stacked vertical bars, one per label; each rect has a <title> tooltip with its exact count."""
    height, left, right, top, bottom = 260, 44, 12, 28, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    peak = max(max(totals, default=0), 1)
    slot = plot_w / max(len(labels), 1)
    bar_w = max(slot * 0.72, 1)
    parts = [
        f'<svg class="ops-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    # Horizontal grid lines at 0, 1/2 and the peak.
    for fraction in (0, 0.5, 1):
        y = top + plot_h - fraction * plot_h
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(_svg_text(left - 6, y + 4, f"{round(peak * fraction)}", anchor="end"))
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h
        for status, values in series.items():
            if not values[i]:
                continue
            h = values[i] / peak * plot_h
            y -= h
            parts.append(
                f'<rect class="bar" data-status="{escape(status)}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{colours.get(status, "#777")}">'
                f"<title>{escape(label)} {escape(status)}: {values[i]}</title></rect>"
            )
        if i % 3 == 0 or i == len(labels) - 1:
            parts.append(_svg_text(x + bar_w / 2, top + plot_h + 14, label, anchor="middle", size=10))
    # Legend under the axis.
    x = left
    for status in series:
        parts.append(f'<rect x="{x}" y="{height - 16}" width="10" height="10" fill="{colours.get(status, "#777")}"/>')
        parts.append(_svg_text(x + 14, height - 7, status.title(), size=10))
        x += 24 + 7 * len(status)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text went through escape()


def rate_bar_chart_svg(*, rows: list[ops_selectors.PartnerRate], title: str, width: int = 760) -> SafeString:
    """One horizontal bar per partner: success rate, coloured green / amber / red by threshold."""
    row_h, left, right, top = 26, 150, 190, 8
    height = top * 2 + row_h * max(len(rows), 1)
    plot_w = width - left - right
    parts = [
        f'<svg class="ops-chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if not rows:
        parts.append(_svg_text(left, top + 17, "No deliveries in the last 24 hours."))
    for i, row in enumerate(rows):
        y = top + i * row_h
        parts.append(_svg_text(left - 8, y + 17, row.tenant_id, anchor="end", size=12))
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{plot_w}" height="{row_h - 8}" fill="#eee"/>')
        rate = row.success_rate
        if rate is None:
            summary = f"no finished deliveries ({row.open} open)"
        else:
            colour = "#2e7d32" if rate >= HEALTHY_RATE else "#f9a825" if rate >= WARNING_RATE else "#c62828"
            parts.append(
                f'<rect class="bar" data-tenant="{escape(row.tenant_id)}" x="{left}" y="{y + 4}" '
                f'width="{rate * plot_w:.1f}" height="{row_h - 8}" fill="{colour}">'
                f"<title>{escape(row.tenant_id)}: {rate:.1%}</title></rect>"
            )
            summary = f"{rate:.1%} ({row.succeeded}/{row.finished})"
        parts.append(_svg_text(left + plot_w + 8, y + 17, summary, size=12))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text went through escape()


@dataclass(frozen=True)
class Link:
    label: str
    url: str | None


def _delivery_links(now: datetime) -> dict[str, Link]:
    changelist = "admin:notifications_webhookdelivery_changelist"
    overdue_before = ops_selectors.overdue_cutoff(now).isoformat()
    return {
        "failed": Link("Failed deliveries", admin_url(changelist, status__exact=DeliveryStatus.FAILED)),
        "pending": Link("Pending deliveries", admin_url(changelist, status__exact=DeliveryStatus.PENDING)),
        "overdue": Link(
            "Overdue deliveries",
            admin_url(changelist, status__exact=DeliveryStatus.PENDING, next_attempt_at__lt=overdue_before),
        ),
        "dead_letters": Link(
            "Open dead letters",
            admin_url("admin:notifications_deadletter_changelist", status__exact=DeadLetter.Status.OPEN),
        ),
        "disabled": Link(
            "Disabled subscriptions",
            admin_url("admin:subscriptions_eventsubscription_changelist", is_enabled__exact=0),
        ),
    }


def dashboard_context(*, now: datetime | None = None) -> dict:
    """Everything the dashboard shows, computed in one place (and testable without a request)."""
    now = now or timezone.now()
    hourly = ops_selectors.deliveries_per_hour(hours=24, now=now)
    rates = ops_selectors.partner_success_rates(hours=24, now=now)
    endpoints = ops_selectors.failing_endpoints(now=now)
    dead_letters, dead_by_reason = ops_selectors.open_dead_letters()
    overdue = ops_selectors.overdue_deliveries(now=now)
    local_hours = [timezone.localtime(hour).strftime("%H:00") for hour in hourly.hours]
    deliveries_changelist = "admin:notifications_webhookdelivery_changelist"
    for subscription in endpoints:
        subscription.failed_url = admin_url(
            deliveries_changelist, subscription__id__exact=subscription.pk, status__exact=DeliveryStatus.FAILED
        )
        subscription.change_url = admin_url(
            "admin:subscriptions_eventsubscription_change", args=[subscription.pk]
        )
    for letter in dead_letters:
        letter.change_url = admin_url("admin:notifications_deadletter_change", args=[letter.pk])
    for delivery in overdue:
        delivery.change_url = admin_url("admin:notifications_webhookdelivery_change", args=[delivery.pk])
    return {
        "now": now,
        "backlog": ops_selectors.backlog_get(now=now),
        "hourly_chart": stacked_bar_chart_svg(
            labels=local_hours,
            series=hourly.series,
            colours=OUTCOME_COLOURS,
            title="Webhook deliveries per hour (last 24 h), by outcome",
        ),
        "hourly_totals": {status: sum(values) for status, values in hourly.series.items()},
        "rate_chart": rate_bar_chart_svg(rows=rates, title="Delivery success rate per partner (last 24 h)"),
        "rates": rates,
        "failing_endpoints": endpoints,
        "dead_letters": dead_letters,
        "dead_letters_by_reason": dead_by_reason,
        "overdue": overdue,
        "bridges": heartbeats.bridge_lags(include_stale=True),
        "heartbeats": [row for row in heartbeats.heartbeat_list() if row.name != METRICS_STATE_ROW],
        "links": _delivery_links(now),
    }


def dashboard_view(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Operations dashboard",
        **dashboard_context(),
    }
    return TemplateResponse(request, "admin/ops_dashboard.html", context)


# admin_view: staff only (others are sent to the admin login), never cached, CSRF-protected like every admin page.
dashboard = admin.site.admin_view(dashboard_view)
