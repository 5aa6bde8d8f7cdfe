"""OpenAPI (drf-spectacular) pieces shared by every partner endpoint of every app:

- the bearer-token security scheme of `TenantTokenAuthentication`;
- `PartnerAutoSchema` (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]), which adds the required `X-TENANT-ID` header and
  the 401 / 403 / 429 error responses to every operation that uses that authentication;
- the error body of `config.partner_api.errors` as a component, and `error_responses(...)` for `extend_schema`."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from config.partner_api.authentication import TenantTokenAuthentication

TENANT_HEADER_NAME = "X-TENANT-ID"  # read by the authentication class as META["HTTP_X_TENANT_ID"]


class TenantTokenScheme(OpenApiAuthenticationExtension):
    target_class = "config.partner_api.authentication.TenantTokenAuthentication"
    name = "PartnerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "Partner API token (`ppn_…`) issued by the platform (`manage.py issue_token`). Send it as "
                "`Authorization: Bearer {token}` together with the `X-TENANT-ID` header of the token's tenant. "
                "Tokens have an access level: 1 read-only, 2 standard, 3 admin."
            ),
        }


class ApiErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Machine-readable code: validation_error, parse_error, not_authenticated, authentication_failed, "
        "permission_denied, not_found, conflict, throttled, …"
    )
    message = serializers.CharField(help_text="Human-readable explanation.")
    fields = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Validation errors only: a list of messages per invalid field (nested objects nest).",
    )
    retryAfter = serializers.IntegerField(
        required=False, help_text="429 only: seconds to wait before trying again (as the Retry-After header)."
    )

    class Meta:
        ref_name = "ApiErrorBody"


class ApiErrorSerializer(serializers.Serializer):
    error = ApiErrorBodySerializer()

    class Meta:
        ref_name = "ApiError"


_DEFAULT_ERRORS = {
    400: ("Invalid request: malformed JSON or invalid fields (see error.fields).", "validation_error",
          "The request has invalid fields.", {"destination": ["The destination must be an https:// URL."]}),
    401: ("Missing, malformed, unknown or revoked API token.", "authentication_failed",
          "Invalid or revoked token.", None),
    403: ("X-TENANT-ID missing or not the token's tenant, or the token's access level is too low.",
          "permission_denied",
          "This operation requires an API token of access level 2 (Standard); this token has level 1.", None),
    404: ("No such resource for this tenant.", "not_found", "Not found.", None),
    409: ("Conflicts with existing data.", "conflict", "The request conflicts with the current state.", None),
    429: ("Too many failed authentication attempts from this IP address; see the Retry-After header.",
          "throttled", "Too many failed authentication attempts from this address; try again later.", None),
}


def error_response(status_code: int, description: str | None = None, message: str | None = None,
                   fields: dict | None = None) -> OpenApiResponse:
    """An OpenApiResponse with the shared error body and an example."""
    default_description, code, default_message, default_fields = _DEFAULT_ERRORS.get(
        status_code, ("Error.", "error", "Error.", None)
    )
    body: dict = {"code": code, "message": message or default_message}
    if status_code == 400:
        body["fields"] = fields or default_fields
    return OpenApiResponse(
        response=ApiErrorSerializer,
        description=description or default_description,
        examples=[OpenApiExample(f"{status_code} {code}", value={"error": body}, response_only=True,
                                 status_codes=[str(status_code)])],
    )


def error_responses(*status_codes: int) -> dict[int, OpenApiResponse]:
    """`{code: OpenApiResponse}` for extend_schema(responses=...)."""
    return {code: error_response(code) for code in status_codes}


TENANT_PARAMETER = OpenApiParameter(
    name=TENANT_HEADER_NAME,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=True,
    description="Your tenant id. Must be the tenant the bearer token was issued for (403 otherwise).",
)


class PartnerAutoSchema(AutoSchema):
    """AutoSchema that documents what TenantTokenAuthentication requires of every partner endpoint."""

    def _is_partner_endpoint(self) -> bool:
        # Schema and docs views (and any future public view) have other authenticators and get nothing added.
        return any(isinstance(a, TenantTokenAuthentication) for a in self.view.get_authenticators())

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._is_partner_endpoint():
            parameters.append(TENANT_PARAMETER)
        return parameters

    def _get_response_bodies(self, direction="response"):
        # Overrides a private hook of drf-spectacular (pinned in requirements.txt): the public
        # get_response_serializers() would lose the default 200/201/204 choice made here.
        responses = super()._get_response_bodies(direction)
        if direction == "response" and self._is_partner_endpoint():
            for status_code in (401, 403, 429):
                if str(status_code) not in responses:
                    responses[str(status_code)] = self._get_response_for_code(
                        error_response(status_code), str(status_code), direction=direction
                    )
        return responses
