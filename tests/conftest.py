"""Fixtures shared by several test packages; a package's own fixtures live in its conftest.py.

Loaded models are cached per test session (session-scoped fixtures) so the suite fits CI's time.
"""
# ruff: noqa: E402 (the environment is set before any engine module loads)

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Set before any engine module loads transformers or Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from engine.assistant import Assistant
from engine.cases.datasets import Case, read_cases
from engine.nlu.intent import IntentModel
from engine.nlu.knowledge import KnowledgeBase
from engine.store.database import Store
from engine.types import Turn
from tests.model_versions import BASE_INTENTS, NEW_INTENT, install_version, warranty_messages
from tests.screens import render_dialog

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("FRONTDESK_SHARED_DATA", ROOT.parent / "shared" / "data"))



@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty data folder, also set as $FRONTDESK_HOME."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("FRONTDESK_HOME", str(folder))
    return folder


@pytest.fixture
def frozen_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This interpreter made to look like PyInstaller's bundle (sys.frozen, sys.executable the
    app): the app is packaging/frontdesk_entry.py behind a one-line launcher, so a child
    process (engine.child) is started through the app's own entry point, as in the bundle."""
    entry = Path(__file__).resolve().parents[1] / "packaging" / "frontdesk_entry.py"
    app = tmp_path / "frontdesk"
    app.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{entry}" "$@"\n')
    app.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app))
    return app


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public datasets beside the checkout (../shared/data); skip where a clone lacks them."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"public data folder not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def speech_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder shared by the session's speech tests (converted models are cached there)."""
    return tmp_path_factory.mktemp("speech-home")


@pytest.fixture(scope="session")
def speech_dir(shared_data: Path) -> Path:
    return shared_data / "speech"


@pytest.fixture(scope="session")
def jfk(speech_dir: Path) -> Path:
    return speech_dir / "audio" / "whisper_jfk.flac"


@pytest.fixture(scope="session")
def faster_transcriber(speech_home: Path) -> Any:
    from engine.speech.transcribe import load_transcriber

    return load_transcriber("faster-whisper", home=speech_home, device="cpu")


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    """A fresh store in the test's data folder."""
    opened = Store.open(home)
    yield opened
    opened.close()


@pytest.fixture
def store_screenshot(shared_data: Path) -> Path:
    """A real PNG whose text is known (the pytesseract test image)."""
    return shared_data / "screenshots" / "pytesseract" / "test.png"


@pytest.fixture(scope="session")
def desktop_intent_model(request: pytest.FixtureRequest) -> Any:
    """The shipped intent model, or the folder named by $FRONTDESK_TEST_MODEL."""
    override = os.environ.get("FRONTDESK_TEST_MODEL")
    if override:
        from engine.nlu.intent import IntentModel

        return IntentModel.load(Path(override))
    return request.getfixturevalue("default_intent_model")


@pytest.fixture(scope="session")
def desktop_transcriber(request: pytest.FixtureRequest) -> Any:
    """Whisper tiny.en on faster-whisper (the speech tests' session instance)."""
    return request.getfixturevalue("faster_transcriber")


@pytest.fixture(scope="session")
def declined_screenshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PNG of a payment-declined dialog (its wording is ours, not the training template's)."""
    path = tmp_path_factory.mktemp("screens") / "declined.png"
    render_dialog("Payment failed", [
        "Your card ending 1881 was declined by your bank.",
        "Error code PAY-4031",
        "Total to pay: $64.20",
        "Please try again or use another card.",
    ]).save(path)
    return path


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


@pytest.fixture(scope="session")
def default_intent_model() -> IntentModel:
    """assets/models/default, as the app loads it (about a second on CPU)."""
    return IntentModel.load()


@pytest.fixture(scope="session")
def frozen_minilm() -> Any:
    """The frozen MiniLM the conversation reader embeds turns with (FrozenText), loaded once."""
    from engine.fusion.frozen_text import FrozenText

    return FrozenText()


@pytest.fixture(scope="session")
def shipped_acts() -> Any:
    """assets/models/acts: the dialogue-act head (engine.nlu.acts)."""
    from engine.nlu.acts import DialogueActs

    return DialogueActs.load()


@pytest.fixture(scope="session")
def shipped_knowledge() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture
def assistant(
    home: Path, default_intent_model: IntentModel, shipped_knowledge: KnowledgeBase
) -> Iterator[Assistant]:
    """An Assistant over a fresh SQLite file in a temporary data folder."""
    with Assistant(home, model=default_intent_model, knowledge=shipped_knowledge) as engine:
        yield engine


@pytest.fixture(scope="session")
def screen_reader():
    """One RapidOCR-backed reader (its first call loads the ONNX models, ~1 s)."""
    from engine.vision.ocr import ScreenReader

    return ScreenReader()


@pytest.fixture(scope="session")
def image_encoder():
    """EfficientNet-Lite0 with the shipped ImageNet weights, on CPU."""
    from engine.vision.features import ImageEncoder

    return ImageEncoder.load(device="cpu")
