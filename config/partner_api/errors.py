"""One error shape for the whole partner API:
`{"error": {"code": ..., "message": ..., "fields": {field: [messages]}}}` plus DRF's field errors at the top level
for validation errors, so clients can read either."""

import logging
import math

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import JsonResponse
from django.views.defaults import page_not_found
from django.views.defaults import server_error as django_server_error
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"

    def __init__(self, detail=None, code=None, extra: dict | None = None):
        super().__init__(detail, code)
        self.extra = extra or {}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        if isinstance(exc, RequestDataTooBig):
            return Response(body_too_large_body(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        if isinstance(exc, IntegrityError):
            logger.warning("Integrity error turned into 409: %s", exc)
            return Response(
                {"error": {"code": "conflict", "message": "The request conflicts with existing data."}},
                status=status.HTTP_409_CONFLICT,
            )
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"nonFieldErrors": exc.detail}
        response.data = {
            "error": {"code": "validation_error", "message": "The request has invalid fields.", "fields": fields}
        }
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        body = {"error": {"code": getattr(exc, "default_code", "error"), "message": str(detail)}}
        if isinstance(exc, Conflict) and exc.extra:
            body["error"].update(exc.extra)
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["error"]["retryAfter"] = math.ceil(exc.wait)  # the Retry-After header's value, for JSON-only clients
        response.data = body
    return response


def body_too_large_body() -> dict:
    limit = settings.PARTNER_API_MAX_BODY_BYTES
    return {"error": {"code": "request_too_large", "message": f"The request body is larger than {limit} bytes."}}


def not_found(request, exception=None):
    """404 for URLs no route matches: the API's JSON error shape under the API prefix, Django's page elsewhere."""
    if request.path.startswith("/prepaid/"):
        return JsonResponse({"error": {"code": "not_found", "message": "No such resource."}}, status=404)
    return page_not_found(request, exception)


def server_error(request):
    """500: the API's JSON error shape under the API prefix (nothing of the error leaks), Django's page elsewhere."""
    if request.path.startswith("/prepaid/"):
        return JsonResponse({"error": {"code": "server_error", "message": "Something went wrong on our side; the "
                                       "request can be retried."}}, status=500)
    return django_server_error(request)
