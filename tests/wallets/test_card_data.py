"""The card-data guard on partner-API input."""

import pytest

from wallets.card_data import card_data_errors, looks_like_card_number


@pytest.mark.parametrize(
    "value",
    ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "x411111111111y", "123456789012",
     "card 5500 0000 0000 0004 please"],
)
def test_long_digit_runs_look_like_card_numbers(value):
    assert looks_like_card_number(value)


@pytest.mark.parametrize(
    "value",
    ["12345678901", "K-0001", "4242", "+91 98000", "2030-12-31", "12345678-1234-1234-1234-123456789012",
     "Flat 12, 4th floor", "12:30 on 2030-12-31",
     "held 2026-01-01 - 2026-02-01"],
)
def test_ordinary_values_pass(value):
    assert not looks_like_card_number(value)


def test_card_data_field_names_are_refused_whatever_their_value():
    errors = card_data_errors({"cardNumber": "", "CVV": "x", "card-number": None, "kitNo": "K1", "Track2": 1})

    assert set(errors) == {"cardNumber", "CVV", "card-number", "Track2"}


def test_exempt_fields_may_hold_long_numbers():
    assert card_data_errors({"phone": "+919800000001"}, exempt=("phone",)) == {}
    assert set(card_data_errors({"phone": "+919800000001"})) == {"phone"}
