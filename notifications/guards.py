"""Card-number guard: nothing that leaves the platform (webhook body, SMS, email, push) may hold a card number.

A run of 13-19 digits (spaces or dashes allowed between digits) that passes the Luhn check is treated as a card
number; the content is refused and the message or delivery is marked with the reason instead of being sent."""

import re

_CANDIDATE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
REFUSAL_REASON = "content_contains_card_number"


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def contains_card_number(text: str) -> bool:
    for match in _CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False
