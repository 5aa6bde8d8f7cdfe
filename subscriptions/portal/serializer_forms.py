"""HTML forms drawn from the partner API's own input serializers, so the portal offers exactly the options the API
has (a field added to `SubscriptionCreateApi.InputSerializer` appears in the portal with its help text and is
validated by the same serializer) and sends the same JSON the API would receive.

`form_fields()` turns a serializer into a tree of `FormField`s to render; `form_payload()` turns the POSTed form
back into the API's JSON shape. Field types map to widgets: booleans to checkboxes, integers to number inputs,
choices to selects, nested serializers to fieldsets, lists to comma-separated text, string maps (e.g. headers) to
`Name: value` lines, anything else to a JSON text area."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from rest_framework import serializers


@dataclass
class FormField:
    name: str  # the API's field path, dotted for nested fields: retryConfig.maxRetries
    label: str
    widget: str  # checkbox | number | text | select | list | lines | json | group
    help_text: str = ""
    required: bool = False
    value: str = ""
    checked: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)
    min_value: int | None = None
    max_value: int | None = None
    max_length: int | None = None
    errors: list[str] = field(default_factory=list)
    children: list["FormField"] = field(default_factory=list)
    readonly: bool = False


def _label(name: str) -> str:
    words, current = [], ""
    for char in name:
        if char.isupper() and current:
            words.append(current)
            current = char.lower()
        else:
            current += char
    words.append(current)
    return " ".join(words).capitalize()


def _widget(f: serializers.Field) -> str:
    if isinstance(f, serializers.BaseSerializer):
        return "group"
    if isinstance(f, serializers.BooleanField):
        return "checkbox"
    if isinstance(f, serializers.ChoiceField):
        return "select"
    if isinstance(f, serializers.IntegerField):
        return "number"
    if isinstance(f, serializers.ListField):
        return "list"
    if isinstance(f, serializers.DictField) and isinstance(f.child, serializers.CharField):
        return "lines"
    if isinstance(f, serializers.CharField):
        return "text"
    return "json"


def _display(widget: str, value: Any) -> str:
    if value is None:
        return ""
    if widget == "list":
        return ", ".join(str(v) for v in value)
    if widget == "lines":
        return "\n".join(f"{k}: {v}" for k, v in (value or {}).items())
    if widget == "json":
        return json.dumps(value, indent=2)
    return str(value)


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF error detail ({"retryConfig": {"maxRetries": [...]}}) or the services' dotted keys, as path -> messages."""
    if isinstance(detail, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            for sub_path, messages in flatten_errors(value, path).items():
                flat.setdefault(sub_path, []).extend(messages)
        return flat
    if isinstance(detail, list | tuple):
        messages: list[str] = []
        flat = {}
        for item in detail:
            if isinstance(item, Mapping):
                flat.update(flatten_errors(item, prefix))
            else:
                messages.append(str(item))
        if messages:
            flat.setdefault(prefix or "nonFieldErrors", []).extend(messages)
        return flat
    return {prefix or "nonFieldErrors": [str(detail)]}


def form_fields(
    serializer: serializers.Serializer,
    *,
    initial: Mapping[str, Any] | None = None,
    errors: Mapping[str, list[str]] | None = None,
    choices: Mapping[str, list[tuple[str, str]]] | None = None,
    readonly: tuple[str, ...] = (),
    prefix: str = "",
    optional_group: bool = False,
) -> list[FormField]:
    """The fields of `serializer` to render, filled with `initial` (the API's JSON shape) and `errors` (by path).
    `choices` turns a free-text field into a select (e.g. eventName from the catalog). Inside an optional group
    (e.g. `auth`) every select may be left empty, which leaves the whole group out."""
    initial, errors, choices = initial or {}, errors or {}, choices or {}
    result = []
    for name, f in serializer.fields.items():
        if f.read_only:
            continue
        path = f"{prefix}{name}"
        widget = "select" if path in choices else _widget(f)
        value = initial.get(name)
        if value is None and f.default is not serializers.empty and not callable(f.default):
            value = f.default
        item = FormField(
            name=path, label=_label(name), widget=widget, help_text=str(f.help_text or ""), required=f.required,
            errors=list(errors.get(path, [])), readonly=path in readonly,
        )
        if widget == "group":
            item.children = form_fields(f, initial=value or {}, errors=errors, choices=choices, readonly=readonly,
                                        prefix=f"{path}.", optional_group=optional_group or not f.required)
        elif widget == "checkbox":
            item.checked = bool(value)
        else:
            item.value = _display(widget, value)
        if widget == "select":
            options = choices.get(path) or [(str(k), str(v)) for k, v in f.choices.items()]
            item.choices = ([] if f.required and not optional_group else [("", "—")]) + list(options)
        if isinstance(f, serializers.IntegerField):
            item.min_value, item.max_value = f.min_value, f.max_value
        if isinstance(f, serializers.CharField):
            item.max_length = f.max_length
        result.append(item)
    return result


def form_payload(
    serializer: serializers.Serializer, data: QueryDict, *, prefix: str = "", keep_empty_lists: bool = False
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The API JSON for a POSTed form, and the errors of values that could not even be read (a number that is no
    number, JSON that does not parse), by path. An empty optional field is left out, as a client would."""
    payload: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for name, f in serializer.fields.items():
        if f.read_only:
            continue
        path = f"{prefix}{name}"
        widget = _widget(f)
        if widget == "group":
            nested, nested_problems = form_payload(f, data, prefix=f"{path}.", keep_empty_lists=keep_empty_lists)
            problems.update(nested_problems)
            if nested:
                payload[name] = nested
            continue
        if widget == "checkbox":
            if path in data:  # the template sends a hidden "false" before the checkbox, so unchecked is explicit
                payload[name] = "true" in data.getlist(path)
            continue
        raw = data.get(path, "").strip()
        if raw == "":
            if widget == "list" and keep_empty_lists and path in data:
                payload[name] = []
            continue
        try:
            payload[name] = _parse(widget, f, raw)
        except ValueError as exc:
            problems[path] = [str(exc)]
    return payload, problems


def _parse(widget: str, f: serializers.Field, raw: str) -> Any:
    if widget == "number":
        try:
            return int(raw)
        except ValueError:
            raise ValueError("Enter a whole number.") from None
    if widget == "list":
        items = [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
        if isinstance(f.child, serializers.IntegerField):
            try:
                return [int(item) for item in items]
            except ValueError:
                raise ValueError("Enter whole numbers separated by commas.") from None
        return items
    if widget == "lines":
        mapping = {}
        for line in raw.splitlines():
            if not line.strip():
                continue
            key, sep, value = line.partition(":")
            if not sep or not key.strip():
                raise ValueError(f"Write one `Name: value` per line; {line.strip()[:40]!r} has no colon.")
            mapping[key.strip()] = value.strip()
        return mapping
    if widget == "json":
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"Not valid JSON: {exc}.") from None
    return raw
