"""Training-time noise: in-scope text as hurried customers type it, applied in code, seeded.

Each augmentation turns one training text into a variant with the same intent:
- `typos`: keyboard slips and swapped letters (nlpaug's KeyboardAug / RandomCharAug, which need
  no download);
- `casual`: lower case, punctuation dropped or doubled ("??");
- `filler`: a greeting or a hesitation before, a thanks or "asap" after;
- `fragment`: the first two to four content words alone, small words dropped ("refund jacket");
- `long`: one or two other human turns (details, greetings, a name or a number from MultiDoGO's
  `contentonly` / greeting turns) before the request, so the request comes last.
`augment_cases` makes copies of a share of the rows with a chosen mix; the ablation in
bench/natural.py measures what each adds on the dev set.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from engine.cases.datasets import Case

# Generic conversational wrappers (not taken from any eval set): how chats open and close.
OPENERS = ("hi", "hello", "hey", "hi there", "hello,", "good morning", "um", "ok so", "so",
           "excuse me", "hey guys", "yes hello", "hi,")
CLOSERS = ("thanks", "thank you", "pls", "please", "asap", "thx", "help", "??", "!!",
           "thanks in advance", "can you help")
STOPWORDS = frozenset("""a an the i me my we our you your it its is am are was were be been
to of for in on at by with from and or but so that this these those do does did can could would
should will shall may might must have has had please hi hello hey just some any about like
want wanna need get know tell help im i'm there""".split())
KINDS = ("typos", "casual", "filler", "fragment", "long")


class Augmenter:
    """Seeded variants of training text; `pads` are human turns used by `long`."""

    def __init__(self, seed: int, pads: list[str] | None = None) -> None:
        import nlpaug.augmenter.char as nac  # imported here: training only, ~2 s to import

        self.rng = random.Random(seed)
        self.pads = pads or []
        self.keyboard = nac.KeyboardAug(aug_char_max=1, aug_word_max=2, aug_word_p=0.2,
                                        include_special_char=False, include_numeric=False,
                                        include_upper_case=False)
        self.swap = nac.RandomCharAug(action="swap", aug_char_max=1, aug_word_max=1)
        self.kinds: dict[str, Callable[[str], str]] = {
            "typos": self.typos, "casual": self.casual, "filler": self.filler,
            "fragment": self.fragment, "long": self.long}

    def __call__(self, text: str, kind: str) -> str:
        out = self.kinds[kind](text)
        return " ".join(out.split()) or text

    def typos(self, text: str) -> str:
        import numpy as np

        np.random.seed(self.rng.randrange(2**31))  # nlpaug draws from numpy and random
        random.seed(self.rng.randrange(2**31))
        aug = self.keyboard if self.rng.random() < 0.6 else self.swap
        out = aug.augment(text)
        return (out[0] if isinstance(out, list) else out) or text

    def casual(self, text: str) -> str:
        out = " ".join(re.sub(r"[^\w\s'#$-]", " ", text.lower()).split())
        return out + self.rng.choice(("", "", "?", "??", "!", "..."))

    def filler(self, text: str) -> str:
        body = text[:1].lower() + text[1:] if self.rng.random() < 0.5 else text
        if self.rng.random() < 0.7:
            body = f"{self.rng.choice(OPENERS)} {body}"
        if self.rng.random() < 0.5:
            body = f"{body.rstrip('.')} {self.rng.choice(CLOSERS)}"
        return body

    def fragment(self, text: str) -> str:
        words = [w for w in re.findall(r"[\w'#$]+", text.lower()) if w not in STOPWORDS]
        words = words[:self.rng.choice((2, 3, 4))] or [text]  # the request comes first
        return " ".join(words) + self.rng.choice(("", "?", "??", "!"))

    def long(self, text: str) -> str:
        if not self.pads:
            return text
        before = self.rng.sample(self.pads, self.rng.choice((1, 2)))
        joiner = self.rng.choice((". ", ", ", " "))
        return joiner.join([*before, text])


def augment_cases(cases: list[Case], augmenter: Augmenter, kinds: tuple[str, ...],
                  fraction: float) -> list[Case]:
    """Copies of `fraction` of `cases` per kind in `kinds`, each changed by that kind."""
    out = []
    for kind in kinds:
        chosen = augmenter.rng.sample(cases, round(len(cases) * fraction))
        out += [Case(text=augmenter(c.text, kind), intent=c.intent, id=f"{c.id}:{kind}")
                for c in chosen]
    return out
