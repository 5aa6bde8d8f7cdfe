"""Card-number guard: nothing that leaves the platform (webhook body, SMS, email, push) may hold a card number.

A run of 13-19 digits that passes the Luhn check is treated as a card number, written either contiguously or in the
printed groupings (4-4-4-4[-3], Amex 4-6-5) with one space or dash between groups. A grouping must stand alone: digits
inside an identifier such as a UUID ("…-1234-5678-…") are not a card number. The content is refused and the message or
delivery is marked with the reason instead of being sent."""

import re

_CANDIDATE = re.compile(
    r"(?<!\d)\d{13,19}(?!\d)"
    r"|(?<![\w-])\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?(?![\w-])"
    r"|(?<![\w-])\d{4}([ -])\d{6}\2\d{5}(?![\w-])"
)
REFUSAL_REASON = "content_contains_card_number"
# Every candidate above lies inside a run of 13+ digits, spaces and dashes that starts and ends with a digit. Finding
# no such run (one C-level scan) is an exact "no" that skips the patterns and the Luhn check, which cost more than
# signing a webhook (docs/profiles/).
_DIGIT_RUN = re.compile(r"\d[\d -]{11,}\d")


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
    if _DIGIT_RUN.search(text) is None:
        return False
    for match in _CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False
