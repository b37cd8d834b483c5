"""Street addresses and postcodes in free text, for redaction (engine.exchange.redact).

Street addresses and postcodes have no validator that installs offline and fits: libpostal
needs a 2 GB model download, presidio finds addresses only through a spaCy NER model, and pyap2
(the maintained regex recogniser; US, CA and GB only) finds no EU address and costs milliseconds
per line (README, "Privacy"). So `address_spans` is a small recogniser of how addresses are
written: a house number with a street word ("221B Baker Street", "12 rue de la Paix",
"Hauptstraße 5", "Calle Mayor 10"), then town and postcode; postcodes alone where their shape
says so (UK NW1 6XE, Irish D02 X285) or their context does (after a US state, after "postcode",
"ZIP", "PLZ"..., or before a town after a comma or a street).
"""

from __future__ import annotations

import re

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


def address_hint(text: str) -> bool:
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


def address_spans(text: str) -> list[tuple[str, int, int]]:
    """("address", start, end) of each street address (with its town and postcode when they
    follow it), and ("postcode", start, end) of each postcode standing alone."""
    if not any(c.isdigit() for c in text) or not address_hint(text):
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
