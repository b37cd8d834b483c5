"""The team's knowledge base: articles with policy text and reply templates, and answer drafting.

A knowledge base is a folder of articles, one a file, in YAML (`.yaml`/`.yml`) or Markdown with a
YAML front matter (`.md`, the body is the policy text):

    id: cancel_order                 # unique in the folder
    intents: [cancel_order]          # which intents it answers
    title: Cancelling an order
    policy: |                        # what the agent should know (shown beside the draft)
      Orders can be cancelled free of charge until they ship ...
    requires: [order_number]         # optional: slots to ask for when nobody gave them yet
    ask:                             # optional: how to ask for a slot no entity fills
      new_address: the full new delivery address
    templates:                       # the most complete reply first
      - text: I can ask to cancel order {order_number} for you - shall I?
        needs: [order_number]        # optional; default = the {slots} in the text
      - text: I can cancel that order for you ...

Drafting picks the article for the intent (the message's similarity decides between several),
then the most complete template whose slots are all known (the first listed wins a tie). Slots
come from entities found anywhere in the conversation, the latest winning. A slot the article
`requires` that nobody has given yet, or one every template needs, makes the draft ask for it
politely instead of showing `{order_number}`. The draft is a proposal for the agent; nothing
here sends it.

A draft may be pasted unread, so a reply offers, explains or asks; it never says an action was
taken ("I've sent...", "has been cancelled"): only the agent knows that. `claimed_action` finds
such phrasing; the shipped base is checked by the tests, a team's own folder is warned about in
the log when it loads.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import InputError
from engine.paths import ASSETS
from engine.types import OUT_OF_SCOPE, Entity

log = logging.getLogger("frontdesk.knowledge")

DEFAULT_FOLDER = ASSETS / "knowledge"
SUFFIXES = (".yaml", ".yml", ".md")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

# How a draft asks for each value the entity extractor can fill.
SLOT_PROMPTS: dict[str, str] = {
    "order_number": "your order number",
    "email": "the email address on your account",
    "amount": "the amount involved",
    "date": "the date it happened",
    "card_last4": "the last four digits of the card you used",
    "error_code": "the error code or message you see",
    "phone": "a phone number we can reach you on",
    "tracking_number": "the tracking number",
    "invoice_number": "the invoice number",
    "address": "the full new delivery address with its postcode",
}

# Phrasing that tells the customer an action was already taken or a record already looked up.
_DONE = (r"(?:\w+ed|sent|resent|put|made|done|set|got|gotten|taken|given|written|begun|paid"
         r"|run|left|reset|shut|cut)")
_ACTION_VERBS = (r"(?:sent|resent|opened|cancell?ed|refunded|processed|issued|updated|changed"
                 r"|logged|applied|reset|checked|looked|pulled|arranged|booked|scheduled"
                 r"|submitted|filed|escalated|raised|deleted|closed|removed|unsubscribed"
                 r"|subscribed|added|forwarded|passed|credited|confirmed|verified)")
COMPLETED_ACTION: tuple[re.Pattern[str], ...] = (
    # "I've sent", "I have opened", "we've cancelled"
    re.compile(r"\b(?:I|we)(?:'ve|\s+have)\s+(?:just\s+|already\s+|now\s+)?" + _DONE + r"\b",
               re.IGNORECASE),
    # "I sent", "we just cancelled", "I checked"
    re.compile(r"\b(?:I|we)\s+(?:just\s+|already\s+)?" + _ACTION_VERBS + r"\b", re.IGNORECASE),
    # "has been cancelled", "have now been refunded"
    re.compile(r"\b(?:has|have|had)\s+(?:now\s+|already\s+|just\s+)?been\s+" + _DONE + r"\b",
               re.IGNORECASE),
    # "is on its way", "is now cancelled", "are being processed"
    re.compile(r"\b(?:is|are|'s)\s+(?:now\s+|already\s+)?(?:on\s+(?:its|their)\s+way"
               r"|being\s+\w+ed|cancell?ed|refunded|updated|processed|confirmed|closed|deleted"
               r"|booked|approved|resolved|fixed|sorted|arranged|scheduled)\b", re.IGNORECASE),
    # "I see the card ending in ...", "I can see that": a look-up nobody made
    re.compile(r"\bI\s+(?:can\s+)?see\s+(?:that|your|the)\b", re.IGNORECASE),
)
# A sentence with one of these before the words describes a condition, not a fact ("once it
# has been approved", "if it is cancelled before dispatch, ...").
_CONDITION = re.compile(r"\b(?:once|if|when|after|until|unless|before|whether|as soon as)\b",
                        re.IGNORECASE)


def claimed_action(text: str) -> str | None:
    """The words of `text` that say an action already happened ("I've sent", "has been
    refunded", "is on its way"), or None. Conditions ("once it has been approved") are fine."""
    for pattern in COMPLETED_ACTION:
        for match in pattern.finditer(text):
            sentence = re.split(r"[.;!?]", text[: match.start()])[-1]
            if not _CONDITION.search(sentence):
                return match.group(0)
    return None

Embed = Callable[[list[str]], Any]  # texts -> L2-normalised [N, D] tensor (SentenceEncoder)


@dataclass(frozen=True)
class Template:
    """One reply with `{slot}` placeholders and the slots it cannot do without."""

    text: str
    needs: tuple[str, ...]

    def render(self, values: Mapping[str, str]) -> str:
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], self.text)


@dataclass(frozen=True)
class Article:
    """One knowledge-base entry, as read from `path`."""

    id: str
    intents: tuple[str, ...]
    title: str
    policy: str
    templates: tuple[Template, ...]
    path: Path
    ask: Mapping[str, str] = field(default_factory=dict)
    requires: tuple[str, ...] = ()

    @property
    def search_text(self) -> str:
        """What similarity is measured against: title, policy and replies."""
        return " ".join([self.title, self.policy, *(t.text for t in self.templates)])

    def prompt(self, slot: str) -> str:
        return self.ask.get(slot) or SLOT_PROMPTS[slot]


@dataclass
class Draft:
    """A proposed reply: its text, where it came from and which slots were filled or missing."""

    text: str
    article: Article
    template: Template
    filled: dict[str, Entity]
    missing: list[str]
    score: float


class KnowledgeBase:
    """All articles of one folder, indexed by intent."""

    def __init__(self, articles: list[Article], folder: Path | None = None) -> None:
        if not articles:
            raise InputError(f"The knowledge base {folder} holds no articles (.yaml, .yml, .md).")
        self.articles = articles
        self.folder = folder
        self._by_intent: dict[str, list[Article]] = {}
        for article in articles:
            for intent in article.intents:
                self._by_intent.setdefault(intent, []).append(article)
        self._vectors: Any = None
        self._embed: Embed | None = None
        self._tfidf: Any = None

    @classmethod
    def load(cls, folder: Path | None = None) -> KnowledgeBase:
        """Read and check every article in `folder` (None = the shipped one)."""
        folder = Path(folder) if folder is not None else DEFAULT_FOLDER
        if not folder.is_dir():
            raise InputError(f"No knowledge-base folder at {folder}.")
        articles: list[Article] = []
        seen: dict[str, Path] = {}
        for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES):
            if path.name.startswith(".") or not path.is_file():
                continue
            article = read_article(path)
            if article.id in seen:
                raise InputError(f"{path.name} uses the article id '{article.id}', "
                                 f"which {seen[article.id].name} already has.")
            seen[article.id] = path
            articles.append(article)
            for number, template in enumerate(article.templates, 1):
                claim = claimed_action(template.text)
                if claim:
                    log.warning("%s reply %d says %r: drafts may be pasted unread, so offer or "
                                "ask instead of saying it is done", path.name, number, claim)
        return cls(articles, folder)

    @property
    def intents(self) -> set[str]:
        """Every intent some article answers."""
        return set(self._by_intent)

    def index(self, embed: Embed) -> None:
        """Rank by meaning from now on (engine.nlu.sentence_encoder); articles are embedded on first
        need, so a base with one article per intent never pays for it."""
        self._embed, self._vectors = embed, None

    def candidates(self, intent: str) -> list[Article]:
        """Articles for `intent`; the out-of-scope (handoff) ones when none answers it."""
        return self._by_intent.get(intent) or self._by_intent.get(OUT_OF_SCOPE) or []

    def retrieve(self, intent: str, message: str) -> list[tuple[Article, float]]:
        """Candidate articles for (intent, message), best first, with a similarity score.

        Intent decides first; the message only orders several articles of one intent (by
        embedding cosine once `index` ran, else TF-IDF cosine). A single candidate scores 1.0
        without any encoder call, which keeps a typed turn fast.
        """
        found = self.candidates(intent)
        if len(found) <= 1:
            return [(article, 1.0) for article in found]
        scores = self._similarities(message, found)
        return sorted(zip(found, scores, strict=True), key=lambda pair: -pair[1])

    def draft(
        self, intent: str, message: str, entities: Mapping[str, Entity] | None = None
    ) -> Draft | None:
        """The best reply for `intent` with slots filled from `entities` (type -> latest entity).

        None when no article answers the intent and there is no out-of-scope article either.
        """
        ranked = self.retrieve(intent, message)
        if not ranked:
            return None
        article, score = ranked[0]
        entities = dict(entities or {})
        known = {slot for slot in entities}
        usable = [t for t in article.templates if set(t.needs) <= known]
        if usable:
            template = max(usable, key=lambda t: len(t.needs))  # first of the fullest wins ties
            missing = [slot for slot in article.requires if slot not in known]
            text = template.render({k: e.value for k, e in entities.items()})
        else:
            template = min(article.templates, key=lambda t: len(set(t.needs) - known))
            missing = [slot for slot in template.needs if slot not in known]
            text = ""
        if missing:
            text = f"{text} {ask_for(article, missing)}".strip()
        filled = {slot: entities[slot] for slot in template.needs if slot in entities}
        return Draft(text, article, template, filled, missing, float(score))

    def _similarities(self, message: str, articles: list[Article]) -> list[float]:
        if self._embed is not None:
            if self._vectors is None:
                self._vectors = self._embed([a.search_text for a in self.articles])
            query = self._embed([message])[0]
            rows = [self.articles.index(a) for a in articles]
            return (self._vectors[rows] @ query).tolist()
        from sklearn.feature_extraction.text import TfidfVectorizer

        if self._tfidf is None:
            vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english")
            self._tfidf = (vectorizer, vectorizer.fit_transform(
                [a.search_text for a in self.articles]))
        vectorizer, matrix = self._tfidf
        query = vectorizer.transform([message])
        rows = [self.articles.index(a) for a in articles]
        return (matrix[rows] @ query.T).toarray().ravel().tolist()


def ask_for(article: Article, slots: list[str]) -> str:
    """One polite question asking for every missing slot."""
    wanted = [article.prompt(slot) for slot in slots]
    listed = wanted[0] if len(wanted) == 1 else ", ".join(wanted[:-1]) + " and " + wanted[-1]
    return f"Could you please share {listed} so I can take care of this?"


def read_article(path: Path) -> Article:
    """Parse and check one article file; every refusal is one sentence naming the file."""
    try:
        raw_text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"Knowledge-base file {path.name} is not UTF-8 text.") from err
    body = ""
    if path.suffix.lower() == ".md":
        match = re.match(r"^---\s*\n(.*?)\n---\s*(?:\n|$)(.*)$", raw_text, re.DOTALL)
        if not match:
            raise InputError(f"Knowledge-base file {path.name} has no YAML front matter "
                             "between --- lines.")
        raw_text, body = match.group(1), match.group(2).strip()
    try:
        raw = yaml.safe_load(raw_text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"Knowledge-base file {path.name} is not valid YAML{where}.") from err
    if not isinstance(raw, dict):
        raise InputError(f"Knowledge-base file {path.name} must be a mapping of fields "
                         "(id, intents, title, policy, templates).")
    return _article(raw, body, path)


def _article(raw: dict[str, Any], body: str, path: Path) -> Article:
    name = path.name
    known = {"id", "intents", "intent", "title", "policy", "templates", "ask", "requires"}
    unknown = sorted(str(key) for key in raw if key not in known)
    if unknown:
        raise InputError(f"Knowledge-base file {name} has unknown fields ({', '.join(unknown)}).")
    article_id = str(raw.get("id") or path.stem)
    if not _NAME.match(article_id):
        raise InputError(f"Knowledge-base file {name} has an id with spaces or odd characters.")
    intents = raw.get("intents", raw.get("intent"))
    intents = [intents] if isinstance(intents, str) else intents
    if not intents or not all(isinstance(i, str) and _NAME.match(i) for i in intents):
        raise InputError(f"Knowledge-base file {name} needs `intents`: a list of intent names.")
    title, policy = raw.get("title"), raw.get("policy") or body
    if not isinstance(title, str) or not title.strip():
        raise InputError(f"Knowledge-base file {name} needs a `title`.")
    if not isinstance(policy, str) or not policy.strip():
        raise InputError(f"Knowledge-base file {name} needs `policy` text (or a Markdown body).")
    ask = raw.get("ask") or {}
    if not isinstance(ask, dict) or not all(isinstance(v, str) for v in ask.values()):
        raise InputError(f"Knowledge-base file {name} has an `ask` that is not slot: question.")
    entries = raw.get("templates")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"Knowledge-base file {name} needs at least one reply in `templates`.")
    templates = tuple(_template(entry, n, name, ask) for n, entry in enumerate(entries, 1))
    requires = raw.get("requires") or []
    if not isinstance(requires, list) or not all(s in SLOT_PROMPTS or s in ask for s in requires):
        raise InputError(f"Knowledge-base file {name} has `requires` slots that no entity fills "
                         "and no `ask` line explains.")
    return Article(article_id, tuple(intents), title.strip(), policy.strip(), templates, path,
                   dict(ask), tuple(requires))


def _template(entry: Any, number: int, name: str, ask: Mapping[str, str]) -> Template:
    if isinstance(entry, str):
        entry = {"text": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
        raise InputError(f"Knowledge-base file {name}: reply {number} needs a `text`.")
    text = entry["text"].strip()
    used = PLACEHOLDER.findall(text)
    leftover = PLACEHOLDER.sub("", text)
    if "{" in leftover or "}" in leftover:
        raise InputError(f"Knowledge-base file {name}: reply {number} has a brace that is not "
                         "a {slot} placeholder.")
    needs = entry.get("needs", list(dict.fromkeys(used)))
    if not isinstance(needs, list) or not all(isinstance(s, str) for s in needs):
        raise InputError(f"Knowledge-base file {name}: reply {number} has `needs` that is not "
                         "a list of slot names.")
    for slot in used:
        if slot not in needs:
            raise InputError(f"Knowledge-base file {name}: reply {number} uses {{{slot}}} but "
                             "does not list it in `needs`.")
    for slot in needs:
        if slot not in SLOT_PROMPTS and slot not in ask:
            raise InputError(f"Knowledge-base file {name}: reply {number} needs '{slot}', which "
                             "no entity fills; add an `ask` line saying how to ask for it.")
    return Template(text, tuple(needs))
