"""The human training mix (engine.cases.mix), its augmentation (engine.cases.augment), and the
shipped model on plainly worded requests we wrote ourselves."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

from engine.cases.augment import KINDS, Augmenter, augment_cases
from engine.cases.datasets import Case
from engine.cases.mix import (
    MAPPINGS,
    SOURCES,
    ShopWords,
    capped,
    human_cases,
    nlupp_rule,
    read_mapping,
    split_by_source_label,
)
from engine.errors import InputError
from engine.types import OUT_OF_SCOPE
from tests.cases.scored import near, scored_messages, words

INTENTS = {"payment_issue", "get_refund", "track_refund", "delete_account", "edit_account",
           "recover_password", "check_payment_methods", "track_order", "delivery_period",
           "change_shipping_address", "place_order", "change_order", "cancel_order",
           "get_invoice", "check_invoice", "contact_human_agent"}


def _banking77_copy(tmp_path: Path, shared_data: Path, license_file: bool = True) -> Path:
    """A shared-data folder holding only a small Banking77 (first 400 rows)."""
    folder = tmp_path / "shared" / "banking77"
    folder.mkdir(parents=True)
    lines = (shared_data / "banking77" / "train.csv").read_text(encoding="utf-8").splitlines()
    (folder / "train.csv").write_text("\n".join(lines[:400]) + "\n", encoding="utf-8")
    if license_file:
        shutil.copy(shared_data / "banking77" / "LICENSE", folder / "LICENSE")
    return folder.parent


def test_every_shipped_mapping_names_a_known_intent_with_a_reason(shared_data: Path) -> None:
    from engine.cases.default_mix import taxonomy

    intents = taxonomy(shared_data)
    assert len(intents) == 27
    for source in SOURCES:
        rows = read_mapping(MAPPINGS / f"{source}.tsv", intents)
        assert rows and all(row.reason for row in rows)
    notes = (MAPPINGS / "intent_notes.tsv").read_text(encoding="utf-8")
    assert all(f"\n{intent}\t" in notes for intent in intents)  # a note for every intent


def test_mapped_human_text_reaches_the_intents_the_mapping_names(shared_data: Path) -> None:
    cases = human_cases(shared_data, INTENTS, ("banking77",))
    by_label = {}
    for case in cases:
        by_label.setdefault(case.id.split(":")[1], set()).add(case.intent)
    assert by_label["transaction_charged_twice"] == {"payment_issue"}
    assert by_label["Refund_not_showing_up"] == {"track_refund"}
    assert "card_not_working" not in by_label  # ambiguous for a shop: left out on both sides
    negatives = [c for c in cases if c.intent == OUT_OF_SCOPE]
    assert negatives and not any("refund" in c.text.lower() for c in negatives)


def test_a_mapping_to_an_unknown_intent_is_one_sentence_and_nothing_is_read(
        tmp_path: Path, shared_data: Path) -> None:
    shared = _banking77_copy(tmp_path, shared_data)
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "banking77.tsv").write_text(
        "label\tintent\treason\nrequest_refund\tgive_money_back\tmoney back\n", encoding="utf-8")
    with pytest.raises(InputError, match="give_money_back.*not one of the intents"):
        human_cases(shared, INTENTS, ("banking77",), mappings)


def test_a_source_without_a_license_is_refused(tmp_path: Path, shared_data: Path) -> None:
    shared = _banking77_copy(tmp_path, shared_data, license_file=False)
    with pytest.raises(InputError, match="no license file"):
        human_cases(shared, INTENTS, ("banking77",))


def test_an_empty_source_is_one_sentence(tmp_path: Path, shared_data: Path) -> None:
    shared = _banking77_copy(tmp_path, shared_data)
    (shared / "banking77" / "train.csv").write_text("text,category\n", encoding="utf-8")
    with pytest.raises(InputError, match="banking77 gave no training rows"):
        human_cases(shared, INTENTS, ("banking77",))


def test_nlupp_rules_need_every_intent_and_none_of_the_banned() -> None:
    rule = nlupp_rule("banking:card+wrong_notworking_notshowing!withdrawal")
    assert rule("banking", {"card", "wrong_notworking_notshowing", "debit"})
    assert not rule("banking", {"card", "wrong_notworking_notshowing", "withdrawal"})
    assert not rule("hotels", {"card", "wrong_notworking_notshowing"})
    assert nlupp_rule("hotels:*")("hotels", {"booking"})


def test_split_and_cap_keep_every_source_label_and_are_seeded() -> None:
    cases = [Case(text=f"t{i}", intent="a", id=f"src:big:{i}") for i in range(100)]
    cases += [Case(text=f"s{i}", intent="b", id=f"src:small:{i}") for i in range(3)]
    train, val = split_by_source_label(cases, 0.2, 13)
    assert len(val) == 20 and all(c.id.startswith("src:big") for c in val)  # 3 rows: all train
    assert len(capped(train, 10, 13)) == 13
    assert capped(train, 10, 13) == capped(train, 10, 13)


def test_augmentation_keeps_the_label_and_changes_the_text() -> None:
    cases = [Case(text="I would like to get a refund for the jacket I bought.", intent="get_refund",
                  id=f"x:{i}") for i in range(20)]
    augmenter = Augmenter(13, pads=["my name is sam", "order 4471"])
    out = augment_cases(cases, augmenter, KINDS, 0.5)
    assert len(out) == 10 * len(KINDS) and {c.intent for c in out} == {"get_refund"}
    assert sum(c.text != cases[0].text for c in out) >= 0.8 * len(out)
    again = augment_cases(cases, Augmenter(13, pads=["my name is sam", "order 4471"]), KINDS, 0.5)
    assert [c.text for c in out] == [c.text for c in again]  # seeded: the recipe reruns


@pytest.mark.parametrize(("text", "intent"), [
    ("i got charged two times for one purchase", "payment_issue"),
    ("how do i change my password, i forgot it", "recover_password"),
    ("please close my account for good", "delete_account"),
    ("I asked for my money back 2 weeks ago and still nothing", "track_refund"),
    ("let me speak to a real person please", "contact_human_agent"),
    ("what's the weather like in Lisbon tomorrow", OUT_OF_SCOPE),
])
def test_shipped_model_reads_plain_requests(default_intent_model, text: str, intent: str) -> None:
    assert default_intent_model.predict([text])[0].intent == intent


def test_balanced_weights_give_every_class_the_same_total_and_split_two_voices() -> None:
    """An intent with only Bitext rows weighs as much in the loss as a sibling with many human
    rows, and within a sibling with both, human and Bitext rows share its weight."""
    from engine.cases.default_mix import balanced_weights

    cases = ([Case(f"policy {i}", "check_refund_policy", f"bitext_8k:x{i}") for i in range(10)]
             + [Case(f"refund {i}", "get_refund", f"bitext_8k:y{i}") for i in range(10)]
             + [Case(f"money back {i}", "get_refund", f"banking77:request_refund:{i}")
                for i in range(30)]
             + [Case(f"weather {i}", OUT_OF_SCOPE, f"multidogo:x:{i}") for i in range(5)])
    weights = balanced_weights(cases, human_share=0.25)
    assert sum(weights) / len(weights) == pytest.approx(1.0)
    total: dict[str, float] = {}
    for case, weight in zip(cases, weights, strict=True):
        key = case.intent + ("/human" if case.id.startswith("banking77") else "")
        total[key] = total.get(key, 0.0) + weight
    policy = total["check_refund_policy"]
    assert total[OUT_OF_SCOPE] == pytest.approx(policy)
    assert total["get_refund"] + total["get_refund/human"] == pytest.approx(policy)
    assert total["get_refund/human"] == pytest.approx(policy / 4)


def test_every_intent_has_our_own_written_lines_and_none_is_labelled_twice(
        shared_data: Path) -> None:
    """Every intent (eleven have no public human text) gets the team's lines, out_of_scope too;
    a line under two intents would teach the model both, and a written negative naming a shop
    topic would teach it that a real request is out of scope."""
    from engine.cases.default_mix import taxonomy
    from engine.cases.mix import written_cases

    cases = written_cases(taxonomy(shared_data))
    by_intent: dict[str, list[str]] = {}
    for case in cases:
        by_intent.setdefault(case.intent, []).append(case.text.lower())
    assert set(by_intent) == taxonomy(shared_data) | {OUT_OF_SCOPE}
    assert min(len(lines) for lines in by_intent.values()) >= 40
    owners: dict[str, set[str]] = {}
    for intent, lines in by_intent.items():
        for line in lines:
            owners.setdefault(line, set()).add(intent)
    assert not {line: o for line, o in owners.items() if len(o) > 1}
    shop_request = re.compile(r"\b(refund|invoice|order|deliver|newsletter|subscri|cancel|"
                              r"shipping|payment|my account)", re.IGNORECASE)
    assert not [line for line in by_intent[OUT_OF_SCOPE] if shop_request.search(line)]
    # Nothing we score on is trained on, not even reworded a little (tests/cases/scored.py).
    scored = scored_messages(shared_data)
    trained = {words(line) for line in owners}
    assert not [" ".join(sorted(w)) for w in trained if w in scored]  # the same words
    long = [s for s in scored if len(s) >= 4]
    assert not [" ".join(sorted(w)) for w in trained if len(w) >= 4
                and any(near(w, s) for s in long)]


def test_written_lines_reach_training_and_validation_of_their_intent(shared_data: Path) -> None:
    from engine.cases.default_mix import Mix, training_cases

    train, val = training_cases(shared_data, Mix(augment=()))
    written_train = [c for c in train if c.id.startswith("written:check_refund_policy:")]
    written_val = [c for c in val if c.id.startswith("written:check_refund_policy:")]
    assert written_train and written_val
    assert not {c.id for c in written_train} & {c.id.removesuffix(":rough") for c in written_val}
    without, _ = training_cases(shared_data, Mix(augment=(), written=False))
    assert not [c for c in without if c.id.startswith("written:")]


@pytest.mark.parametrize(("name", "body", "message"), [
    ("give_money_back.txt", "money back pls\n", "give_money_back.*not one of the intents"),
    ("get_refund.txt", "# only a comment\n\n", "holds no messages"),
])
def test_a_bad_written_file_is_one_sentence(tmp_path: Path, name: str, body: str,
                                            message: str) -> None:
    from engine.cases.mix import written_cases

    (tmp_path / name).write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        written_cases(INTENTS, tmp_path)


def test_food_cap_keeps_at_most_that_many_fast_food_orders_per_label(shared_data: Path) -> None:
    """`Mix.food_cap` thins MultiDoGO's fast-food orders (most of place_order's human text)
    and nothing else."""
    from collections import Counter

    from engine.cases.default_mix import Mix, training_cases
    from engine.cases.mix import source_label

    def food(cases: list[Case]) -> Counter[str]:
        return Counter(source_label(c) for c in cases if c.id.startswith("multidogo:fastfood/"))

    full, _ = training_cases(shared_data, Mix(augment=()))
    thin, _ = training_cases(shared_data, Mix(augment=(), food_cap=10))
    assert max(food(full).values()) > 10 and set(food(thin).values()) <= set(range(1, 11))
    rest = lambda cases: [c.id for c in cases if not c.id.startswith("multidogo:fastfood/")]  # noqa: E731
    assert rest(full) == rest(thin)


def test_fast_food_orders_name_shop_products_not_the_menu(shared_data: Path) -> None:
    """MultiDoGO's menu orders keep the customer's ordering words, but each food or drink its
    slot labels mark becomes a product and each ingredient an attribute, the same every time."""
    words = ShopWords.read()
    order = words.as_shop_order("i want one bacon burger with onion and 2 cokes",
                                "O O O food_item food_item O ingredient O quantity drink_item")
    kept = order.split()
    assert kept[:3] == ["i", "want", "one"] and "with" in kept and "2" in kept
    assert not {"bacon", "burger", "onion", "cokes"} & set(kept)
    assert order == words.as_shop_order("i want one bacon burger with onion and 2 cokes",
                                        "O O O food_item food_item O ingredient O quantity "
                                        "drink_item")
    assert words.as_shop_order("a pizza please", "O food_item") == "a pizza please"  # misaligned
    orders = [c.text.lower() for c in human_cases(shared_data, INTENTS, ("multidogo",))
              if c.id.startswith("multidogo:fastfood/order")]
    menu = re.compile(r"\b(pizza|burger|salad|coke|fries|pepperoni|cheese)\b")
    assert len(orders) > 1000 and sum(bool(menu.search(t)) for t in orders) < 0.1 * len(orders)


def test_bare_replies_train_no_request(shared_data: Path, default_intent_model) -> None:
    """MultiDoGO labels some "yes" / "ok" / "hi" turns with their dialogue's task: texts it
    labels more often as a reply act alone are left out of training, so a bare reply alone is
    no request the model is sure of (it was place_order at level High)."""
    from engine.cases.mix import bare_replies, plain_reply

    turns = []
    for path in sorted((shared_data / "multidogo").glob("*/train.tsv")):
        with open(path, encoding="utf-8") as handle:
            turns += [(row["utterance"], row["intent"])
                      for row in csv.DictReader(handle, delimiter="\t")]
    bare = bare_replies(turns)
    assert {"yes", "ok", "hi", "no", "yes please"} <= bare
    assert not {"i want to order a pizza", "close my account", "change my address"} & bare
    mapped = human_cases(shared_data, INTENTS, ("multidogo",))
    assert len(mapped) > 3000 and not [c.text for c in mapped if plain_reply(c.text) in bare]
    for reply in ("yes", "yes please", "ok", "hi"):
        answer = default_intent_model.predict([reply])[0]
        assert answer.intent == OUT_OF_SCOPE or answer.level != "High", (reply, answer)
