"""Privacy benchmark: what the redacted export leaks, what it damages, and what it costs.

A generated audit set (seeded; `--per-type` sentences per kind): phone numbers of the US, the UK
(020..., 07..., 0044..., +44...) and EU countries in national, international and 00 forms;
e-mail addresses; cards of the main networks, grouped or compact; IBANs; street addresses of the
US, UK, DE, FR, ES, IT, NL, PT, PL and SE with town and postcode; postcodes alone. Each sentence
is context + item + context, and the item's secret parts (number, street line, postcode) are
known. Beside them, things that must be kept: order numbers (ORD-2026-123456, Amazon-style
113-1234567-1234567), tracking and invoice numbers, dates, amounts, times, sizes, versions.

- leaked: an item of which any secret token (a word or number of the street line, any digit
  group of a number) is still in the redacted text; damaged: the context around it changed.
- kept: look-alike sentences that came out unchanged (anything else is a false redaction).
- time: `redact` over the distinct texts of the 100k-turn log of bench.store (what the export
  redacts: turns and drafts), and over the customer turns of real chats (MultiDoGO train, when
  ../shared/data is there), CPU seconds, best of `--repeat` cold passes.

    python -m bench privacy [--per-type 50] [--seed 11] [--turns 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban, luhn

import engine.exchange.redact
from engine.exchange.redact import DEFAULT_REGIONS, redact
from engine.paths import SHARED_DATA

EU_PHONE = ["DE", "FR", "ES", "IT", "NL", "IE", "BE", "AT", "PT", "PL", "SE", "DK", "FI"]
LEFT = ["please call me on", "my details:", "you can reach me at", "write it down:",
        "the customer gave", "Update my file with", "she said"]
RIGHT = ["thanks", "before noon please", "ok?", "and let me know", "cheers", ""]
FIRST = ["anna", "li", "jose", "marie", "tom", "ngozi", "sven", "aoife", "pablo", "kasia"]
LAST = ["smith", "okafor", "garcia", "dubois", "rossi", "nowak", "berg", "murphy", "van.dijk"]
DOMAINS = ["example.com", "mail.example.org", "shop.test", "post.example.co.uk", "web.example.de"]
NAMES = ["Baker", "Maple", "Station", "Church", "Victoria", "Oak", "Mill", "King", "Park",
         "Elm", "Queen", "Washington", "Lincoln", "Cedar", "Highfield", "Green Lane"]
EN_TYPES = ["Street", "Road", "Avenue", "Lane", "Drive", "Close", "Way", "St", "Rd", "Ave",
            "Court", "Place", "Crescent", "Terrace", "Boulevard"]
US_CITIES = [("Springfield", "IL"), ("Austin", "TX"), ("Portland", "OR"), ("Mountain View", "CA"),
             ("Brooklyn", "NY"), ("Denver", "CO"), ("Boston", "MA")]
UK_TOWNS = ["London", "Leeds", "Manchester", "Bristol", "York", "Cardiff", "Glasgow"]
# (street shape, postcode shape, towns): {n} house number, {name} a street name
EU_SHAPES = {
    "DE": ("{word}straße {n}", "{d5}", ["Berlin", "München", "Köln"]),
    "AT": ("{word}gasse {n}", "{d4}", ["Wien", "Graz"]),
    "FR": ("{n} rue de la {word}", "{d5}", ["Paris", "Lyon", "Nantes"]),
    "ES": ("Calle {word} {n}", "{d5}", ["Madrid", "Sevilla", "Valencia"]),
    "IT": ("Via {word} {n}", "{d5}", ["Roma", "Milano", "Torino"]),
    "NL": ("{word}gracht {n}", "{d4} {AA}", ["Amsterdam", "Utrecht", "Leiden"]),
    "PT": ("Rua {word} {n}", "{d4}-{d3}", ["Lisboa", "Porto"]),
    "PL": ("ul. {word} {n}", "{d2}-{d3}", ["Warszawa", "Kraków"]),
    "SE": ("{word}gatan {n}", "{d3} {d2}", ["Stockholm", "Malmö"]),
}
EU_WORDS = ["Linden", "Rosen", "Garibaldi", "Augusta", "Mayor", "Paix", "Kirch", "Długa",
            "Prinsen", "Stor", "Dante", "Sol", "Marszałkowska", "Keizers", "Berg"]
KEEP_TEMPLATES = [
    "order {ord} arrived broken", "Amazon order {amz} was never delivered",
    "refund {ord} and {ord} please", "my order number is {amz}",
    "tracking {ups} says delivered", "parcel {s10} is stuck at customs",
    "invoice INV-{year}-{d6} is wrong", "ticket #{d5} was closed on {date}",
    "I paid {amount} on {date} at {time}", "error code E-{d5} when paying",
    "the box is {d2} x {d2} x {d2} cm and weighs {d2}.{d1} kg", "app version {d1}.{d2}.{d1}",
    "I ordered {d1} items on {date}", "2 items on the way since {date}",
    "reference {ord}, sku {d4}-{d4}", "booking REF-{d4}-{d4}-{d4} for {d2} people",
    "it has {d4} MB left and costs {amount}", "I waited {d2} days, order {ord}",
    "charged {amount} twice for {amz}", "serial SN{d4}{d4}{d4}",
]


@dataclass
class Item:
    """One audit sentence: context + item + context, the item's secret parts known."""

    kind: str
    left: str
    body: str
    right: str
    secrets: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(part for part in (self.left, self.body, self.right) if part)


def _digits(rng: random.Random, n: int, first: str = "0123456789") -> str:
    return rng.choice(first) + "".join(rng.choice(string.digits) for _ in range(n - 1))


def phone_numbers(rng: random.Random, region: str, count: int) -> list[str]:
    """Valid numbers of `region` (fixed lines and mobiles), written as people write them."""
    out: list[str] = []
    kinds = [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]
    while len(out) < count:
        example = phonenumbers.example_number_for_type(region, rng.choice(kinds))
        national = str(example.national_number)
        number = example
        for _ in range(50):  # vary the last digits until libphonenumber calls it valid
            candidate = phonenumbers.PhoneNumber()
            candidate.merge_from(example)  # keeps Italy's leading zero
            candidate.national_number = int(national[:-4] + _digits(rng, 4))
            if phonenumbers.is_valid_number(candidate):
                number = candidate
                break
        fmt = phonenumbers.PhoneNumberFormat
        styles = [phonenumbers.format_number(number, fmt.NATIONAL),
                  phonenumbers.format_number(number, fmt.INTERNATIONAL),
                  phonenumbers.format_number(number, fmt.E164),
                  "00" + phonenumbers.format_number(number, fmt.INTERNATIONAL)[1:],
                  phonenumbers.format_number(number, fmt.NATIONAL).replace(" ", "")]
        out.append(rng.choice(styles))
    return out


def card_number(rng: random.Random) -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15),
                                 ("37", 15), ("6011", 16), ("4", 13), ("36", 14)])
    body = prefix + _digits(rng, length - len(prefix) - 1)
    number = body + luhn.calc_check_digit(body)
    if length in (14, 15):
        groups = [number[:4], number[4:10], number[10:]]
    else:
        groups = [number[i : i + 4] for i in range(0, length, 4)]
    return rng.choice([" ", "-", ""]).join(groups)


def iban_number(rng: random.Random) -> str:
    """A valid IBAN of a country whose account numbers carry no national check of their own
    (for BE, ES, NO and ME, stdnum also checks that, and random accounts fail it)."""
    country, bban = rng.choice([
        ("DE", _digits(rng, 18)), ("FR", _digits(rng, 23)), ("AT", _digits(rng, 16)),
        ("IT", "X" + _digits(rng, 22)), ("NL", "ABNA" + _digits(rng, 10)),
        ("GB", "WEST" + _digits(rng, 14)), ("IE", "AIBK" + _digits(rng, 14)),
        ("PT", _digits(rng, 21)), ("PL", _digits(rng, 24)),
    ])
    number = country + iban.calc_check_digits(country + "00" + bban) + bban
    if rng.random() < 0.5:
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return number


def uk_postcode(rng: random.Random) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    outward = rng.choice(["{A}{d}", "{A}{d}{d}", "{A}{A}{d}", "{A}{A}{d}{d}", "{A}{d}{A}",
                          "{A}{A}{d}{A}"])
    outward = re.sub(r"\{A\}", lambda _: rng.choice("ABCEHLMNSW"), outward)
    outward = re.sub(r"\{d\}", lambda _: rng.choice(string.digits[1:]), outward)
    return f"{outward} {rng.choice(string.digits)}{rng.choice(letters)}{rng.choice(letters)}"


def _fill(rng: random.Random, shape: str) -> str:
    return (shape.replace("{d5}", _digits(rng, 5, "123456789"))
            .replace("{d4}", _digits(rng, 4, "123456789"))
            .replace("{d3}", _digits(rng, 3)).replace("{d2}", _digits(rng, 2))
            .replace("{AA}", "".join(rng.choice("BCDGHJKLMNPRTVWXZ") for _ in range(2))))


def addresses(rng: random.Random) -> tuple[str, list[str]]:
    """An address as written in a message, and its secret parts (street line, postcode)."""
    n = str(rng.randint(1, 999)) + rng.choice(["", "", "", "B", "a"])
    country = rng.choice(["US", "GB", "GB", "EU", "EU", "EU"])
    if country == "US":
        city, state = rng.choice(US_CITIES)
        street = f"{n} {rng.choice(NAMES)} {rng.choice(EN_TYPES)}"
        zip_code = _digits(rng, 5, "123456789") + rng.choice(["", "-" + _digits(rng, 4)])
        return f"{street}, {city}, {state} {zip_code}", [street, zip_code]
    if country == "GB":
        street = f"{n} {rng.choice(NAMES)} {rng.choice(EN_TYPES)}"
        if rng.random() < 0.2:
            street = street.lower()
        postcode = uk_postcode(rng)
        flat = rng.choice(["", "", f"Flat {rng.randint(1, 9)}, "])
        return f"{flat}{street}, {rng.choice(UK_TOWNS)} {postcode}", [street, postcode]
    shape, code_shape, towns = EU_SHAPES[rng.choice(sorted(EU_SHAPES))]
    street = shape.replace("{word}", rng.choice(EU_WORDS)).replace("{n}", str(rng.randint(1, 200)))
    code = _fill(rng, code_shape)
    return f"{street}, {code} {rng.choice(towns)}", [street, code]


def postcode_alone(rng: random.Random) -> tuple[str, str]:
    """A postcode said on its own, with the words people put before it."""
    choice = rng.randrange(6)
    if choice == 0:
        code = uk_postcode(rng)
        return rng.choice([f"my postcode is {code}", f"deliver to {code} instead",
                           f"postcode: {code}", f"it's {code.lower()} for the postcode"]), code
    if choice == 1:
        code = _digits(rng, 5, "123456789") + rng.choice(["", "-" + _digits(rng, 4)])
        return rng.choice([f"my zip is {code}", f"ZIP code {code}", f"zip: {code}"]), code
    if choice == 2:
        code = _digits(rng, 5, "123456789")
        return rng.choice([f"PLZ {code}", f"code postal {code}", f"CAP {code}"]), code
    if choice == 3:
        code = rng.choice("ACDEFHKNPRTVWXY") + _digits(rng, 2) + " " + "".join(
            rng.choice("ACDEFHKNPRTVWXY0123456789") for _ in range(4))
        return f"my Eircode is {code}", code
    if choice == 4:
        code = _fill(rng, "{d4} {AA}")
        return f"postcode {code}", code
    letter = "ABCEGHJKLMNPRSTVWXYZ"
    code = f"{rng.choice(letter)}{rng.randint(0, 9)}{rng.choice(letter)} "
    code += f"{rng.randint(0, 9)}{rng.choice(letter)}{rng.randint(0, 9)}"
    return f"postal code {code}", code


def keep_sentence(rng: random.Random) -> str:
    """A sentence full of numbers an agent needs, none of them personal."""
    year = str(rng.randint(2019, 2027))
    values = {
        "ord": lambda: f"ORD-{year}-{_digits(rng, 6)}",
        "amz": lambda: f"{_digits(rng, 3)}-{_digits(rng, 7)}-{_digits(rng, 7)}",
        "ups": lambda: "1Z" + "".join(rng.choice(string.ascii_uppercase + string.digits)
                                      for _ in range(16)),
        "s10": lambda: f"RB{_digits(rng, 9)}GB", "year": lambda: year,
        "date": lambda: rng.choice([f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                                    f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{year}",
                                    f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/{year}"]),
        "amount": lambda: rng.choice([f"${rng.randint(1, 9)},{_digits(rng, 3)}.{_digits(rng, 2)}",
                                      f"€{rng.randint(1, 999)},{_digits(rng, 2)}",
                                      f"£{rng.randint(1, 999)}.{_digits(rng, 2)}"]),
        "time": lambda: f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
        "d6": lambda: _digits(rng, 6), "d5": lambda: _digits(rng, 5), "d4": lambda: _digits(rng, 4),
        "d2": lambda: str(rng.randint(10, 99)), "d1": lambda: str(rng.randint(1, 9)),
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)](), rng.choice(KEEP_TEMPLATES))


def audit_set(per_type: int = 50, seed: int = 11) -> tuple[list[Item], list[str]]:
    """(personal-data items, look-alike sentences to keep), the same for the same seed."""
    rng = random.Random(seed)
    items: list[Item] = []

    def add(kind: str, body: str, secrets: list[str]) -> None:
        items.append(Item(kind, rng.choice(LEFT), body, rng.choice(RIGHT), secrets))

    for number in phone_numbers(rng, "US", per_type):
        add("phone US", number, [number])
    for number in phone_numbers(rng, "GB", per_type):
        add("phone GB", number, [number])
    eu = [n for region in EU_PHONE for n in phone_numbers(rng, region, -(-per_type // 13))]
    for number in rng.sample(eu, per_type):
        add("phone EU", number, [number])
    for _ in range(per_type):
        email = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"
        add("email", email, [email])
    for _ in range(per_type):
        card = card_number(rng)
        add("card", card, [card])
    for _ in range(per_type):
        number = iban_number(rng)
        add("iban", number, [number])
    for _ in range(per_type):
        body, secrets = addresses(rng)
        add("address", body, secrets)
    for _ in range(per_type):
        body, code = postcode_alone(rng)
        items.append(Item("postcode", "", body, rng.choice(RIGHT), [code]))
    keep = [keep_sentence(rng) for _ in range(per_type * 3)]
    return items, keep


_TOKEN = re.compile(r"[^\W_]+")
_GENERIC = {t.lower() for t in EN_TYPES} | {"ul", "rue", "de", "la", "calle", "via", "rua",
                                             "flat"}


def leaked(item: Item, out: str) -> bool:
    """Whether a secret token of the item survives: a digit group, or a word of a street line
    (street words such as "Road" and the context's own words excepted)."""
    context = {t.lower() for t in _TOKEN.findall(item.left + " " + item.right)}
    kept = {t.lower() for t in _TOKEN.findall(out)}
    for secret in item.secrets:
        for token in _TOKEN.findall(secret):
            word = token.lower()
            if word in _GENERIC or word in context or (len(word) < 2 and not word.isdigit()):
                continue
            if word in kept:
                return True
    return False


def damaged(item: Item, out: str) -> bool:
    """Whether the words around the item changed."""
    return not (out.startswith(item.left) and out.endswith(item.right))


def score(redactor: Callable[[str], str], items: list[Item],
          keep: list[str]) -> tuple[dict[str, list[int]], int, list[str]]:
    """{kind: [items, leaked, damaged]}, look-alikes changed, and a few examples of failures."""
    table: dict[str, list[int]] = {}
    examples: list[str] = []
    for item in items:
        out = redactor(item.text)
        row = table.setdefault(item.kind, [0, 0, 0])
        row[0] += 1
        bad = [leaked(item, out), damaged(item, out)]
        row[1] += bad[0]
        row[2] += bad[1]
        if any(bad) and len(examples) < 12:
            examples.append(f"{item.kind}: {item.text!r} -> {out!r}")
    changed = 0
    for text in keep:
        out = redactor(text)
        if out != text:
            changed += 1
            if len(examples) < 12:
                examples.append(f"kept?: {text!r} -> {out!r}")
    return table, changed, examples


def export_texts(turns: int) -> list[str]:
    """The distinct texts an export of bench.store's `turns`-turn log redacts."""
    from bench.store import make_rows

    texts: dict[str, None] = {}
    for _, turn, reply in make_rows(turns, 10):
        texts[turn.text] = None
        texts[reply.draft or ""] = None
    return list(texts)


def chat_texts() -> list[str]:
    """Customer turns of real chats (MultiDoGO train, beside the checkout), if present."""
    folder = SHARED_DATA / "multidogo"
    texts = []
    for path in sorted(folder.glob("*/train.tsv")):
        with open(path, newline="", encoding="utf-8") as handle:
            texts += [row["utterance"] for row in csv.DictReader(handle, delimiter="\t")]
    return texts


def timed(redactor: Callable[[str], str], texts: list[str], repeat: int) -> float:
    """Best CPU seconds of `repeat` passes, each from a cold start (the first look's memory
    of text shapes emptied: a real export runs once)."""
    best = float("inf")
    for _ in range(repeat):
        engine.exchange.redact._SHAPES_SEEN.clear()
        started = time.process_time()
        for text in texts:
            redactor(text)
        best = min(best, time.process_time() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.privacy")
    parser.add_argument("--per-type", type=int, default=50)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    items, keep = audit_set(args.per_type, args.seed)
    table, changed, examples = score(redact, items, keep)
    print(f"audit set: {len(items)} items with personal data, {len(keep)} look-alikes to keep "
          f"(seed {args.seed}); phone regions {','.join(DEFAULT_REGIONS)}")
    print(f"{'kind':<10} {'items':>5} {'leaked':>6} {'leak rate':>9} {'context damaged':>15}")
    for kind, (total, leaks, harm) in table.items():
        print(f"{kind:<10} {total:>5} {leaks:>6} {leaks / total:>9.1%} {harm:>15}")
    print(f"{'kept':<10} {len(keep):>5} false redactions {changed} ({changed / len(keep):.1%})")
    for line in examples:
        print("  " + line)

    texts = export_texts(args.turns)
    seconds = timed(redact, texts, args.repeat)
    print(f"redact: {len(texts)} distinct texts of a {args.turns}-turn export in {seconds:.2f} s "
          f"cpu (best of {args.repeat}; {seconds / len(texts) * 1e6:.1f} us per text)")
    chats = chat_texts()
    if chats:
        seconds = timed(redact, chats, args.repeat)
        print(f"redact: {len(chats)} customer turns of real chats (MultiDoGO train) in "
              f"{seconds:.2f} s cpu ({seconds / len(chats) * 1e6:.1f} us per text)")
    leaks = sum(row[1] for row in table.values())
    return 1 if leaks or changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
