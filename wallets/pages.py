"""The cardholder's own pages, opened from signed links without an account (wallets/links.py): the preference centre
(a partner puts its link in its app) and an email's one-click unsubscribe (RFC 8058). Server-rendered, no script,
in the cardholder's language (wallets/page_texts.py).

A link that is expired (410), tampered with (400) or about a cardholder that no longer exists (404) gets an error
page that says so; input the page cannot take is answered 400 with the page and the reasons, and nothing is saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from subscriptions.catalog import OPT_OUT_CATEGORIES
from subscriptions.models import AuditChannel
from wallets import preference_rules
from wallets.links import LinkError, preference_token_read, unsubscribe_token_read
from wallets.models import CONTACT_FIELDS as _CONTACTS
from wallets.models import Cardholder
from wallets.page_texts import PageTexts, page_texts
from wallets.services.preferences import cardholder_unsubscribe, cardholder_update, quiet_hours_of


def _error_page(request: HttpRequest, texts: PageTexts, kind: str, status: int) -> HttpResponse:
    context = {"texts": texts, "title": texts[f"{kind}_title"], "message": texts[kind]}
    return render_page(request, "wallets/link_error.html", context, status=status)


def render_page(request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    response = render(request, template, {**context, "language": context["texts"].language}, status=status)
    # The page is the cardholder's own: never cached by a proxy, never framed, not indexed.
    response["Cache-Control"] = "no-store"
    response["X-Frame-Options"] = "DENY"
    response["X-Robots-Tag"] = "noindex"
    # The token is in the URL: never send it to another site. (Not no-referrer: Chromium then posts the form with
    # "Origin: null", and Django's CSRF check refuses the cardholder's own save.)
    response["Referrer-Policy"] = "same-origin"
    return response


def _link_failure(request: HttpRequest, exc: LinkError) -> HttpResponse:
    texts = page_texts()
    if exc.reason == "expired":
        return _error_page(request, texts, "link_expired", 410)
    return _error_page(request, texts, "link_invalid", 400)


def _linked_cardholder(
    request: HttpRequest, token: str, read: Callable[[str], Any]
) -> tuple[Any, Cardholder] | HttpResponse:
    """The link's claim (`read` checks signature and expiry) and its cardholder, or the error page to answer."""
    try:
        claim = read(token)
    except LinkError as exc:
        return _link_failure(request, exc)
    cardholder = (Cardholder.objects.select_related("partner")
                  .filter(pk=claim.cardholder_id, partner_id=claim.partner_id).first())
    if cardholder is None:
        return _error_page(request, page_texts(), "not_found", 404)
    return claim, cardholder


def _channels(cardholder: Cardholder) -> list[str]:
    """The channels the page offers: those the cardholder can be reached on, and the inbox."""
    return [c for c in preference_rules.CHANNELS if c not in _CONTACTS or getattr(cardholder, _CONTACTS[c])]


def _form_state(cardholder: Cardholder, texts: PageTexts) -> dict[str, Any]:
    preferences = cardholder.channel_preferences or {}
    opt_outs = cardholder.category_opt_outs or {}
    channels = _channels(cardholder)
    quiet = quiet_hours_of(cardholder)
    return {
        "channels": [{"code": c, "label": texts[c], "on": preferences.get(c) is not False} for c in channels],
        "categories": [
            {"code": category, "label": texts[category], "index": index,
             "cells": [{"code": c, "label": texts[c], "on": c not in (opt_outs.get(category) or [])}
                       for c in channels]}
            for index, category in enumerate(OPT_OUT_CATEGORIES)
        ],
        "quiet_mode": "product" if quiet is None else ("custom" if quiet["enabled"] else "off"),
        "quiet_start": quiet["start"] if quiet and quiet["enabled"] else "22:00",
        "quiet_end": quiet["end"] if quiet and quiet["enabled"] else "07:00",
        "timezone": cardholder.timezone,
        "time_zones": preference_rules.time_zones(),
    }


def _changes_from_post(cardholder: Cardholder, post) -> tuple[dict[str, Any], list[str]]:
    """The preference fields a submitted page asks for, and what is wrong with it."""
    errors: list[str] = []
    channels = _channels(cardholder)
    preferences = dict(cardholder.channel_preferences or {})
    for channel in channels:
        if post.get(f"channel_{channel}"):
            preferences.pop(channel, None)  # absent = opted in
        else:
            preferences[channel] = False
    opt_outs = {
        category: [c for c in channels if not post.get(f"category_{index}_{c}")]
        for index, category in enumerate(OPT_OUT_CATEGORIES)
    }
    mode = post.get("quiet_mode", "product")
    quiet: Any = {"product": None, "off": {"enabled": False}}.get(mode)
    if mode == "custom":
        quiet = {"enabled": True, "start": post.get("quiet_start", ""), "end": post.get("quiet_end", "")}
    elif mode not in ("product", "off"):
        errors.append("Quiet hours: choose one of the options.")
    changes: dict[str, Any] = {"channel_preferences": preferences}
    for field, check, value in (
        ("category_opt_outs", preference_rules.category_opt_outs_clean, opt_outs),
        ("quiet_hours", preference_rules.quiet_hours_clean, quiet),
        ("timezone", preference_rules.time_zone_clean, post.get("timezone", cardholder.timezone)),
    ):
        try:
            changes[field] = check(value)
        except ValueError as exc:
            errors.append(str(exc))
    return changes, errors


@require_http_methods(["GET", "POST"])
def preference_centre(request: HttpRequest, token: str) -> HttpResponse:
    linked = _linked_cardholder(request, token, preference_token_read)
    if isinstance(linked, HttpResponse):
        return linked
    _claim, cardholder = linked
    texts = page_texts(locale=cardholder.locale)
    saved, errors, status = False, [], 200
    if request.method == "POST":
        changes, errors = _changes_from_post(cardholder, request.POST)
        if errors:
            status = 400
        else:
            cardholder = cardholder_update(
                cardholder=cardholder, changes=changes, channel=AuditChannel.SYSTEM,
                actor_name=f"cardholder {cardholder.external_id} (preference centre)",
            )
            saved = True
    context = {"texts": texts, "cardholder": cardholder, "partner": cardholder.partner, "saved": saved,
               "errors": errors, "greeting": texts["greeting"].format(name=cardholder.name.split(" ")[0],
                                                                       partner=cardholder.partner.name),
               **_form_state(cardholder, texts)}
    return render_page(request, "wallets/preferences.html", context, status=status)


@csrf_exempt  # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" with no cookie; the signed URL is the key
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (mail scanners open links, so a GET never unsubscribes); POST unsubscribes from the link's category
    on the link's channel, and nothing else."""
    linked = _linked_cardholder(request, token, unsubscribe_token_read)
    if isinstance(linked, HttpResponse):
        return linked
    claim, cardholder = linked
    texts = page_texts(locale=cardholder.locale)
    if claim.category not in OPT_OUT_CATEGORIES or claim.channel not in preference_rules.CHANNELS:
        return _error_page(request, texts, "link_invalid", 400)
    words = {"category": texts[claim.category], "partner": cardholder.partner.name}
    done = request.method == "POST"
    if done:
        cardholder_unsubscribe(cardholder=cardholder, category=claim.category, channel=claim.channel,
                               actor_name=f"cardholder {cardholder.external_id} (one-click unsubscribe)")
    context = {"texts": texts, "done": done, "question": texts["unsubscribe_question"].format(**words),
               "confirmation": texts["unsubscribed"].format(**words)}
    return render_page(request, "wallets/unsubscribe.html", context)
