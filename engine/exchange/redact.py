"""Remove personal data from text before it leaves the desk (exports are redacted by default).

Detection leans on maintained validators where one exists: `phonenumbers` (Google's
libphonenumber) finds phone numbers, read as written in each region the desk serves (`regions`:
020 7946 0958 is a London number only when GB is among them); `stdnum` checks payment cards
(Luhn) and IBANs (ISO 13616 country formats + mod-97). Small regexes only propose candidates for
those validators; e-mail addresses (no offline validator fits) use the RFC 5322 dot-atom shape.

Street addresses and postcodes have no validator that installs offline and fits: libpostal
needs a 2 GB model download, presidio finds addresses only through a spaCy NER model, and pyap2
(the maintained regex recogniser; US, CA and GB only) finds no EU address and costs milliseconds
per line (README, "Privacy"). So `address_spans` is a small recogniser of how addresses are
written: a house number with a street word ("221B Baker Street", "12 rue de la Paix",
"Hauptstraße 5", "Calle Mayor 10"), then town and postcode; postcodes alone where their shape
says so (UK NW1 6XE, Irish D02 X285) or their context does (after a US state, after "postcode",
"ZIP", "PLZ"..., or before a town after a comma or a street).

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

# ---- addresses ---------------------------------------------------------------------------
_UP = "A-ZÀ-ÖØ-ÞĆŁŃŚŹŻ"
_NAME = rf"(?:[{_UP}][\w'’.-]*|\d{{1,3}}(?:st|nd|rd|th))"  # "Baker", "5th": a street name's word
_HOUSE = r"\d{1,5}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?"
_UNIT = r"(?:Flat|Apt|Apartment|Unit|Suite|Ste|Floor|Room)\.?\s?#?\w{1,5}"
# Street words read in any case ("12 baker street"), and ones read only capitalised ("42 Wallaby
# Way": "3 items on the way" is no address).
_STREET_ANY_CASE = (r"street|road|avenue|lane|boulevard|crescent|terrace|parkway|highway"
                    r"|gardens|mews|square|drive|st|rd|ave|blvd")
_STREET_CAPITALISED = (r"Av|Ln|Dr|Way|Court|Ct|Place|Pl|Sq|Close|Grove|Walk|Row"
                       r"|Hill|Park|Circle|Cir|Trail|Parade|Broadway|Freeway|Fwy|Pkwy|Hwy|Cres"
                       r"|Ter|Plaza|Green|Rise|View|Vale|Wharf|Quay")
_NOT_A_NAME = (r"the|a|an|on|in|of|and|or|my|your|our|to|for|at|it|is|was|by|with|from|me|you"
               r"|i|down|up|this|that|same|other|items?|more|days?|weeks?|minutes?|miles?|km")
_NAME_WORD = rf"(?:{_NAME}|(?!(?:{_NOT_A_NAME})\b)[a-z][\w'’.-]*)"
_EN_STREET = (
    rf"(?:\b{_UNIT},?\s)?\b{_HOUSE},?\s(?:{_NAME_WORD}\s){{1,4}}?"
    rf"(?:(?i:{_STREET_ANY_CASE})|{_STREET_CAPITALISED})\b\.?"
)
# The street word written onto the name: Hauptstraße 5, Keizersgracht 123, Storgatan 12
_COMPOUND = (r"straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|gracht|straat|laan"
             r"|plein|kade|singel|steeg|vej|gade|gatan|vägen|väg|katu|tie|kuja")
_COMPOUND_STREET = rf"\b[{_UP}][\w'’-]*?(?:{_COMPOUND})\s{_HOUSE}\b"
# The street word before the name: "12 rue de la Paix", "Via Roma 1", "ul. Długa 5"
_PREFIX = (r"[Rr]ue|Avenue|[Aa]v\.|Boulevard|[Bb]d\.?|Place|[Cc]hemin|Allée|Impasse|Quai|Calle"
           r"|C/|Avenida|Avda\.?|Plaza|Paseo|Carrer|Via|Viale|Piazza|Corso|Largo|Rua|Travessa"
           r"|Praça|[Uu]l\.|[Uu]lica|[Aa]l\.|Aleja")
_PARTICLE = r"(?:(?:de|del|de la|della|delle|dei|di|da|do|dos|das|des|du|la|le|les|y|e)\s|[dl]['’])"
_PREFIX_STREET = (
    rf"(?:\b{_HOUSE}(?:\s?(?:bis|ter))?,?\s)?(?<!\w)(?:{_PREFIX})\s{_PARTICLE}*[{_UP}][\w'’-]*"
    rf"(?:\s{_PARTICLE}*[{_UP}][\w'’-]*){{0,3}}(?:,?\s{_HOUSE}\b)?"
)
_STREET = re.compile(rf"(?:{_EN_STREET}|{_COMPOUND_STREET}|{_PREFIX_STREET})(?:,?\s{_UNIT}\b)?")
# Postcodes by shape: UK (the inward letters leave out CIKMOV) and Irish Eircodes.
_UK = r"(?:[A-Z]{1,2}\d[A-Z\d]?|GIR) ?\d[ABD-HJLNP-UW-Z]{2}"
_UK_LOWER = r"[a-z]{1,2}\d[a-z\d]? \d[abd-hjlnp-uw-z]{2}"
_EIRCODE = r"(?:[AC-FHKNPRTV-Y]\d{2}|D6W) ?[0-9AC-FHKNPRTV-Y]{4}"
_CANADA = r"[A-Z]\d[A-Z] ?\d[A-Z]\d"
_SHAPED = rf"(?:{_UK}|{_EIRCODE}|{_CANADA}|{_UK_LOWER})"
# Numeric postcodes: US ZIP(+4), most of Europe's 4-5 digits (D-10115), NL 1015 CJ, PL 00-950,
# PT 1000-001, SE/CZ/GR 114 55.
_NUMERIC = (r"(?:[A-Z]{1,2}-)?"
            r"(?:\d{5}(?:-\d{4})?|\d{4}(?: ?[A-Z]{2}\b|-\d{3})?|\d{2}-\d{3}|\d{3} \d{2})")
_STATES = (r"AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT"
           r"|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY")
_POSTCODE_WORD = (r"post ?code|postal ?code|zip(?: ?code)?|plz|postleitzahl|code postal|cap"
                  r"|c\.p\.|c[óo]digo postal|kod pocztowy|postnummer|postinumero|eircode")
_NOT_A_TOWN = (r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun"
               r"|Euro|Dollar|Pound|Item|Order|Point|Unit|Piece|Ticket|Error)")
_TOWN = rf"(?!{_NOT_A_TOWN})[{_UP}][\w'’-]+"
_POSTCODE = re.compile(
    rf"(?<![\w-])(?P<shaped>{_SHAPED})(?![\w-])"
    rf"|\b(?:{_STATES}),? (?P<zip>\d{{5}}(?:-\d{{4}})?)\b"
    rf"|(?i:\b(?:{_POSTCODE_WORD}))\W{{0,3}}(?:is\s)?(?P<worded>{_NUMERIC}|(?i:{_SHAPED}))(?![\w-])"
    rf"|,\s?(?P<town>{_NUMERIC})\s{_TOWN}"
)
_AFTER_STREET = re.compile(
    rf",?\s(?P<code>{_NUMERIC})\s{_TOWN}"  # ", 10115 Berlin"
    rf"|,?\s+(?:[^\W\d_]+,?\s+){{0,3}}?(?i:{_STATES}),?\s+(?P<zip>\d{{5}}(?:-\d{{4}})?)\b"
)  # " charlotte nc 28213"
# What may lie between a street and its postcode: ", London ", ", Mountain View, CA ".
_BETWEEN = re.compile(rf",?\s*(?:[{_UP}][\w'’.-]*,?\s*){{0,3}}")
# A street word written in lower case that may be an ordinary word ("28 park place") makes an
# address only when a postcode follows it.
_WEAK_STREET = re.compile(
    rf"(?:\b{_UNIT},?\s)?\b{_HOUSE},?\s(?:{_NAME_WORD}\s){{1,4}}?(?i:{_STREET_CAPITALISED})\b"
)
# A cheap look before the address patterns (C-level set and bytes operations, no regex scan):
# a street or postcode word, a word ending in a street word, a word starting with one or two
# letters and a digit (NW1, D02), a comma before digits, or two capitals before digits (CA 94043).
_HINT_WORDS = frozenset(
    "street road avenue lane boulevard crescent terrace parkway highway gardens mews square drive"
    " st rd ave blvd av ln dr way court ct place pl sq close grove walk row hill park circle cir"
    " trail parade broadway freeway fwy pkwy hwy cres ter plaza green rise view vale wharf quay"
    " rue bd chemin allée impasse quai calle avenida avda paseo carrer via viale piazza corso"
    " largo rua travessa praça ul ulica al aleja c"
    " post postcode postal zip zipcode plz postleitzahl code cap cp código codigo kod pocztowy"
    " postnummer postinumero eircode".split()
)
_HINT_SUFFIXES = tuple(_COMPOUND.replace("\\", "").replace(".", "").split("|"))
_HINT_BYTES = frozenset(word.encode() for word in _HINT_WORDS if word.isascii())
_HINT_SUFFIX_BYTES = tuple(suffix.encode() for suffix in _HINT_SUFFIXES if suffix.isascii())
_HINT_WORD = re.compile(r"[^\W\d_]+")
_HINT_OTHER = re.compile(r"[^\W\d_]\d|\d[^\W\d_]|,\s?\d|[A-Z]{2},? \d")
_ASCII_HINT_CLASSES = bytes(
    ord("0") if chr(b).isdigit() else ord("a") if chr(b).isalpha()
    else ord(",") if chr(b) == "," else ord(" ") for b in range(256)
)
_STATE_CODES = frozenset(_STATES.split("|"))
_ASCII_LETTERS = bytes(ord(chr(b).lower()) if chr(b).isalpha() and b < 128 else ord(" ")
                       for b in range(256))


def _address_hint(text: str) -> bool:
    """Whether `text` (holding a digit) may hold an address or a postcode."""
    if not text.isascii():
        if _HINT_OTHER.search(text):
            return True
        words = set(_HINT_WORD.findall(text.lower()))
        return not words.isdisjoint(_HINT_WORDS) or any(w.endswith(_HINT_SUFFIXES) for w in words)
    raw = text.encode("ascii")
    classes = b" " + raw.translate(_ASCII_HINT_CLASSES)  # one leading space: word starts
    if b",0" in classes or b", 0" in classes:
        return True
    at = classes.find(b"a0")  # where a letter meets a digit: is it a postcode's start?
    while at != -1:
        if classes[at - 1] in b" ," or (classes[at - 1] == 97 and classes[at - 2] in b" ,"):
            return True
        at = classes.find(b"a0", at + 1)
    for pattern in (b" aa 0", b" aa, 0"):  # a US state before its ZIP code: "CA 94043"
        at = classes.find(pattern)
        while at != -1:
            if text[at + 1 : at + 3] in _STATE_CODES:
                return True
            at = classes.find(pattern, at + 1)
    letters = b" " + raw.translate(_ASCII_LETTERS)  # lower-case words, all else a space
    if not _HINT_BYTES.isdisjoint(letters.split()):
        return True
    at = classes.find(b"a 0")  # a street word written onto the name comes right before digits
    while at != -1:
        start = max(classes.rfind(b" ", 0, at), classes.rfind(b",", 0, at),
                    classes.rfind(b"0", 0, at)) + 1
        if letters[start : at + 1].endswith(_HINT_SUFFIX_BYTES):
            return True
        at = classes.find(b"a 0", at + 1)
    return False


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
    return digits >= 1 and _address_hint(text)


def _first_look_ascii(text: str) -> bool:
    """may_hold_pii for ASCII text without "@": one C pass maps each character to its class
    (letter a, digit 0, other)."""
    classes = text.encode("ascii").translate(_ASCII_CLASSES)
    digits = classes.count(b"0")
    if digits >= 7:
        return True
    if digits >= 2 and (classes.startswith(b"aa00") or b" aa00" in classes):
        return True
    return digits >= 1 and _address_hint(text)


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


def address_spans(text: str) -> list[tuple[str, int, int]]:
    """("address", start, end) of each street address (with its town and postcode when they
    follow it), and ("postcode", start, end) of each postcode standing alone."""
    if not any(c.isdigit() for c in text) or not _address_hint(text):
        return []
    codes = []
    for match in _POSTCODE.finditer(text):
        group = next(name for name in ("shaped", "zip", "worded", "town") if match.group(name))
        codes.append(match.span(group))
    streets = [(m.start(), m.end(), True) for m in _STREET.finditer(text)
               if any(c.isdigit() for c in m.group())]  # "Via Roma" alone names no address
    streets += [(m.start(), m.end(), False) for m in _WEAK_STREET.finditer(text)
                if not any(m.start() < b and a < m.end() for a, b, _ in streets)]
    found: list[tuple[str, int, int]] = []
    for start, end, sure in sorted(streets):
        after = _AFTER_STREET.match(text, end)
        if after:
            end, sure = after.end("code" if after.group("code") else "zip"), True
        for code_start, code_end in codes:  # the postcode after it, and what lies between
            if code_start >= end and code_end - start < 160 and _BETWEEN.fullmatch(
                    text, end, code_start):
                end, sure = code_end, True
        if sure:
            found.append(("address", start, end))
    for start, end in codes:
        if not any(start < b and a < end for _, a, b in found):
            found.append(("postcode", start, end))
    return sorted(found, key=lambda item: item[1])
