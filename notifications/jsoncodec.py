"""JSON on the hot path (the bridge parses and writes every event, the worker records every attempt): orjson, a C
library several times faster than the standard library's json (docs/profiles/), wherever it gives the same answer,
and the standard library where it would not."""

import json
import re

import orjson

# orjson reads an integer outside 64 bits as a float (123456789012345678901234567890 -> 1.2345678901234568e+29),
# silently losing digits; the standard library keeps it exact. Such an integer has 19 digits or more.
_LONG_DIGIT_RUN = re.compile(rb"\d{19}")


def dumps(value: object) -> str:
    """Compact JSON text, as `json.dumps(value, separators=(",", ":"), ensure_ascii=False)` would give it (floats
    may be spelled differently, e.g. 1e-7 for 1e-07: the same number)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError: integers outside 64 bits, non-string keys
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(value: bytes, **stdlib_options) -> object:
    """Parse UTF-8 JSON bytes. orjson when it can be trusted with them; otherwise, and for everything orjson refuses,
    `json.loads(value.decode("utf-8"), **stdlib_options)`, so what is refused is refused by the standard library,
    with its error and message (callers pass their hooks, e.g. to refuse NaN)."""
    if not _LONG_DIGIT_RUN.search(value):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            pass  # let the standard library decide, and say why
    return json.loads(value.decode("utf-8"), **stdlib_options)
