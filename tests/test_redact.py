"""Redaction: no e-mail, payment card, IBAN or phone number survives; ordinary text is kept."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import iban, luhn

from engine.redact import (
    _has_iban_start,
    card_spans,
    email_spans,
    find_pii,
    iban_spans,
    may_hold_pii,
    phone_spans,
    redact,
)

letters_word = st.text(alphabet=st.characters(categories=("L",)), min_size=1, max_size=12)
# Ordinary support-chat tokens: words, short numbers, amounts, dates, punctuation.
ordinary_token = st.one_of(
    letters_word,
    letters_word,
    st.integers(0, 999_999).map(str),
    st.decimals(0, 10_000, places=2, allow_nan=False).map(lambda d: f"${d}"),
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from([",", ".", "?", "!", ":", "#", "(", ")", "-", "/", "%"]),
)
# A letter word after every other token keeps numbers apart (two numbers side by side can
# legitimately be a phone number or a card).
ordinary_text = st.lists(st.tuples(letters_word, ordinary_token), max_size=12).map(
    lambda pairs: " ".join(f"{word} {token}" for word, token in pairs)
)
context = st.lists(letters_word, min_size=1, max_size=6).map(" ".join)


def card_numbers() -> st.SearchStrategy[str]:
    """Luhn-valid 13-19 digit numbers, compact or grouped by 4 with spaces or dashes."""
    body = st.text(alphabet="0123456789", min_size=12, max_size=18)
    number = body.map(lambda digits: digits + luhn.calc_check_digit(digits))
    return st.tuples(number, st.sampled_from(["", " ", "-"])).map(
        lambda pair: pair[1].join(pair[0][i : i + 4] for i in range(0, len(pair[0]), 4))
    )


# Country BBAN shapes (ISO 13616 registry): (country, [(alphabet, count), ...]).
BBAN_SHAPES = {
    "DE": [("0123456789", 18)],
    "GB": [("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4), ("0123456789", 14)],
    "NL": [("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4), ("0123456789", 10)],
    "AT": [("0123456789", 16)],
    "CH": [("0123456789", 5), ("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 12)],
    # accounts that may be all letters: an IBAN with only its two check digits
    "LV": [("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4), ("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 13)],
    "KW": [("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4), ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 22)],
}


@st.composite
def ibans(draw: st.DrawFn) -> str:
    """Valid IBANs, compact or in the printed groups of four."""
    country = draw(st.sampled_from(sorted(BBAN_SHAPES)))
    bban = "".join(
        draw(st.text(alphabet=alphabet, min_size=count, max_size=count))
        for alphabet, count in BBAN_SHAPES[country]
    )
    number = country + iban.calc_check_digits(country + "00" + bban) + bban
    assert iban.is_valid(number)
    if draw(st.booleans()):
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return number


@given(ordinary_text)
@settings(max_examples=200)
def test_ordinary_text_is_kept_character_for_character(text: str) -> None:
    assert redact(text) == text


@given(context, st.emails(), context)
def test_no_email_survives(left: str, email: str, right: str) -> None:
    out = redact(f"{left} {email} {right}")
    assert out == f"{left} [EMAIL] {right}"
    assert email_spans(out) == []


@given(context, card_numbers(), context)
def test_no_luhn_card_survives(left: str, card: str, right: str) -> None:
    out = redact(f"{left} {card} {right}")
    assert out == f"{left} [CARD] {right}"
    assert card_spans(out) == []


@given(context, ibans(), context)
def test_no_iban_survives(left: str, number: str, right: str) -> None:
    out = redact(f"{left} {number} {right}")
    assert out == f"{left} [IBAN] {right}"
    assert iban_spans(out) == []


@given(card_numbers())
def test_card_beside_other_numbers_is_still_found(card: str) -> None:
    out = redact(f"order 2024 card {card} 12/27")
    assert card not in out and "[CARD]" in out


PHONE_REGIONS = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "AU"]


@pytest.mark.parametrize("region", PHONE_REGIONS)
def test_no_phone_number_survives_in_international_formats(region: str) -> None:
    formats = [phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164]
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
        number = phonenumbers.example_number_for_type(region, kind)
        for style in formats:
            written = phonenumbers.format_number(number, style)
            out = redact(f"please call me on {written} tomorrow")
            assert out == "please call me on [PHONE] tomorrow", written


def test_national_phone_formats_use_the_desk_region() -> None:
    assert redact("call (415) 555-2671 now") == "call [PHONE] now"
    assert redact("ring 020 7946 0958 today", region="GB") == "ring [PHONE] today"
    assert phone_spans("ring 020 7946 0958 today", region="GB") == [(5, 18)]


def test_mixed_message_is_redacted_with_positions() -> None:
    text = (
        "I'm jane.roe@example.org, card 4111 1111 1111 1111, "
        "IBAN GB82 WEST 1234 5698 7654 32, phone +1 415-555-2671; order 55231 of 2024-03-01."
    )
    kinds = [kind for kind, _, _ in find_pii(text)]
    assert kinds == ["email", "card", "iban", "phone"]
    assert redact(text) == (
        "I'm [EMAIL], card [CARD], IBAN [IBAN], phone [PHONE]; order 55231 of 2024-03-01."
    )


def test_near_misses_are_kept() -> None:
    # One digit off: Luhn fails, mod-97 fails; no domain: not an address.
    for text in ("4111 1111 1111 1112", "GB82 WEST 1234 5698 7654 33", "user@localhost", ""):
        assert redact(text) == text


ascii_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1,
                     max_size=8)
ascii_token = st.one_of(
    ascii_word, st.integers(0, 99_999).map(str), st.sampled_from(["_", "-", "#", ".", "/", "+"]),
    st.sampled_from(["AB12", "gb82", "xAB12", "9AB12"]),  # where an IBAN may start, or not
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=2, max_size=6),
)
ascii_text = st.lists(st.one_of(ascii_token, ascii_token, ibans(), card_numbers(), st.emails()),
                      max_size=10).map(lambda parts: " ".join(parts).encode("ascii", "ignore")
                                       .decode())


@given(ascii_text, st.sampled_from(["", " ", "_", "x"]))
@settings(max_examples=300)
def test_the_ascii_first_look_never_lets_personal_data_through(text: str, glue: str) -> None:
    """The byte-class first look of ASCII text agrees with the general one (it is only faster)
    and passes every text in which the validators find something."""
    text = text.replace(" ", glue, 1)
    digits = sum(c.isdigit() for c in text)
    general = "@" in text or digits >= 7 or (digits >= 2 and _has_iban_start(text))
    assert may_hold_pii(text) == general
    if find_pii(text):
        assert may_hold_pii(text)
