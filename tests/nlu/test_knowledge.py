"""The knowledge base: the shipped articles, a team's own folder, validation and drafting."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import pytest

from engine.errors import InputError
from engine.nlu.entities import ENTITY_TYPES, extract, extract_conversation, latest_values
from engine.nlu.knowledge import PLACEHOLDER, SLOT_PROMPTS, KnowledgeBase
from engine.nlu.sentence_encoder import SentenceEncoder
from engine.types import OUT_OF_SCOPE, Entity


@pytest.fixture(scope="module")
def shipped() -> KnowledgeBase:
    return KnowledgeBase.load()


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def slots_for(text: str) -> dict[str, Entity]:
    return latest_values(extract(text))


def test_shipped_kb_answers_every_bitext_intent_and_out_of_scope(
    shipped: KnowledgeBase, shared_data: Path
) -> None:
    with open(shared_data / "bitext" / "bitext_8k_customer_service_sample.csv",
              encoding="utf-8-sig") as handle:
        bitext_intents = {row["intent"] for row in csv.DictReader(handle)}
    assert len(bitext_intents) == 27
    assert shipped.intents == bitext_intents | {OUT_OF_SCOPE}
    assert len(shipped.articles) == 28  # one article per intent


def test_every_entity_type_can_fill_a_slot_and_be_asked_for() -> None:
    assert set(SLOT_PROMPTS) == set(ENTITY_TYPES)


def test_invoice_number_fills_the_invoice_reply(shipped: KnowledgeBase) -> None:
    message = "there's a charge I don't get on my bill #00108"
    draft = shipped.draft("check_invoice", message, slots_for(message))
    assert draft.text.startswith("Let's go through invoice 00108 together.")


def test_every_shipped_template_renders_without_placeholders(shipped: KnowledgeBase) -> None:
    sample = {slot: f"<{slot}>" for slot in SLOT_PROMPTS}
    for article in shipped.articles:
        assert len(article.policy) > 120, article.id  # real policy text, not a stub
        for template in article.templates:
            rendered = template.render(sample)
            assert not PLACEHOLDER.search(rendered), (article.id, rendered)
            assert set(PLACEHOLDER.findall(template.text)) <= set(template.needs)


def test_slots_filled_from_entities(shipped: KnowledgeBase) -> None:
    message = "please refund the $20 you charged twice on order #55512"
    draft = shipped.draft("get_refund", message, slots_for(message))
    assert draft.article.id == "get_refund"
    assert "20.00 USD" in draft.text and "55512" in draft.text
    assert draft.missing == []
    assert set(draft.filled) == {"amount", "order_number"}
    assert "{" not in draft.text


def test_missing_required_slot_is_asked_for_politely(shipped: KnowledgeBase) -> None:
    draft = shipped.draft("cancel_order", "I want to cancel my order", {})
    assert draft.missing == ["order_number"]
    assert "{order_number}" not in draft.text
    assert "Could you please share your order number" in draft.text


def test_slots_come_from_anywhere_in_the_conversation_latest_wins(
    shipped: KnowledgeBase,
) -> None:
    history = [
        (1, "hi, my order #11111 has not arrived"),
        (2, "oh wait, wrong one: it's order number 22222"),
        (3, "can you just cancel it"),
    ]
    entities = latest_values(extract_conversation(history))
    draft = shipped.draft("cancel_order", history[-1][1], entities)
    assert "22222" in draft.text and "11111" not in draft.text
    assert draft.filled["order_number"].turn_id == 2


def test_unknown_intent_falls_back_to_the_handoff_article(shipped: KnowledgeBase) -> None:
    draft = shipped.draft("book_flight", "I need a flight to Rome", {})
    assert draft.article.id == OUT_OF_SCOPE
    assert draft.text


def test_markdown_and_yaml_articles_load_together(tmp_path: Path) -> None:
    write(tmp_path, "warranty.md", """
        ---
        id: warranty
        intents: [warranty_claim]
        title: Warranty claims
        ask:
          serial: the serial number printed under the device
        requires: [serial]
        templates:
          - text: Your claim for serial {serial} is open.
          - Warranty lasts two years from delivery.
        ---
        Devices are covered for two years from delivery; the serial number identifies the unit.
        """)
    write(tmp_path, "hours.yaml", """
        id: hours
        intents: [opening_hours]
        title: Opening hours
        policy: The shop is open 9 to 5 on weekdays and closed on public holidays.
        templates:
          - text: We're open 9 to 5 on weekdays.
        """)
    kb = KnowledgeBase.load(tmp_path)
    assert kb.intents == {"warranty_claim", "opening_hours"}
    draft = kb.draft("warranty_claim", "my kettle broke", {})
    assert draft.article.policy.startswith("Devices are covered")
    assert draft.text == ("Warranty lasts two years from delivery. Could you please share the "
                          "serial number printed under the device so I can take care of this?")
    # No out-of-scope article in this base: an unknown intent gets no draft at all.
    assert kb.draft("something_else", "hello", {}) is None


def test_no_usable_template_asks_for_what_the_closest_one_needs(tmp_path: Path) -> None:
    write(tmp_path, "refund.yaml", """
        id: refund
        intents: [get_refund]
        title: Refunds
        policy: Refunds go back to the card used, within five business days of approval.
        templates:
          - text: I can ask for a refund of {amount} on order {order_number}.
          - text: I can ask for a refund on order {order_number}.
        """)
    kb = KnowledgeBase.load(tmp_path)
    draft = kb.draft("get_refund", "refund please", {})
    assert draft.missing == ["order_number"]
    assert draft.text == "Could you please share your order number so I can take care of this?"
    message = "refund order #90909"
    assert kb.draft("get_refund", message, slots_for(message)).text == (
        "I can ask for a refund on order 90909.")


def test_message_chooses_between_articles_of_one_intent(tmp_path: Path) -> None:
    write(tmp_path, "card.yaml", """
        id: card_declined
        intents: [payment_issue]
        title: Card declined at checkout
        policy: A declined card is usually refused by the bank, billing address or card limit.
        templates: [Please check the billing address with your bank.]
        """)
    write(tmp_path, "paypal.yaml", """
        id: paypal_failed
        intents: [payment_issue]
        title: PayPal payment failed
        policy: PayPal payments fail when the PayPal wallet has no funding source confirmed.
        templates: [Please confirm a funding source in your PayPal wallet.]
        """)
    kb = KnowledgeBase.load(tmp_path)
    assert kb.draft("payment_issue", "my paypal payment keeps failing", {}).article.id == (
        "paypal_failed")
    ranked = kb.retrieve("payment_issue", "the bank declined my card")
    assert ranked[0][0].id == "card_declined" and ranked[0][1] > ranked[1][1]


BAD_FILES = [
    ("broken.yaml", "id: x\ntitle: [unclosed\n", "broken.yaml is not valid YAML (line"),
    ("list.yaml", "- just\n- a list\n", "list.yaml must be a mapping"),
    ("notitle.yaml", "id: a\nintents: [a]\npolicy: p\ntemplates: [hi]\n", "needs a `title`"),
    ("nointent.yaml", "title: t\npolicy: p\ntemplates: [hi]\n", "needs `intents`"),
    ("noreply.yaml", "intents: [a]\ntitle: t\npolicy: p\n", "at least one reply"),
    ("slot.yaml", "intents: [a]\ntitle: t\npolicy: p\ntemplates: ['Hi {colour}']\n",
     "needs 'colour', which no entity fills"),
    ("brace.yaml", "intents: [a]\ntitle: t\npolicy: p\ntemplates: ['Hi {order number}']\n",
     "has a brace that is not"),
    ("needs.yaml",
     "intents: [a]\ntitle: t\npolicy: p\ntemplates: [{text: 'Hi {email}', needs: []}]\n",
     "does not list it in `needs`"),
    ("extra.yaml", "intents: [a]\ntitle: t\npolicy: p\ntemplates: [hi]\ncolour: red\n",
     "unknown fields (colour)"),
    ("nofront.md", "# Just markdown\n\nNo front matter here.\n", "has no YAML front matter"),
]


@pytest.mark.parametrize(("name", "text", "expected"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_article_is_one_sentence_naming_the_file(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        KnowledgeBase.load(tmp_path)
    message = str(caught.value)
    assert expected in message and name in message
    assert "\n" not in message and message.endswith(".")


def test_non_utf8_duplicate_ids_and_empty_folders_are_refused(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes("title: caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="latin1.yaml is not UTF-8"):
        KnowledgeBase.load(tmp_path)
    (tmp_path / "latin1.yaml").unlink()
    article = "id: same\nintents: [a]\ntitle: t\npolicy: p\ntemplates: [hi]\n"
    (tmp_path / "a.yaml").write_text(article, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(article, encoding="utf-8")
    with pytest.raises(InputError, match="b.yaml uses the article id 'same', which a.yaml"):
        KnowledgeBase.load(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no articles"):
        KnowledgeBase.load(empty)
    with pytest.raises(InputError, match="No knowledge-base folder"):
        KnowledgeBase.load(tmp_path / "missing")


@pytest.mark.slow
def test_embeddings_rank_by_meaning_where_words_do_not_overlap(tmp_path: Path) -> None:
    write(tmp_path, "damaged.yaml", """
        id: damaged
        intents: [track_order]
        title: Damaged deliveries
        policy: If the goods arrive broken, crushed or wet, take photos of the box and the item
          and we replace it at no cost.
        templates: [Please send photos of the box and the item.]
        """)
    write(tmp_path, "lost.yaml", """
        id: lost_parcel
        intents: [track_order]
        title: Lost parcels
        policy: When a package never arrives and the carrier shows no scans for five business
          days, we open an investigation and send a replacement.
        templates: [I can open an investigation with the carrier.]
        """)
    kb = KnowledgeBase.load(tmp_path)
    messages = {
        "my stuff showed up smashed to pieces": "damaged",
        "the box came all dented and the vase inside cracked": "damaged",
        "nothing has come yet and it's been two weeks": "lost_parcel",
        "my order still hasnt turned up": "lost_parcel",
    }
    # Word overlap alone cannot tell these apart (no shared content words) ...
    by_words = [kb.retrieve("track_order", m)[0][0].id for m in messages]
    assert by_words != list(messages.values())
    # ... the pretrained encoder's sentence embeddings can.
    kb.index(SentenceEncoder())
    for message, expected in messages.items():
        ranked = kb.retrieve("track_order", message)
        assert ranked[0][0].id == expected, message
        assert ranked[0][1] > ranked[1][1]
