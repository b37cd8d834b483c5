"""Find the values a reply needs (order number, email, amount, ...) in a customer's message.

Maintained parsers do the checking where one exists: `phonenumbers` finds and validates phone
numbers, `stdnum.luhn` checks card numbers, `dateutil` reads dates. Patterns are kept tight and
anchored on context words ("order", "tracking", "error") so that a bare number is not claimed
by every type at once; where two finds overlap, the one anchored on context wins.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

import phonenumbers
from dateutil import parser as date_parser
from stdnum import luhn

from engine.types import Entity

ENTITY_TYPES: tuple[str, ...] = (
    "order_number",
    "email",
    "amount",
    "date",
    "card_last4",
    "error_code",
    "phone",
    "tracking_number",
    "invoice_number",
    "address",
)

# Earlier wins when two finds overlap: context-anchored types before bare-shape ones.
_PRIORITY = {
    "email": 0,
    "card_last4": 1,
    "tracking_number": 2,
    "invoice_number": 3,
    "order_number": 4,
    "error_code": 5,
    "address": 6,
    "amount": 7,
    "phone": 8,
    "date": 9,
}

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)

# An identifier: letters, digits and inner dashes, with at least one digit.
_ID = r"(?=[A-Za-z0-9-]*\d)[A-Za-z0-9](?:[A-Za-z0-9-]{2,22}[A-Za-z0-9])"
# A context word, an optional "number"/"no."/"id", then the identifier. Which type the
# identifier is depends on the word; customers misspell it ("ordedr", "puchase"), so a close
# match of a long word counts too (difflib ratio >= 0.85).
_ANCHORED = re.compile(  # a lookahead, so "cancelling order123" is tried at every word
    r"(?=\b(?P<word>[A-Za-z]{3,12})(?:\s+(?:number|no\.?|nr\.?|num|id|ref(?:erence)?|code))?"
    r"(?:\s+(?:is|was))?\s*(?:[:#]\s*)?#?(?P<value>" + _ID + r")\b)",
    re.IGNORECASE,
)
_CONTEXT_WORDS = {
    "order": "order_number", "orders": "order_number", "ordr": "order_number",
    "oder": "order_number", "purchase": "order_number", "booking": "order_number",
    "reservation": "order_number", "tracking": "tracking_number", "parcel": "tracking_number",
    "shipment": "tracking_number", "invoice": "invoice_number", "bill": "invoice_number",
    "receipt": "invoice_number",
}
_FUZZY_WORDS = [word for word in _CONTEXT_WORDS if len(word) >= 5]
_HASH_ID = re.compile(r"(?<![\w#&])#(?P<value>\d{4,20})\b")
_ORDER_SHAPE = re.compile(r"\b(?P<value>(?:ORD|ORDER|PO|SO)-?\d{4,16})\b")

_UPS = re.compile(r"\b(?P<value>1Z[0-9A-Z]{16})\b")
_S10 = re.compile(r"\b(?P<value>[A-Z]{2}\d{9}[A-Z]{2})\b")  # UPU S10, e.g. RB123456785GB

_CARD_CONTEXT = re.compile(
    r"\b(?:card|visa|mastercard|amex|debit|credit)\b[^.\n\d]{0,30}?"
    r"(?:ending|ends|last\s+(?:4|four)(?:\s+digits)?)\s*(?:in|with|of|are|is|:)?\s*"
    r"(?P<value>\d{4})\b",
    re.IGNORECASE,
)
_CARD_CONTEXT_NEAR = re.compile(r"\b(?:card|visa|mastercard|amex|debit|credit)\b", re.I)
_CARD_MASKED = re.compile(r"(?:[*xX•]{4}[\s-]?){1,3}(?P<value>\d{4})\b")
# Issuer prefixes and lengths of the networks people pay with (Visa, Mastercard, Amex,
# Discover/UnionPay): a Luhn-valid run of digits that fits none of them is no card.
_CARD_NETWORKS = re.compile(
    r"4\d{12}(?:\d{3}){0,2}$|5[1-5]\d{14}$|2[2-7]\d{14}$|3[47]\d{13}$|6\d{15}$"
)
_CARD_FULL = re.compile(r"\b(?P<value>\d(?:[ -]?\d){12,18})\b")

_ERROR = re.compile(
    r"\b(?:error|err|fault|failure)(?:\s+code)?(?:\s+(?:is|was|says))?\s*[:#]?\s*"
    r"(?P<value>0x[0-9A-Fa-f]{4,8}|[A-Za-z]{0,5}[-_]?\d{2,6}(?:[-_.]\d{1,4})?)\b",
    re.IGNORECASE,
)
_ERROR_SHAPE = re.compile(
    r"\b(?P<value>ERR_[A-Z0-9_]{3,40}|0x[0-9A-Fa-f]{8}|E-\d{3,6}|HTTP\s?[45]\d\d)\b"
)

_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW"}
_CODES = "USD|EUR|GBP|JPY|CAD|AUD|CHF|INR|CNY|SEK|NOK|DKK|PLN|MXN|BRL|NZD|SGD|HKD|ZAR"
_WORDS = {
    "dollar": "USD", "dollars": "USD", "bucks": "USD", "euro": "EUR", "euros": "EUR",
    "pound": "GBP", "pounds": "GBP", "quid": "GBP", "yen": "JPY", "rupees": "INR",
}
_NUMBER = r"\d{1,3}(?:[,\s]\d{3})+(?:\.\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_AMOUNT = re.compile(
    r"(?:(?P<pre_code>\b(?:" + _CODES + r")|(?:US|CA|AU|NZ|HK|S)?[$€£¥₹₩])\s?(?P<n1>" + _NUMBER
    + r"))|(?:\b(?P<n2>" + _NUMBER + r")\s?(?P<post>[$€£]|(?:" + _CODES + r")\b|(?:"
    + "|".join(_WORDS) + r")\b))",
    re.IGNORECASE,
)

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(?:[0-3]?\d)(?:st|nd|rd|th)?"
_DATE = re.compile(
    r"\b(?:"
    r"(?P<iso>\d{4}-\d{2}-\d{2})"
    r"|(?P<numeric>[0-3]?\d[/.][0-3]?\d[/.](?:\d{4}|\d{2}))"
    r"|(?P<day_month>" + _DAY + r"\s+(?:of\s+)?" + _MONTHS + r"\.?(?:,?\s+\d{4})?)"
    r"|(?P<month_day>" + _MONTHS + r"\.?\s+" + _DAY + r"(?:,?\s+\d{4})?)"
    r"|(?P<relative>today|yesterday|tomorrow|the\s+day\s+before\s+yesterday)"
    r")\b",
    re.IGNORECASE,
)


# A postal address: house number, street name ending in a street word ("12 Baker Street",
# "221b Main St."), then optionally a flat, the town and a postcode; or the German/Dutch order
# ("Musterstrasse 12, 10115 Berlin"). Claimed only when anchored: a postcode after it or an
# address word shortly before it ("my new address is", "ship it to", "I live at"), so that
# "2 items on the way" is no address.
_STREET_WORDS = (
    r"street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl"
    r"|close|crescent|terrace|square|sq|parkway|pkwy|highway|hwy|row|gardens|grove|walk|mews"
)
_NOT_A_STREET_NAME = (
    r"the|a|an|on|in|of|and|or|my|your|our|to|for|at|it|is|was|by|with|from|me|you|i|items?"
)
_POSTCODE = (  # UK, US ZIP(+4), Dutch, and the 4-5 digit codes of most of Europe
    r"[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|\d{5}(?:-\d{4})?|\d{4}\s?[A-Z]{2}|\d{4}"
)
_TOWN_WORD = r"(?!(?:please|thanks|thank|thx|asap|now|instead|today|tomorrow|and|or|but)\b)" \
    r"[A-Za-z][A-Za-z'.-]*\b"
_TOWN = _TOWN_WORD + r"(?:\s+" + _TOWN_WORD + r"){0,2}"
_ADDRESS = re.compile(
    r"(?P<value>(?:\b\d{1,5}[A-Za-z]?\s+(?:(?!(?:" + _NOT_A_STREET_NAME + r")\b)"
    r"[A-Za-z][\w'.-]*\s+){1,3}?(?:" + _STREET_WORDS + r")\b\.?(?:\s+[NSEW]{1,2}\b)?"
    r"|\b[A-Za-z][\w'-]*(?:strasse|straße|weg|gasse|allee|platz|straat|laan|gracht)"
    r"\s+\d{1,4}[A-Za-z]?\b)"
    r"(?:,?\s*(?:apt|apartment|flat|suite|unit)\.?\s*#?\w{1,6}\b)?"
    r"(?:,\s*" + _TOWN + r"){0,2}"
    r"(?:,?\s*(?:[A-Z]{2}\s+)?(?P<postcode>" + _POSTCODE + r")\b"
    r"(?:\s+(?-i:[A-ZÄÖÜ][a-zäöüß]+)\b)?)?)",  # a town after the postcode: one capitalised word
    re.IGNORECASE,
)
_ADDRESS_CUE = re.compile(
    r"\b(?:address|ship|shipping|deliver|delivery|send|sent|live|living|moved?|redirect)\w*"
    r"\b[^.?!\n]{0,25}$",
    re.IGNORECASE,
)


def extract(
    text: str,
    turn_id: int | None = None,
    *,
    today: date | None = None,
    region: str = "US",
) -> list[Entity]:
    """Every entity in `text`, in reading order, spans into `text`, no two overlapping.

    `today` anchors relative dates ("yesterday"); `region` is where numbers written without a
    country code are dialled from.
    """
    today = today or date.today()
    found: list[Entity] = []
    found += _emails(text)
    found += _cards(text)
    found += _anchored_ids(text)
    found += _shaped_ids(text)
    found += _error_codes(text)
    found += _addresses(text)
    found += _amounts(text)
    found += _phones(text, region)
    found += _dates(text, today)
    kept = _without_overlaps(found, weak=_bare_shapes(text))
    for entity in kept:
        entity.turn_id = turn_id
    return kept


def extract_conversation(
    turns: Iterable[tuple[int | None, str]], *, today: date | None = None
) -> list[Entity]:
    """Entities of several turns, oldest first; each keeps the id of the turn it came from."""
    out: list[Entity] = []
    for turn_id, text in turns:
        out += extract(text, turn_id, today=today)
    return out


def latest_values(entities: Sequence[Entity]) -> dict[str, Entity]:
    """One entity per type: the last one seen (entities in conversation order, latest wins)."""
    latest: dict[str, Entity] = {}
    for entity in entities:
        latest[entity.type] = entity
    return latest


def _bare_shapes(text: str) -> set[tuple[int, int]]:
    """Spans found by shape alone (a Luhn-valid run of digits): any context-anchored find wins."""
    return {
        (e.start, e.end)
        for e in _cards(text)
        if len(re.sub(r"\D", "", text[e.start : e.end])) > 4
        and not _CARD_CONTEXT_NEAR.search(text[max(0, e.start - 30) : e.start])
    }


def _without_overlaps(found: list[Entity], weak: set[tuple[int, int]]) -> list[Entity]:
    def rank(e: Entity) -> tuple[int, int, int, int]:
        bare = e.type == "card_last4" and (e.start, e.end) in weak
        return (bare, _PRIORITY[e.type], e.start, -(e.end - e.start))

    ranked = sorted(found, key=rank)
    kept: list[Entity] = []
    for entity in ranked:
        if all(entity.end <= other.start or entity.start >= other.end for other in kept):
            kept.append(entity)
    return sorted(kept, key=lambda e: e.start)


def _span(match: re.Match[str], kind: str, value: str | None = None) -> Entity:
    return Entity(kind, value or match.group("value"), match.start("value"), match.end("value"))


def _emails(text: str) -> list[Entity]:
    return [Entity("email", m.group(0).lower(), m.start(), m.end()) for m in _EMAIL.finditer(text)]


def _anchored_ids(text: str) -> list[Entity]:
    """Order, tracking and invoice numbers named by the word before them."""
    out = []
    for match in _ANCHORED.finditer(text):
        kind = _context_type(match.group("word"))
        if kind is not None:
            out.append(_span(match, kind, match.group("value").upper()))
    return out


def _context_type(word: str) -> str | None:
    word = word.lower()
    if word in _CONTEXT_WORDS:
        return _CONTEXT_WORDS[word]
    if len(word) >= 5:
        close = difflib.get_close_matches(word, _FUZZY_WORDS, n=1, cutoff=0.85)
        if close:
            return _CONTEXT_WORDS[close[0]]
    return None


def _shaped_ids(text: str) -> list[Entity]:
    """Identifiers whose shape alone says what they are (#12345, ORD-123, carrier formats)."""
    out = [_span(m, "order_number") for m in _HASH_ID.finditer(text)]
    out += [_span(m, "order_number") for m in _ORDER_SHAPE.finditer(text)]
    out += [_span(m, "tracking_number") for m in _UPS.finditer(text)]
    out += [_span(m, "tracking_number") for m in _S10.finditer(text) if _s10_valid(m["value"])]
    return out


def _s10_valid(code: str) -> bool:
    """UPU S10 check digit: weights 8 6 4 2 3 5 9 7 over the serial, mod 11."""
    serial, check = code[2:10], int(code[10])
    weights = (8, 6, 4, 2, 3, 5, 9, 7)
    expected = 11 - sum(int(d) * w for d, w in zip(serial, weights, strict=True)) % 11
    expected = {10: 0, 11: 5}.get(expected, expected)
    return expected == check


def _cards(text: str) -> list[Entity]:
    out = [_span(m, "card_last4") for m in _CARD_CONTEXT.finditer(text)]
    out += [_span(m, "card_last4") for m in _CARD_MASKED.finditer(text)]
    for m in _CARD_FULL.finditer(text):
        digits = re.sub(r"\D", "", m.group("value"))
        if _CARD_NETWORKS.match(digits) and luhn.is_valid(digits):
            # Only the last four leave the message: the span covers the whole number.
            out.append(Entity("card_last4", digits[-4:], m.start("value"), m.end("value")))
    return out


def _error_codes(text: str) -> list[Entity]:
    out = [_span(m, "error_code", m.group("value").upper()) for m in _ERROR.finditer(text)]
    out += [_span(m, "error_code") for m in _ERROR_SHAPE.finditer(text)]
    return out


def _addresses(text: str) -> list[Entity]:
    """Postal addresses with a postcode or an address word before them (value: as written,
    spaces tidied)."""
    out = []
    for m in _ADDRESS.finditer(text):
        value = " ".join(m.group("value").split()).rstrip(".,")
        if m.group("postcode") or _ADDRESS_CUE.search(text[max(0, m.start() - 60): m.start()]):
            out.append(Entity("address", value, m.start(), m.start() + len(m.group("value"))))
    return out


def _amounts(text: str) -> list[Entity]:
    out = []
    for m in _AMOUNT.finditer(text):
        number = m.group("n1") or m.group("n2")
        marker = (m.group("pre_code") or m.group("post") or "").strip()
        value = _number_value(number)
        if value is None:
            continue
        currency = _currency(marker)
        out.append(Entity("amount", f"{value:.2f} {currency}", m.start(), m.end()))
    return out


def _currency(marker: str) -> str:
    upper = marker.upper()
    if upper in _CODES.split("|"):
        return upper
    if marker.lower() in _WORDS:
        return _WORDS[marker.lower()]
    symbol = marker[-1]
    prefix = upper[:-1]
    if symbol == "$" and prefix in {"CA", "AU", "NZ", "HK", "S"}:
        return {"CA": "CAD", "AU": "AUD", "NZ": "NZD", "HK": "HKD", "S": "SGD"}[prefix]
    return _SYMBOLS.get(symbol, upper)


def _number_value(number: str) -> float | None:
    """'1,299.50' -> 1299.5; '12,50' (decimal comma) -> 12.5."""
    cleaned = number.replace(" ", "")
    if re.fullmatch(r"\d+,\d{1,2}", cleaned):
        cleaned = cleaned.replace(",", ".")
    cleaned = cleaned.replace(",", "")
    try:
        return float(cleaned)
    except ValueError:
        return None


def _phones(text: str, region: str) -> list[Entity]:
    out = []
    matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    for match in matcher:
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        out.append(Entity("phone", e164, match.start, match.end))
    return out


def _dates(text: str, today: date) -> list[Entity]:
    out = []
    anchor = datetime(today.year, today.month, today.day)
    for m in _DATE.finditer(text):
        kind = m.lastgroup
        raw = m.group(0)
        if kind == "relative":
            shift = {"today": 0, "yesterday": -1, "tomorrow": 1}.get(raw.lower(), -2)
            value = today + timedelta(days=shift)
        else:
            try:
                value = date_parser.parse(
                    re.sub(r"\bof\b", " ", raw, flags=re.IGNORECASE),
                    default=anchor,
                    dayfirst=kind == "numeric" and _day_first(raw),
                ).date()
            except (ValueError, OverflowError):
                continue
        out.append(Entity("date", value.isoformat(), m.start(), m.end()))
    return out


def _day_first(raw: str) -> bool:
    """'25/12/2024' can only be day first; '03/04/2024' is read the US way, month first."""
    first = int(re.split(r"[/.]", raw)[0])
    return first > 12
