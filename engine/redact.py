"""Remove personal data from text before it leaves the desk (exports are redacted by default).

Detection leans on maintained validators rather than our own rules: `phonenumbers` (Google's
libphonenumber) finds phone numbers, `stdnum` checks payment cards (Luhn) and IBANs (ISO 13616
country formats + mod-97). Small regexes only propose candidates for those validators; e-mail
addresses (no offline validator fits) use the RFC 5322 dot-atom shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from stdnum import iban, luhn

PLACEHOLDERS = {"email": "[EMAIL]", "phone": "[PHONE]", "card": "[CARD]", "iban": "[IBAN]"}
DEFAULT_REGION = "US"  # how numbers without a +country prefix are read

_ATOM = r"[\w!#$%&'*+/=?^`{|}~-]+"
_EMAIL = re.compile(
    rf"{_ATOM}(?:\.{_ATOM})*@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_][\w-]*[^\W_]",
)
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d)+")
_IBAN_START = re.compile(r"(?<![^\W_])[A-Za-z]{2}\d{2}")
_IBAN_CHUNK = re.compile(r" ?[A-Za-z0-9]")
_PHONE_HINT = re.compile(r"\d(?:[^\d\n]{0,4}\d){6}")
_CARD_HINT = re.compile(r"\d(?:[ -]?\d){12}")
_DIGIT = re.compile(r"\d")
_DIGIT_PAIR = re.compile(r"\d\d")
_ASCII_CLASSES = bytes(
    ord("0") if chr(b).isdigit() else ord("a") if chr(b).isalpha() else ord(" ")
    for b in range(256)
)

Span = tuple[int, int]


def redact(text: str, *, region: str = DEFAULT_REGION) -> str:
    """`text` with IBANs, payment cards, e-mail addresses and phone numbers replaced by
    placeholders such as [EMAIL]; anything else is kept character for character."""
    if not may_hold_pii(text):
        return text
    text = _replace(text, iban_spans(text), PLACEHOLDERS["iban"])
    text = _replace(text, card_spans(text), PLACEHOLDERS["card"])
    text = _replace(text, email_spans(text), PLACEHOLDERS["email"])
    text = _replace(text, phone_spans(text, region), PLACEHOLDERS["phone"])
    return text


def may_hold_pii(text: str) -> bool:
    """A cheap first look (most chat lines have no @ and few digits) before the validators."""
    if "@" in text:
        return True
    if text.isascii():  # one C pass maps each character to its class: letter a, digit 0, other
        classes = text.encode("ascii").translate(_ASCII_CLASSES)
        digits = classes.count(b"0")
        if digits >= 7:
            return True
        return digits >= 2 and (classes.startswith(b"aa00") or b" aa00" in classes)
    # other scripts' digits count too: libphonenumber reads them
    digits = len(_DIGIT.findall(text))
    if digits >= 7:
        return True
    return digits >= 2 and _has_iban_start(text)


def _has_iban_start(text: str) -> bool:
    """Two letters then two digits at the start of a word (IBANs may hold few digits)."""
    for pair in _DIGIT_PAIR.finditer(text):
        at = pair.start()
        letters = text[at - 2 : at]
        if at >= 2 and letters.isalpha() and (at == 2 or not text[at - 3].isalnum()):
            return True
    return False


def find_pii(text: str, *, region: str = DEFAULT_REGION) -> list[tuple[str, int, int]]:
    """(kind, start, end) of each piece of personal data in the original text."""
    found: list[tuple[str, int, int]] = []
    finders: list[tuple[str, Callable[[str], list[Span]]]] = [
        ("iban", iban_spans), ("card", card_spans), ("email", email_spans),
        ("phone", lambda t: phone_spans(t, region)),
    ]
    taken: list[Span] = []
    for kind, finder in finders:
        for start, end in finder(text):
            if not any(start < b and a < end for a, b in taken):
                found.append((kind, start, end))
                taken.append((start, end))
    return sorted(found, key=lambda item: item[1])


def email_spans(text: str) -> list[Span]:
    """Where e-mail addresses are."""
    if "@" not in text:
        return []
    return [m.span() for m in _EMAIL.finditer(text)]


def phone_spans(text: str, region: str = DEFAULT_REGION) -> list[Span]:
    """Where phone numbers that libphonenumber considers valid are."""
    if not _PHONE_HINT.search(text):
        return []
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    return [(m.start, m.end) for m in matcher]


def card_spans(text: str) -> list[Span]:
    """Where 13-19 digit numbers (spaces or dashes allowed between digits) pass the Luhn check.

    A run of digit groups is tried from each group start, longest first, so a card number
    next to other numbers is still found.
    """
    if not _CARD_HINT.search(text):
        return []
    spans: list[Span] = []
    for run in _DIGIT_RUN.finditer(text):
        positions = [run.start() + i for i, c in enumerate(run.group()) if c.isdigit()]
        if len(positions) < 13:
            continue
        digits = "".join(text[p] for p in positions)
        last = len(positions) - 1
        can_start = [i == 0 or positions[i] - positions[i - 1] > 1 for i in range(last + 1)]
        can_end = [i == last or positions[i + 1] - positions[i] > 1 for i in range(last + 1)]
        i = 0
        while i <= last - 12:
            found = None
            if can_start[i]:
                for length in range(min(19, last - i + 1), 12, -1):
                    j = i + length - 1
                    if can_end[j] and luhn.is_valid(digits[i : j + 1]):
                        found = j
                        break
            if found is None:
                i += 1
            else:
                spans.append((positions[i], positions[found] + 1))
                i = found + 1
    return spans


def iban_spans(text: str) -> list[Span]:
    """Where valid IBANs are, written compact or in groups separated by single spaces."""
    spans: list[Span] = []
    pos = 0
    while True:
        start_match = _IBAN_START.search(text, pos)
        if start_match is None:
            return spans
        start = start_match.start()
        ends: list[int] = []  # text offset after each candidate character
        cursor = start_match.end()
        while len(ends) < 30:
            chunk = _IBAN_CHUNK.match(text, cursor)
            if chunk is None:
                break
            cursor = chunk.end()
            ends.append(cursor)
        compact = re.sub(r"\s", "", text[start:cursor]).upper()
        found = None
        for extra in range(len(ends), 10, -1):  # IBANs are 15-34 characters
            end = ends[extra - 1]
            boundary = end == len(text) or not text[end].isalnum() or text[end] == " "
            if boundary and iban.is_valid(compact[: 4 + extra]):
                found = end
                break
        if found is None:
            pos = start_match.end()
        else:
            spans.append((start, found))
            pos = found


def _replace(text: str, spans: list[Span], placeholder: str) -> str:
    if not spans:
        return text
    parts, last = [], 0
    for start, end in spans:
        parts.append(text[last:start])
        parts.append(placeholder)
        last = end
    parts.append(text[last:])
    return "".join(parts)
