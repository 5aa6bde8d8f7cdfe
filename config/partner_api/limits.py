"""Limits on what a partner-API request may carry, checked before any view runs, each answered in the API's JSON
error shape (docs/security.md lists them):

- a NUL character (`%00`) in the path: 404, since no resource can be named with one (PostgreSQL text cannot hold
  it); in the query: 400;
- a body over PARTNER_API_MAX_BODY_BYTES: 413;
- JSON nested deeper than PARTNER_API_MAX_JSON_DEPTH: 400 (`PartnerJSONParser`). A NUL character inside a JSON
  string is refused by the field it is sent in (DRF's string fields), with that field's error."""

import json
from collections.abc import Callable
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from config.partner_api.errors import body_too_large_body

API_PREFIX = "/prepaid/"


def error_response(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def body_too_large() -> JsonResponse:
    return JsonResponse(body_too_large_body(), status=413)


class PartnerApiLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            if "\x00" in request.path_info:
                return error_response(404, "not_found", "No such resource: a name with a NUL character (%00) "
                                      "cannot exist.")
            if "\x00" in unquote(request.META.get("QUERY_STRING", "")):
                return error_response(400, "invalid_request", "The query holds a NUL character (%00), which no "
                                      "parameter accepts.")
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error_response(400, "invalid_request", "The Content-Length header is not a number.")
            if length > settings.PARTNER_API_MAX_BODY_BYTES:
                return body_too_large()
        return self.get_response(request)


def json_depth_exceeds(text: str, limit: int) -> bool:
    """Whether JSON `text` nests arrays/objects deeper than `limit` (brackets inside strings do not count)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


class PartnerJSONParser(JSONParser):
    """DRF's JSON parser with the depth limit above: a deeply nested document is refused before the recursive parser
    could run out of stack."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(settings.DEFAULT_CHARSET)
        except UnicodeDecodeError as exc:
            raise ParseError(f"The body is not UTF-8: {exc}.") from None
        limit = settings.PARTNER_API_MAX_JSON_DEPTH
        if json_depth_exceeds(text, limit):
            raise ParseError(f"JSON nested deeper than {limit} levels.")
        try:
            return json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
