"""Strict serializer building blocks for partner API input: JSON types are not coerced (`"true"`, `1` and `"3"` are
not booleans or integers) and unknown fields are rejected, so a typo such as `maxRetry` is a 400, not ignored."""

from collections.abc import Mapping

from rest_framework import serializers

MAX_REPORTED_UNKNOWN_FIELDS = 10


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be a JSON boolean (true or false)."}

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        self.fail("invalid")


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "Must be a JSON integer."}

    def to_internal_value(self, data):
        # bool is a subclass of int; 3.0 and "3" are not integers in the API's contract either.
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Must be a JSON string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictInputSerializer(serializers.Serializer):
    """Fields not listed here are refused with a 400 naming them; read-only fields of the response may be sent back
    as they were read and are ignored."""

    # (Partner-facing: drf-spectacular shows this docstring as the request body's description. `ignored_fields`
    # are the read-only fields of the matching response, so a client can send back what it read: GET, change, PUT.)

    ignored_fields: tuple[str, ...] = ()

    def to_internal_value(self, data):
        unknown: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            names = [k for k in data if k not in self.fields and k not in self.ignored_fields]
            allowed = ", ".join(self.fields)
            for name in names[:MAX_REPORTED_UNKNOWN_FIELDS]:
                unknown[str(name)[:64]] = [f"Unknown field. Allowed fields: {allowed}."]
            data = {k: v for k, v in data.items() if k not in self.ignored_fields}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                exc.detail.update({k: [serializers.ErrorDetail(m, code="unknown_field") for m in v]
                                   for k, v in unknown.items()})
            raise
        if unknown:
            raise serializers.ValidationError(unknown, code="unknown_field")
        return value
