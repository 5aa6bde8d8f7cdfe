"""The hot-path JSON codec must answer exactly as the standard library does: same values (integers past 64 bits
kept exact), same refusals, same text up to the spelling of floats."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifications import jsoncodec


def _reject_constant(name):
    raise ValueError(name)


def _finite(text):
    number = float(text)
    if math.isinf(number):
        raise ValueError(text)
    return number


HOOKS = {"parse_constant": _reject_constant, "parse_float": _finite}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parses_and_writes_what_the_standard_library_does(value):
    text = json.dumps(value, ensure_ascii=False).encode()
    assert jsoncodec.loads(text, **HOOKS) == json.loads(text.decode(), **HOOKS)
    assert json.loads(jsoncodec.dumps(value)) == value


@pytest.mark.parametrize("number", [2**63, 2**64 + 1, -(2**63) - 1, 123456789012345678901234567890])
def test_integers_past_64_bits_stay_exact(number):
    text = f'{{"transactionId": {number}}}'.encode()
    assert jsoncodec.loads(text) == {"transactionId": number}
    assert jsoncodec.dumps({"transactionId": number}) == f'{{"transactionId":{number}}}'


@pytest.mark.parametrize("text", [b"NaN", b"[Infinity]", b"1e400", b'"\xff"', b"{oops", b"[1,]", b"01", b'"a\tb"'])
def test_refuses_what_the_standard_library_refuses_with_its_error(text):
    with pytest.raises((ValueError, UnicodeDecodeError)) as ours:
        jsoncodec.loads(text, **HOOKS)
    with pytest.raises((ValueError, UnicodeDecodeError)) as theirs:
        json.loads(text.decode("utf-8"), **HOOKS)
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


def test_writes_compact_json_with_non_ascii_kept():
    assert jsoncodec.dumps({"merchant": "Café ☕", "n": [1, None]}) == '{"merchant":"Café ☕","n":[1,null]}'
