"""The engine's one long-lived object: a store, an intent model and a knowledge base together.

`respond` is the whole path of a typed turn: the turn is written (and committed) before any
inference, so a crash or a model error never loses what the agent entered; then intent,
entities from the whole conversation, a drafted answer; then the reply is written too. The GUI
drives one Assistant from one engine thread; a lock keeps a second caller (a CLI, a test)
from interleaving two turns.

Which model answers (one simple gate, `_needs_fused`): the text intent model answers a typed single
message, exactly as before (so Banking77 accuracy and typed-turn latency cannot move). The fused
model (engine.fusion.reader: screenshot cross-attention + GATv2 over the conversation; shipped as a
pair: assets/models/fused for screenshot turns, assets/models/conversation for the others) answers
when the turn carries a screenshot or has earlier turns - "still nothing?" after "my refund hasn't
arrived", "yes please" after the agent offered an invoice copy. Without a screenshot the answer is
`engine.nlu.joined.conversation_decision`: the text model reads the spoken turns joined (customer
and agent, newest words kept) and the conversation model reads them through its graph; their
product of experts answers, with the text model's out-of-scope rule and levels (a newest message
that only gives a detail is left out of the joined text: engine.nlu.acts). The conversation model
has its own out_of_scope class (trained on conversations that end off topic), and when it is
sure of it that stands. Nothing depends on what the text model said about earlier turns. A
conversation model without an out_of_scope class or with other labels (older versions, one
trained on a team's files) keeps the older gate: its answer stands at FUSED_MIN_CONFIDENCE only
in place of a Low in-scope answer of the text model. On a screenshot turn
the answer is `engine.fusion.screen_reading.read_screen`: the text model reads the message with the
screen's telling lines (real layouts are mostly menus and product names), combined with the fused
model as a product of experts, and the text model's out_of_scope stands unless the fused model is
FUSED_MIN_CONFIDENCE sure; the boxes shown are those lines. A fused model with other labels, or a
screen with nothing to read, keeps the fused answer at FUSED_MIN_CONFIDENCE.

A turn reads its session's newest WINDOW_TURNS turns (the graph its newest 12): its cost does
not grow with the session.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from engine import paths
from engine.cases.datasets import Case
from engine.errors import InputError
from engine.learning import versions
from engine.nlu.encoder import BASE_NAME
from engine.nlu.entities import extract, latest_values
from engine.nlu.intent import MAX_TEXT_CHARS as MAX_TEXT_CHARS  # the CLI's and tests' limit
from engine.nlu.intent import IntentModel, IntentPrediction, checked_text
from engine.nlu.joined import conversation_decision
from engine.nlu.knowledge import KnowledgeBase
from engine.nlu.sentence_encoder import SentenceEncoder
from engine.store.database import Store
from engine.types import (
    OUT_OF_SCOPE,
    SPEAKERS,
    Entity,
    Evidence,
    FusedAnswer,
    Message,
    Reply,
    Turn,
)

if TYPE_CHECKING:
    from engine.fusion.model import FusedModel
    from engine.fusion.reader import FusedPrediction, MultimodalReader
    from engine.speech.transcribe import Transcriber
    from engine.vision.ocr import ScreenReader, Screenshot

log = logging.getLogger(__name__)

ENTITY_CACHE_SIZE = 10_000  # turns whose entities are remembered between replies
FUSED_MIN_CONFIDENCE = 0.4  # below this the fused model defers to the text model's decision
# (chosen on frontdesk-eval dev conversations: 0.5 -> 25/65, 0.4 -> 28/65, out_of_scope 7/8 both)
WINDOW_TURNS = 40  # newest turns a reply reads (fused graph, slots, evidence)


class Assistant:
    """Intent, entities and a drafted answer for each customer turn, all kept in the store.

    `model` and `knowledge` take a folder (None: the model version in use, see
    engine.learning.versions; the shipped knowledge base) or an object already loaded, so tests
    and the window can share one loaded model.
    """

    def __init__(
        self,
        home: Path | None = None,
        model: Path | IntentModel | None = None,
        knowledge: Path | KnowledgeBase | None = None,
        device: str = "cpu",
        transcriber: Transcriber | None = None,
        fused: Path | FusedModel | None = None,
    ) -> None:
        self.home = paths.home(home)
        self.knowledge = (  # first: a broken article fails in milliseconds, not after the model
            knowledge if isinstance(knowledge, KnowledgeBase) else KnowledgeBase.load(knowledge)
        )
        if model is None:  # the version picked with `frontdesk models use` (else the default)
            model = versions.current(self.home)
        self.model = model if isinstance(model, IntentModel) else IntentModel.load(model, device)
        # retrieval runs plain MiniLM: it shares the intent model's tokenizer when that is
        # MiniLM's too (a model on the mpnet base has its own vocabulary)
        minilm = self.model.config.base == BASE_NAME
        self.knowledge.index(SentenceEncoder(device, self.model.tokenizer if minilm else None))
        uncovered = sorted(set(self.model.labels) - self.knowledge.intents)
        if uncovered:  # they get the out-of-scope (handoff) article, if the base has one
            log.warning("no knowledge-base article answers: %s", ", ".join(uncovered))
        self.store = Store.open(self.home)
        self._lock = threading.RLock()
        self._transcriber = transcriber  # loaded on the first voice turn
        self._device = device
        self._fused = fused  # folder or model for the multimodal reader (None: the version's)
        self._multimodal: MultimodalReader | None = None  # loaded on first need
        self._screen_reader: ScreenReader | None = None  # one handed in, else the reader's own
        self._entities: dict[tuple[int, str], list[Entity]] = {}  # (turn id, text) -> finds

    # -- the conversation ---------------------------------------------------------------------
    def new_session(
        self, agent: str | None = None, channel: str = "chat", title: str | None = None
    ) -> int:
        """Start a conversation in the store; returns its id."""
        with self._lock:
            return self.store.new_session(agent=agent, channel=channel, title=title)

    def add_turn(self, session_id: int, turn: Turn) -> int:
        """Keep a turn that needs no reply (an agent's own message, imported history)."""
        with self._lock:
            return self.store.add_turn(session_id, turn)

    def respond(self, session_id: int, turn: Turn,
                stored: Callable[[Turn], None] | None = None) -> Reply:
        """Store `turn`, then predict, extract and draft; store and return the reply.

        A turn may be a recording alone (transcribed first) or a screenshot alone (its OCR text
        becomes the turn's text); either is stored before it is read, so nothing is lost.
        `stored` hears of the turn once it is committed (its id set), before it is read.
        """
        started = time.perf_counter()
        spoken = turn.audio is not None and not turn.text.strip()
        pictured = bool(turn.images) and not spoken and not turn.text.strip()
        text = "" if spoken or pictured else checked_text(turn.text)
        with self._lock:
            if spoken:
                turn.source = "voice"
            if pictured:
                turn.source = "image"
            turn_id = self.store.add_turn(session_id, turn)  # committed before inference
            if stored is not None:
                stored(turn)
            if spoken:  # the recording is kept first; its transcript becomes the turn's text
                text = self._transcribe_turn(turn, turn_id)
            readings = None  # this turn's screenshots, read once and handed on
            if turn.images:  # OCR once per image, kept on the attachment (searchable)
                text, readings = self._read_screenshots(turn, turn_id, text)
            history = [Message.from_store(row)
                       for row in self.store.turns(session_id, last=WINDOW_TURNS)]
            # A follow-up is read joined with its conversation, a screenshot turn with the
            # screen's lines (below): the message alone is read only where that reading cannot
            # be had (one text-model forward saved).
            fused, accepted, read, screen, prediction = None, False, None, None, None
            if _needs_fused(turn, history, turn_id):
                fused = self.multimodal.predict(
                    history, turn_id, in_scope=bool(turn.images),
                    readings={turn_id: readings} if readings is not None else None)
                if not turn.images:  # the intent at this turn: joined text x conversation model
                    read = conversation_decision(self.model, fused.texts, fused.probabilities,
                                                 fused.act, fused.roles)
                else:  # the message with the screen's telling lines x the fused model
                    from engine.fusion.screen_reading import read_screen

                    screen = read_screen(self.model, "" if pictured else text,
                                         fused.screenshots, fused.probabilities, turn_id,
                                         fused_sure=FUSED_MIN_CONFIDENCE)
                    read = screen.prediction if screen else None
                accepted = read is not None
            if read is None:  # the message alone; it reads the first MAX_CHARS
                prediction = self.model.predict([text])[0]
                low_in_scope = prediction.level == "Low" and prediction.intent != OUT_OF_SCOPE
                accepted = fused is not None and fused.confidence >= FUSED_MIN_CONFIDENCE and (
                    bool(turn.images) or fused.abstains or low_in_scope)
            intent, confidence, level, top = _decision(read or prediction,
                                                       fused if accepted and not read else None,
                                                       self.model)
            current, earlier = self._conversation_entities(history, turn_id)
            latest = latest_values(earlier + current)
            draft = self.knowledge.draft(intent, text, latest)
            shown = current + [e for kind, e in latest.items()
                               if e.turn_id != turn_id and draft and kind in draft.filled]
            evidence = Evidence.of_slots(turn_id, history, draft.filled if draft else {})
            version = self.model.version
            if fused is not None:
                evidence = Evidence(fused.turns + evidence.turns,
                                    screen.boxes if screen else fused.boxes,
                                    "fused" if accepted else "text",
                                    FusedAnswer(fused.intent, round(fused.confidence, 4)))
                if accepted:
                    version = f"{version}+{fused.version}"
            reply = Reply(
                intent=intent,
                confidence=confidence,
                level=level,  # type: ignore[arg-type]
                top=top,
                entities=shown,
                draft=draft.text if draft else "",
                source=draft.article.id if draft else "",
                evidence=evidence,
                model_version=version,
                turn_id=turn_id,
            )
            if spoken:
                reply.evidence.transcript = text
            reply.latency_ms = (time.perf_counter() - started) * 1000.0
            self.store.add_reply(turn_id, reply)
        return reply

    def feedback(
        self,
        reply_id: int,
        action: str,
        corrected_intent: str | None = None,
        final_answer: str | None = None,
    ) -> int:
        """What the agent did with a reply (accepted, edited, corrected, ...): training labels."""
        with self._lock:
            return self.store.add_feedback(
                reply_id, action, corrected_intent=corrected_intent, final_answer=final_answer
            )

    @property
    def transcriber(self) -> Transcriber:
        """The speech-to-text backend, loaded on first use (faster-whisper tiny.en by default)."""
        if self._transcriber is None:
            from engine.speech.transcribe import load_transcriber

            self._transcriber = load_transcriber(device=self._device, home=self.home)
        return self._transcriber

    @property
    def multimodal(self) -> MultimodalReader:
        """Screenshot reading and the fused model, loaded on the first turn that needs them."""
        with self._lock:  # one reader, whichever thread asks first (a turn, the preloading)
            if self._multimodal is None:
                from engine.fusion.reader import DEFAULT_FOLDER, MultimodalReader

                fused = self._fused if self._fused is not None else versions.fused_folder(self.home)
                if fused == DEFAULT_FOLDER:
                    fused = None  # the shipped pair: fused for screenshots, conversation model
                self._multimodal = MultimodalReader(self.store, fused, self._device,
                                                    self._screen_reader)
            return self._multimodal

    @property
    def screen_reader(self) -> ScreenReader:
        """The OCR reader with its cache; the window checks a dropped image with it before the
        turn is sent, and `respond` then finds the reading there instead of reading again."""
        return self.multimodal.screen_reader

    @screen_reader.setter
    def screen_reader(self, reader: ScreenReader) -> None:
        """Use an OCR reader already loaded elsewhere (tests, a window sharing one)."""
        self._screen_reader = reader
        if self._multimodal is not None:
            self._multimodal.use_reader(reader)

    def _read_screenshots(self, turn: Turn, turn_id: int, text: str
                          ) -> tuple[str, list[tuple[int, Screenshot]]]:
        """OCR a stored turn's images; a screenshot-only turn gets their text as its own.
        (The turn's text, its (attachment id, reading) pairs.)"""
        from engine.fusion.graph import screenshot_text

        readings = self.multimodal.read_turn(turn_id)
        shots = [shot for _, shot in readings]
        if text.strip():
            return text, readings
        read = screenshot_text(shots)
        if not read:
            raise InputError("No text could be read on the screenshot; it is kept in the "
                             "session, type what the customer asked.")
        return self._set_text(turn, turn_id, read), readings

    def _transcribe_turn(self, turn: Turn, turn_id: int) -> str:
        """Transcribe a stored voice turn and write the text into it."""
        transcript = self.transcriber.transcribe(turn.audio)
        text = transcript.text.strip()
        if not text:
            raise InputError("No speech was heard in the recording; it is kept in the session.")
        return self._set_text(turn, turn_id, text)

    def _set_text(self, turn: Turn, turn_id: int, text: str) -> str:
        """A stored turn's text, read from its screenshot or recording, written into it."""
        text = checked_text(text)
        self.store.set_turn_text(turn_id, text)
        turn.text = text
        return text

    def redraft(self, session_id: int, turn_id: int, intent: str) -> tuple[str, str, bool]:
        """The draft for `intent` (the agent's correction of turn `turn_id`), slots filled from the
        conversation up to that turn: (text, article id, whether an article answers `intent`)."""
        with self._lock:
            history = [Message.from_store(row) for row in self.store.turns(session_id)
                       if row["id"] <= turn_id]
            current, earlier = self._conversation_entities(history, turn_id)
        message = next((m.text for m in history if m.id == turn_id), "")
        draft = self.knowledge.draft(intent, message, latest_values(earlier + current))
        if draft is None:
            return "", "", False
        return draft.text, draft.article.id, intent in self.knowledge.intents

    def use_version(self, name: str) -> None:
        """Switch the data folder to model version `name` (engine.learning.versions) and answer
        with it from the next turn: its intent model now, its fused model on the next screenshot."""
        with self._lock:
            versions.use(self.home, name)
            self.model = IntentModel.load(versions.current(self.home), self._device)
            if self._multimodal is not None and self._fused is None:
                self._screen_reader = self._multimodal.screen_reader  # OCR stays loaded
                self._multimodal = None

    def close(self) -> None:
        with self._lock:
            if self._multimodal is not None:
                self._multimodal.release_reader()
            self.store.close()

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers ------------------------------------------------------------------------------
    def _conversation_entities(
        self, history: list[Message], turn_id: int
    ) -> tuple[list[Entity], list[Entity]]:
        """(entities of this turn, entities of the earlier turns, oldest first): customer and
        agent words fill slots, not our own drafts."""
        today = date.today()
        current: list[Entity] = []
        earlier: list[Entity] = []
        for message in history:
            if message.role not in SPEAKERS or not message.text or message.id is None:
                continue
            key = (message.id, message.text)
            if key not in self._entities:
                if len(self._entities) > ENTITY_CACHE_SIZE:
                    self._entities.clear()
                self._entities[key] = extract(message.text, message.id, today=today)
            found = [Entity(**vars(e)) for e in self._entities[key]]
            (current if message.id == turn_id else earlier).extend(found)
        return current, earlier


def case_predictor(assistant: Assistant) -> Callable[[list[Case]], list[tuple[str, float]]]:
    """Score eval cases through the whole Assistant: each case is a session with its history,
    its screenshot and its recording (transcribed first; the case's text is then ignored)."""

    def predict(cases: list[Case]) -> list[tuple[str, float]]:
        out = []
        for case in cases:
            session = assistant.new_session(channel="eval", title=case.id or None)
            for earlier in case.history:
                assistant.add_turn(session, Turn(text=earlier.text, role=earlier.role))  # type: ignore[arg-type]
            turn = Turn(
                text="" if case.audio else case.text,
                images=[case.image] if case.image else [],
                audio=case.audio,
                source="voice" if case.audio else "image" if case.image else "typed",
            )
            reply = assistant.respond(session, turn)
            out.append((reply.intent, reply.confidence))
        return out

    return predict


def _needs_fused(turn: Turn, history: list[Message], turn_id: int) -> bool:
    """The gate: a screenshot, or earlier turns (a conversation is the conversation model's to
    read: a text model sure of "yes go ahead" alone cannot know what it agrees to), or, for a
    fused model without an out_of_scope class, earlier turns while the text model is unsure."""
    if turn.images:
        return True
    return any(message.id != turn_id and message.role in SPEAKERS and message.text
               for message in history)


def _decision(
    prediction: IntentPrediction, fused: FusedPrediction | None, model: IntentModel
) -> tuple[str, float, str, list[tuple[str, float]]]:
    """(intent, confidence, level, top-3): the fused answer when it was accepted (`fused` not
    None), else the text model's calibrated one (out_of_scope included). Levels use the text
    model's cut-offs."""
    if fused is None:
        return prediction.intent, prediction.confidence, prediction.level, prediction.top[:3]
    level = model.config.level(fused.confidence, fused.margin)
    return fused.intent, fused.confidence, level, list(fused.top[:3])

