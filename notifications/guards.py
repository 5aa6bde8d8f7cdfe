"""Card-number guard: the one place that decides what a card number is. Nothing that leaves the platform may hold
one (webhook body and headers, SMS, email, push), no log line may show one, and stored text shows it masked.

The rule (docs/security.md, "Card data"): a card number is 13 to 19 digits that pass the Luhn check, written in a
*run*: a maximal sequence of digits in which consecutive digits are separated by at most one separator. Whatever
stands before or after the run (letters, punctuation, nothing) does not matter: `Shop4111 1111 1111 1111x` holds one.
The run itself is checked when it has 13-19 digits, and so is every sequence of its whole digit *groups* (digits
written next to each other) that has 13-19 digits: a card number followed or preceded by another number with a
separator between them (`4111 1111 1111 1111 12/27`, `… 1111 2025`) is still found. Digits glued to it without a
separator make another number (`41111111111111110`); a single group of 20+ digits is never a card number.
Separators are what people and encoders put between digit groups:
- spaces and any other whitespace or control character (tab, newline, no-break and thin spaces …), `-` and the
  other Unicode dashes, `.`, `_`, `+` (a space in a URL query), their full-width forms, and invisible format
  characters (soft hyphen, zero-width space and joiners, bidi marks, BOM);
- any of those as written by JSON (`\\n`, `\\u00a0`), URLs (`%20`, `%C2%A0`) and HTML (`&nbsp;`, `&#45;`), so the
  webhook body, a logged request line and an HTML part are read as their reader will see them. A text holding `\\`,
  `%` or `&` is read both ways, as written and decoded, and a card number found either way counts.
Digits are any Unicode decimal digits (full-width ones included). Two separators in a row end a run.

One exception, for ordinary identifiers: the digits of a canonical UUID (8-4-4-4-12 hex digits, not inside a longer
hex token) belong to no run, else one UUID in a few thousand would be refused.

Any 13-19 digits checked pass Luhn one time in ten: such ids are refused as card numbers (docs/security.md).

`contains_card_number` decides; `mask_card_numbers` keeps the text and replaces each card number's digits but the
last four with `*` (separators and neighbours kept: `**** **** **** 1111`, `************1111`)."""

import html
import re
import unicodedata
from collections.abc import Iterator

REFUSAL_REASON = "content_contains_card_number"
MASK_CHAR = "*"
MIN_DIGITS, MAX_DIGITS = 13, 19


def _separator_code_points() -> list[int]:
    points = [ord(c) for c in " -._+"]
    points += [*range(0x20), *range(0x7F, 0xA1)]  # controls (tab, newlines …), NEL and no-break space
    # Unicode spaces
    points += [0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
    # Format characters that render as nothing: soft hyphen, zero-width space/joiners, bidi marks, word joiner, BOM
    points += [0x00AD, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2065),
               *range(0x2066, 0x2070), 0xFEFF]
    # Dashes (Unicode Pd) and the minus sign, dot leaders and middle dots, full-width dot, low line and plus
    points += [0x058A, 0x05BE, 0x1400, 0x1806, *range(0x2010, 0x2016), 0x2E17, 0x2E1A, 0x2E3A, 0x2E3B, 0x2E40,
               0x301C, 0x3030, 0x30A0, 0xFE31, 0xFE32, 0xFE58, 0xFE63, 0xFF0D, 0x2212, 0x2024, 0x00B7, 0x2027,
               0xFF0E, 0xFF3F, 0xFF0B]
    return sorted(set(points))


_SEPARATOR_POINTS = _separator_code_points()
SEPARATORS = frozenset(chr(p) for p in _SEPARATOR_POINTS)
_SEPARATOR_CLASS = "".join(re.escape(chr(p)) for p in _SEPARATOR_POINTS)

# Encoded characters are read as their reader will read them (JSON `\\n` `\\u00a0`, URL `%20` `%C2%A0`, HTML `&nbsp;`
# `&#45;`): before looking for runs, each is replaced by a same-length stand-in, so positions still match the text
# and the digits an escape is spelled with never count as the number's. An encoded separator becomes _ENCODED_SEP and
# fillers (one separator), anything else encoded becomes _BLOCK (it ends a run, as a letter would). Private-use
# characters, so the stand-ins cannot be confused with text (the text's own are blocked first).
_ENCODED_SEP, _FILLER, _BLOCK = "\ue000", "\ue001", "\ue002"
_ENCODED = re.compile(
    r'\\(?:u[0-9A-Fa-f]{4}|[bfnrt"\\/])'
    r"|(?:%[0-9A-Fa-f]{2})+"
    r"|&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
    f"|[{_ENCODED_SEP}{_FILLER}{_BLOCK}]"
)
_JSON_SHORT = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_OWN_STAND_INS = str.maketrans({_ENCODED_SEP: _BLOCK, _FILLER: _BLOCK})

# A run of at least 13 digits. Digits, separators and stand-ins share no character and a filler only follows an
# encoded separator, so the match is unambiguous and greedy: finditer yields exactly the maximal runs of 13+ digits.
_RUN = re.compile(rf"\d(?:(?:[{_SEPARATOR_CLASS}]|{_ENCODED_SEP}{_FILLER}*)?\d){{{MIN_DIGITS - 1},}}")
# The exact fast "no" for the common body, in one C-level scan of a single character class: a run of 13+ digits
# lies inside a stretch of digits and separators that starts and ends with a digit and is at least 13 long.
_STRETCH = re.compile(rf"\d[\d{_SEPARATOR_CLASS}{_ENCODED_SEP}{_FILLER}]{{{MIN_DIGITS - 2},}}\d")
_DIGIT = re.compile(r"\d")
_UUID = re.compile(
    r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![0-9A-Fa-f])"
)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of ASCII digits."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _decode(token: str) -> str:
    if token[0] == "\\":
        return chr(int(token[2:], 16)) if token[1] == "u" else _JSON_SHORT.get(token[1], token[1])
    if token[0] == "%":
        return bytes.fromhex(token.replace("%", "")).decode("utf-8", "replace")
    if token[0] == "&":
        return html.unescape(token)
    return ""  # one of our stand-ins written in the text itself: a blocker


def _stand_in(match: re.Match) -> str:
    token = match.group()
    if _decode(token) in SEPARATORS:  # exactly one separator character
        return _ENCODED_SEP + _FILLER * (len(token) - 1)
    return _BLOCK * len(token)


def _without_uuids(text: str) -> str:
    return _UUID.sub(lambda m: "x" * len(m.group()), text) if "-" in text else text


def _as_written(text: str) -> str:
    """`text` read as written: an escape is just characters (`%` and `\\` end a run, as letters do)."""
    if _ENCODED_SEP in text or _FILLER in text or _BLOCK in text:
        text = text.translate(_OWN_STAND_INS)
    return _without_uuids(text)


def _as_decoded(text: str) -> str:
    """`text` read as its reader decodes it: each encoded character replaced by its stand-in."""
    return _without_uuids(_ENCODED.sub(_stand_in, text))


def _luhn_windows(values: list[int], groups: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """(first, last) digit index of every sequence of whole groups with 13-19 digits that passes Luhn. Prefix sums
    make each window's check O(1): a digit is doubled when its distance to the window's last digit is odd."""
    sums = ([0], [0])  # sums[p][k]: digits 0..k-1, doubled where index % 2 != p
    for index, value in enumerate(values):
        doubled = value * 2 - 9 if value > 4 else value * 2
        sums[0].append(sums[0][-1] + (doubled if index % 2 else value))
        sums[1].append(sums[1][-1] + (value if index % 2 else doubled))
    for a, (first, _) in enumerate(groups):
        for b in range(a, len(groups)):  # at most 19 groups: the window grows by at least one digit each time
            last = groups[b][1]
            length = last - first + 1
            if length > MAX_DIGITS:
                break
            parity = sums[last % 2]
            if length >= MIN_DIGITS and (parity[last + 1] - parity[first]) % 10 == 0:
                yield first, last


def _card_numbers(text: str) -> Iterator[list[int]]:
    """The positions in `text` of the digits of each card number, one list per card number.

    A text that may hold encoded characters is read both as written and as decoded: `%0000000000000` is a percent
    sign and 13 digits to a person, and an encoded NUL and 11 digits to a URL decoder; either reading's card numbers
    count. Every reading has the same length as `text`, so a position is the same position in `text`."""
    # The common case is answered by one C-level scan (not even a stretch of 13 digits and separators) and three
    # `in` scans (nothing that may be encoded), ~0.1 µs on a webhook body.
    if _STRETCH.search(text) is not None:
        yield from _scan(text, _as_written(text))
    if "\\" in text or "%" in text or "&" in text:
        decoded = _as_decoded(text)
        if _STRETCH.search(decoded) is not None:
            yield from _scan(text, decoded)


def _scan(text: str, scanned: str) -> Iterator[list[int]]:
    """The card numbers of `text`, looked for in one reading of it (`scanned`), without the fast "no"."""
    for run in _RUN.finditer(scanned):
        if run.end() - run.start() > MAX_DIGITS and run.group().isdecimal():
            continue  # one group of 20+ digits: no window fits (skipped without a look at each digit)
        positions = [m.start() for m in _DIGIT.finditer(scanned, run.start(), run.end())]
        # Groups: digits written next to each other; a separator stands between two groups.
        starts = [0] + [k for k in range(1, len(positions)) if positions[k] - positions[k - 1] > 1]
        groups = list(zip(starts, [*(k - 1 for k in starts[1:]), len(positions) - 1], strict=True))
        values = [unicodedata.decimal(text[i]) for i in positions]
        for first, last in _luhn_windows(values, groups):
            yield positions[first:last + 1]


def contains_card_number(text: str) -> bool:
    """Whether `text` holds a card number (the rule above)."""
    return next(_card_numbers(text), None) is not None


def mask_card_numbers(text: str) -> str:
    """`text` with every digit of each card number but its last four replaced by `*`; everything else is kept.
    Text without a card number is returned as it is (the same object)."""
    hidden = [i for positions in _card_numbers(text) for i in positions[:-4]]
    if not hidden:
        return text
    chars = list(text)
    for i in hidden:
        chars[i] = MASK_CHAR
    return "".join(chars)


def mask_card_numbers_in(value: object) -> object:
    """`value` (JSON-like data: dicts, lists, strings, numbers) with card numbers masked in every string, key and
    integer; an integer that holds one becomes its masked text. Returned as it is when it holds none."""
    if isinstance(value, str):
        return mask_card_numbers(value)
    if isinstance(value, int) and not isinstance(value, bool):
        masked = mask_card_numbers(str(value))
        return value if masked == str(value) else masked
    if isinstance(value, dict):
        return {mask_card_numbers_in(k): mask_card_numbers_in(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_card_numbers_in(item) for item in value]
    return value
