"""Remove personal data from text before it leaves the desk (exports are redacted by default).

Detection leans on maintained validators where one exists: `phonenumbers` (Google's
libphonenumber) finds phone numbers, read as written in each region the desk serves (`regions`:
020 7946 0958 is a London number only when GB is among them); `stdnum` checks payment cards
(Luhn) and IBANs (ISO 13616 country formats + mod-97). Small regexes only propose candidates for
those validators; e-mail addresses (no offline validator fits) use the RFC 5322 dot-atom shape.

Street addresses and postcodes have no validator that installs offline: engine.exchange.addresses
recognises how they are written.

Identifiers an agent needs are kept: digits joined to letters or other digits by a dash, slash
or dot (ORD-2026-123456, 113-1234567-1234567) are part of an identifier, not a phone number, and
a card number must be written as cards print it (compact, or grouped 4-4-4-4, 4-6-5 or 4-6-4).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence

import phonenumbers
from stdnum import iban, luhn

from engine.errors import InputError
from engine.exchange.addresses import address_hint, address_spans

PLACEHOLDERS = {"email": "[EMAIL]", "phone": "[PHONE]", "card": "[CARD]", "iban": "[IBAN]",
                "address": "[ADDRESS]", "postcode": "[POSTCODE]"}
# Where numbers written without +country are read: the US, the UK and Ireland, and the EU/EEA
# countries a European desk serves. Another list: $FRONTDESK_PHONE_REGIONS="US,GB,DE" or
# `frontdesk export --regions US,GB,DE`.
DEFAULT_REGIONS = ("US", "GB", "IE", "DE", "FR", "ES", "IT", "NL", "BE", "LU", "AT", "CH", "PT",
                   "PL", "CZ", "SE", "DK", "FI", "NO", "GR")
REGIONS_ENV = "FRONTDESK_PHONE_REGIONS"

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
_ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_SHAPES_SEEN: dict[bytes, bool] = {}  # may_hold_pii's answers by text shape (digits as 0)
_SHAPES_KEPT = 20_000
_ASCII_CLASSES = bytes(
    ord("0") if chr(b).isdigit() else ord("a") if chr(b).isalpha() else ord(" ")
    for b in range(256)
)
# Digit groups printed on cards: 4-4-4-4 (4-4-4-1 ... 4-4-4-4-3), Amex 4-6-5, Diners 4-6-4.
_CARD_GROUPS = re.compile(r"4(?:,4)*(?:,[1-4])?|4,6,[45]")
_GLUE = "-_/."  # joins a number into an identifier when letters or digits follow it
# A number right after one of these words is an identifier ("order 84262638"), unless it is
# written with +country.
_ID_LABEL = re.compile(
    r"(?i:\b(?:order|sku|ref|reference|invoice|ticket|booking|tracking|serial|item|parcel"
    r"|reservation|receipt|product|model|policy|claim|confirmation|flight)(?:\s+(?:no\.?|number|id|nr\.?))?(?:\s+is)?\s*[:#]?\s*)$"
)
# A number libphonenumber finds invalid everywhere is still a phone number when the words
# before it say so.
_PHONE_LABELLED = re.compile(
    r"(?i:\b(?:phone|tel|telephone|mobile|cell|cellphone|contact|whatsapp|fax|call me (?:on|at))"
    r"(?:\s+(?:no\.?|number|nr\.?|#))?(?:\s+is)?\s*[:#-]?\s*)"
    r"(?P<number>\+?\(?\d[\d ().-]{5,20}\d)(?![\w-])"
)
_PHONE_CANDIDATE = re.compile(  # digits a few separators apart, and an extension
    r"[+(]?\d(?:[\d \t().\-/]{0,4}\d)+(?:[ ,]{0,2}(?:x|ext\.?|extension) ?\d{1,6})?")
_CALLING_CODE = re.compile(r"(?:\+|(?<!\d)00)\d{1,3}[ .-]?$")
_DATE = re.compile(  # not phone numbers: 2026-03-01, 01.03.2026, 1/3/26, 01032026, 20260301
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}"
    r"|(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])(?:19|20)\d\d"
    r"|(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
)

Span = tuple[int, int]


def phone_regions(value: str | Iterable[str] | None = None) -> tuple[str, ...]:
    """Region codes from `value` ("US,GB,DE" or a list), else $FRONTDESK_PHONE_REGIONS, else
    DEFAULT_REGIONS; an unknown code is refused in one sentence."""
    if value is None:
        value = os.environ.get(REGIONS_ENV) or DEFAULT_REGIONS
    codes = value.split(",") if isinstance(value, str) else list(value)
    regions = tuple(dict.fromkeys(code.strip().upper() for code in codes if code.strip()))
    unknown = [code for code in regions if code not in phonenumbers.SUPPORTED_REGIONS]
    if unknown or not regions:
        raise InputError(f"Phone regions are two-letter country codes such as US,GB,DE; "
                         f"not {', '.join(unknown) or 'an empty list'}.")
    return regions


def redact(text: str, *, regions: Sequence[str] = DEFAULT_REGIONS) -> str:
    """`text` with IBANs, payment cards, e-mail addresses, street addresses, postcodes and phone
    numbers replaced by placeholders such as [EMAIL]; anything else is kept as it was."""
    if not may_hold_pii(text):
        return text
    found = find_pii(text, regions=regions)
    if not found:
        return text
    parts, last = [], 0
    for kind, start, end in found:
        parts.append(text[last:start])
        parts.append(PLACEHOLDERS[kind])
        last = end
    parts.append(text[last:])
    return "".join(parts)


def may_hold_pii(text: str) -> bool:
    """A cheap first look (most chat lines have no @ and few digits) before the validators."""
    if "@" in text:
        return True
    if text.isascii():
        # What the first look sees does not depend on which digits a text holds, and drafts
        # and customer lines repeat with other numbers in them: remember it by shape.
        shape = text.encode("ascii").translate(_ZERO_DIGITS)
        seen = _SHAPES_SEEN.get(shape)
        if seen is None:
            if len(_SHAPES_SEEN) >= _SHAPES_KEPT:
                _SHAPES_SEEN.clear()
            seen = _SHAPES_SEEN[shape] = _first_look_ascii(text)
        return seen
    # other scripts' digits count too: libphonenumber reads them
    digits = len(_DIGIT.findall(text))
    if digits >= 7 or (digits >= 2 and _has_iban_start(text)):
        return True
    return digits >= 1 and address_hint(text)


def _first_look_ascii(text: str) -> bool:
    """may_hold_pii for ASCII text without "@": one C pass maps each character to its class
    (letter a, digit 0, other)."""
    classes = text.encode("ascii").translate(_ASCII_CLASSES)
    digits = classes.count(b"0")
    if digits >= 7:
        return True
    if digits >= 2 and (classes.startswith(b"aa00") or b" aa00" in classes):
        return True
    return digits >= 1 and address_hint(text)


def _has_iban_start(text: str) -> bool:
    """Two letters then two digits at the start of a word (IBANs may hold few digits)."""
    for pair in _DIGIT_PAIR.finditer(text):
        at = pair.start()
        letters = text[at - 2 : at]
        if at >= 2 and letters.isalpha() and (at == 2 or not text[at - 3].isalnum()):
            return True
    return False


def find_pii(
    text: str, *, regions: Sequence[str] = DEFAULT_REGIONS
) -> list[tuple[str, int, int]]:
    """(kind, start, end) of each piece of personal data in the original text; where two
    overlap, the earlier finder of iban, card, email, address/postcode, phone wins."""
    found: list[tuple[str, int, int]] = []
    finders: list[tuple[str | None, Callable[[str], Iterable[tuple]]]] = [
        ("iban", iban_spans), ("card", card_spans), ("email", email_spans),
        (None, address_spans), ("phone", lambda t: phone_spans(t, regions)),
    ]
    taken: list[Span] = []
    for kind, finder in finders:
        for item in finder(text):
            name, start, end = item if kind is None else (kind, *item)
            if not any(start < b and a < end for a, b in taken):
                found.append((name, start, end))
                taken.append((start, end))
    return sorted(found, key=lambda item: item[1])


def email_spans(text: str) -> list[Span]:
    """Where e-mail addresses are."""
    if "@" not in text:
        return []
    return [m.span() for m in _EMAIL.finditer(text)]


def phone_spans(text: str, regions: Sequence[str] = DEFAULT_REGIONS) -> list[Span]:
    """Where phone numbers that libphonenumber considers valid in one of `regions` are (a
    number in international form is found whatever the region), and numbers that a word such
    as "phone" or "mobile" introduces. Left out: identifiers, dates, and numbers under 7 digits
    (Luxembourg's 4-digit numbers would claim every order number)."""
    if not _PHONE_HINT.search(text):
        return []
    spans: list[Span] = []
    rest = list(text)  # the text with what was judged blanked out
    for candidate in _PHONE_CANDIDATE.finditer(text):
        if len(_DIGIT.findall(candidate.group())) < 7:
            continue
        offset = candidate.start()
        for region in regions:  # a matcher per region on the candidate alone: 20x less text
            window = "".join(rest[offset : candidate.end()])
            for match in phonenumbers.PhoneNumberMatcher(window, region,
                                                         leniency=phonenumbers.Leniency.VALID):
                found = _judge_phone(text, match.raw_string, offset + match.start,
                                     offset + match.end)
                if found is None:
                    continue
                start, end, is_phone = found
                if is_phone:
                    spans.append((start, end))
                rest[start:end] = " " * (end - start)
            if not _PHONE_HINT.search("".join(rest[offset : candidate.end()])):
                break
    for match in _PHONE_LABELLED.finditer("".join(rest)):  # "phone no 648 514 8945"
        if 7 <= len(_DIGIT.findall(match.group("number"))) <= 15:
            spans.append(match.span("number"))
    return sorted(spans)


def _judge_phone(text: str, written: str, start: int, end: int) -> tuple[int, int, bool] | None:
    """(start, end, whether it is a phone number) for a number libphonenumber matched; None
    when another region may read that place better (too few or too many digits)."""
    digits = len(_DIGIT.findall(written))
    if digits < 7 or digits > 15 + 2 * written.startswith("00"):
        return None
    if _DATE.fullmatch(written) or _glued_before(text, start) or _glued_after(text, end):
        return start, end, False
    if not written.startswith("+") and _ID_LABEL.search(text, max(0, start - 30), start):
        return start, end, False  # "sku 8426-2638": the word before says what the number is
    prefix = _CALLING_CODE.search(text, max(0, start - 6), start)
    if prefix:  # "001 201-555-0143" read as a US number: the 001 goes too
        start = prefix.start()
    return start, end, True


def _glued_before(text: str, start: int) -> bool:
    """Whether letters or digits run into text[start:] (ORD-2026-123456, tel2026...)."""
    before = text[start - 1] if start else ""
    if before.isalnum():
        return True
    return before != "" and before in _GLUE and start >= 2 and text[start - 2].isalnum()


def _glued_after(text: str, end: int) -> bool:
    """Whether text[:end] runs on into letters or digits (113-1234567-1234567)."""
    after = text[end] if end < len(text) else ""
    if after.isalnum():
        return True
    return after != "" and after in _GLUE and end + 1 < len(text) and text[end + 1].isalnum()


def card_spans(text: str) -> list[Span]:
    """Where 13-19 digit numbers, compact or grouped as cards print them, pass the Luhn check.

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
            if can_start[i] and not _glued_before(text, positions[i]):
                for length in range(min(19, last - i + 1), 12, -1):
                    j = i + length - 1
                    if (can_end[j] and _card_grouping(text[positions[i] : positions[j] + 1])
                            and not _glued_after(text, positions[j] + 1)
                            and luhn.is_valid(digits[i : j + 1])):
                        found = j
                        break
            if found is None:
                i += 1
            else:
                spans.append((positions[i], positions[found] + 1))
                i = found + 1
    return spans


def _card_grouping(written: str) -> bool:
    """Compact, or one separator kind between groups printed as on a card."""
    groups = re.split(r"[ -]", written)
    if len(groups) == 1:
        return True
    if " " in written and "-" in written:
        return False
    return _CARD_GROUPS.fullmatch(",".join(str(len(g)) for g in groups)) is not None


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
