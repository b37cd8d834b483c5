"""Fixtures for retraining and model versions: real model folders, a real team's logs.

The "team" is simulated but nothing in it is faked: a small base model is really trained
(4 Bitext intents), a real Assistant answers each customer turn in a real SQLite store, and an
agent gives feedback the way people do: accepts right intents (sometimes editing the answer),
corrects wrong ones, rejects a few, ignores some. A quarter of the customers ask about warranty
claims, an intent the base model never saw (our own messages, tests/data/warranty_claim.txt).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from engine.cases.datasets import Case, read_cases
from engine.nlu.intent import IntentConfig, IntentModel
from engine.types import Turn

DATA = Path(__file__).resolve().parent / "data"
BASE_INTENTS = ("track_order", "cancel_order", "get_refund", "change_shipping_address")
NEW_INTENT = "warranty_claim"


def warranty_messages() -> list[str]:
    lines = (DATA / "warranty_claim.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def install_version(home: Path, source: Path, name: str) -> Path:
    """Copy a model folder into the data folder as version `name`, as retraining leaves it."""
    target = home / "models" / name
    shutil.copytree(source, target)
    return target


@pytest.fixture(scope="session")
def tiny_model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real model folder (MiniLM + an untrained 2-intent head), saved as training saves it."""
    folder = tmp_path_factory.mktemp("tiny") / "model"
    model = IntentModel(IntentConfig(labels=["cancel_order", "track_order"], trainable_layers=1))
    model.save(folder)
    return folder


@pytest.fixture(scope="session")
def bitext_pools(shared_data: Path) -> tuple[list[Case], list[Case]]:
    """(base training rows, team rows) of the 4 base intents: disjoint rows of the 8k file."""
    rows = [c for c in read_cases(shared_data / "bitext" / "bitext_8k_customer_service_sample.csv")
            if c.intent in BASE_INTENTS]
    random.Random(7).shuffle(rows)
    base = [c for i in BASE_INTENTS for c in [r for r in rows if r.intent == i][:20]]
    used = {c.id for c in base}
    return base, [r for r in rows if r.id not in used]


@pytest.fixture(scope="session")
def team_base_model(tmp_path_factory: pytest.TempPathFactory, bitext_pools) -> Path:
    """A base model trained on 80 Bitext rows of 4 intents, with its replay sample beside it
    (what a retrained version keeps)."""
    from engine.learning.train import TrainOptions, fine_tune

    base, _ = bitext_pools
    folder = tmp_path_factory.mktemp("base") / "model"
    options = TrainOptions(epochs=3, trainable_layers=1, heads_only=True, head_lr=5e-3, seed=3)
    fine_tune(base, folder, options, notes={"data": "4 Bitext intents (test fixture)"})
    with open(folder / "replay.jsonl", "w", encoding="utf-8") as handle:
        for case in base:
            handle.write(json.dumps({"id": case.id, "text": case.text,
                                     "intent": case.intent}) + "\n")
    return folder


@pytest.fixture(scope="session")
def team_logs(tmp_path_factory: pytest.TempPathFactory, team_base_model: Path,
              bitext_pools) -> Path:
    """A data folder whose store holds 32 sessions of a team using the base model (v001)."""
    from engine.assistant import Assistant
    from engine.learning import versions
    from engine.nlu.knowledge import KnowledgeBase

    _, team_rows = bitext_pools
    home = tmp_path_factory.mktemp("team") / "home"
    install_version(home, team_base_model, "v001")
    versions.use(home, "v001")
    rng = random.Random(11)
    warranty = warranty_messages()
    rng.shuffle(warranty)
    pool = [(c.text, c.intent) for c in team_rows[:70]] + [(t, NEW_INTENT) for t in warranty[:30]]
    rng.shuffle(pool)
    with Assistant(home, knowledge=KnowledgeBase.load()) as assistant:
        while pool:
            session = assistant.new_session(agent=rng.choice(["ana", "ben"]))
            for _ in range(rng.randint(1, 4)):
                if not pool:
                    break
                text, gold = pool.pop()
                reply = assistant.respond(session, Turn(text=text))
                assistant.add_turn(session, Turn(text="Thanks, one moment.", role="agent"))
                roll = rng.random()
                if roll < 0.08:
                    continue  # the agent ignored the suggestion: no feedback
                if roll < 0.14:
                    assistant.feedback(reply.id, "rejected")
                elif reply.intent != gold:
                    assistant.feedback(reply.id, "corrected", corrected_intent=gold,
                                       final_answer=f"Sorry about that, let me help with {gold}.")
                elif roll < 0.4:
                    assistant.feedback(reply.id, "edited", final_answer=reply.draft + " Thanks!")
                else:
                    assistant.feedback(reply.id, "accepted")
    return home


@pytest.fixture
def team_home(home: Path, team_logs: Path) -> Path:
    """A fresh copy of the team's data folder (store + versions) for one test to change."""
    shutil.rmtree(home)
    shutil.copytree(team_logs, home)
    return home
