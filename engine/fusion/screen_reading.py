"""A screenshot turn read by the text model too: the message with the screen's telling lines.

Why: the fused model reads OCR blocks over frozen MiniLM and was trained on rendered templates,
so on real layouts (bank apps, email clients, phone crops) it often names the wrong intent
although OCR read the screen well; the fine-tuned text model reads people's and shops' wording
far better. But a screen is mostly chrome and product names ("Orders", "Payment methods", "Qty
1"), and the text model reads 64 tokens, so the whole screen as one text drowns the line that
says what is wrong. So: the text model reads each line of at least MIN_WORDS words, keeps the
SCREEN_LINES it is surest name one of our intents (in screen order), and reads the message
followed by them as one text; that reading and the fused model's (out_of_scope masked, as the
Assistant asks on a screenshot) are combined as a product of experts (geometric mean, equal
weights), as engine.nlu.joined does for conversations. Chosen with `python -m bench
screenshots` (frontdesk-eval screenshots dev and held-out synthetic renders): dev 15/30 with
the fused model alone, 22/30 with this, 24/30 with the text model's out_of_scope standing
where the fused model is unsure; synthetic 96/108 -> 106/108.

Evidence stays honest: the boxes shown are the lines the text model read, each weighted by how
strongly that line alone named the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch

from engine.nlu import encoder
from engine.nlu.intent import MAX_CHARS, IntentModel, IntentPrediction
from engine.nlu.joined import product_of_experts
from engine.types import OUT_OF_SCOPE, BoxEvidence
from engine.vision.ocr import Screenshot

SCREEN_LINES = 6  # lines the text model reads with the message (bench screenshots: 4-8 alike)
MIN_WORDS = 2  # one-word lines are menus, buttons and product names far more than messages
EVIDENCE_LINES = 3


@dataclass
class ScreenReading:
    """The combined answer on a screenshot turn and the lines that drove it."""

    prediction: IntentPrediction
    boxes: list[BoxEvidence] = field(default_factory=list)  # strongest first
    text: str = ""  # what the text model read: the message and the chosen lines


def telling_lines(model: IntentModel, lines: Sequence[str], keep: int = SCREEN_LINES
                  ) -> tuple[list[int], torch.Tensor]:
    """(indices of the `keep` lines the text model is surest name an intent, in screen order;
    each line's probabilities [len(lines), labels], zeros for lines too short to be read)."""
    probs = torch.zeros(len(lines), len(model.labels))
    candidates = [i for i, line in enumerate(lines) if len(line.split()) >= MIN_WORDS]
    if not candidates:
        return [], probs
    texts = [lines[i][:MAX_CHARS] for i in candidates]
    if model.config.base == encoder.BASE_NAME:  # a screen's short lines packed into rows
        with torch.inference_mode():
            states = encoder.packed_states(model.bert, model.tokenizer, texts,
                                           max_length=model.config.max_length)
        probs[candidates] = model.pooled_probabilities(torch.stack([s.mean(0) for s in states]))
    else:
        probs[candidates] = model.probabilities(texts)
    in_scope = probs.clone()
    if OUT_OF_SCOPE in model.labels:
        in_scope[:, model.labels.index(OUT_OF_SCOPE)] = 0.0
    sureness = in_scope.max(1).values
    ranked = sorted(candidates, key=lambda i: -float(sureness[i]))
    return sorted(ranked[:keep]), probs


def read_screen(
    model: IntentModel, message: str, shots: Sequence[tuple[int | None, Screenshot]],
    fused: Mapping[str, float], turn_id: int | None = None, fused_sure: float = 0.4,
) -> ScreenReading | None:
    """The answer on a screenshot turn from the message, its screenshots' OCR lines
    ((attachment id, reading) pairs) and the fused model's probabilities per label (in-scope).

    Out of scope: the fused model was trained on shop screens only and always names one of our
    intents, so when the text model reads the message and lines as out of scope (a weather
    app, a system update) its decision stands, unless the fused model is at least `fused_sure`
    sure of an intent (the Assistant passes its FUSED_MIN_CONFIDENCE).

    None when there is nothing to combine: no line of MIN_WORDS words and no message, or a fused
    model whose intents are not the text model's (a team's retrained model that learned a new
    intent must be able to name it: the product would drop it)."""
    labels = model.labels
    if set(labels) - {OUT_OF_SCOPE} != set(fused) - {OUT_OF_SCOPE}:
        return None
    blocks = [(attachment, s, b, block) for s, (attachment, shot) in enumerate(shots)
              for b, block in enumerate(shot.blocks)]
    chosen, per_line = telling_lines(model, [block.text for *_, block in blocks])
    message = message.strip()[:MAX_CHARS]
    if not chosen and not message:
        return None
    text = " ".join([message, *(blocks[i][3].text for i in chosen)]).strip()
    reading = model.probabilities([text])[0]
    prediction = model.decide(reading)
    if prediction.intent != OUT_OF_SCOPE or max(fused.values()) >= fused_sure:
        other = torch.tensor([fused.get(label, 0.0) for label in labels])
        combined = product_of_experts(reading, other)
        if OUT_OF_SCOPE in labels:  # the fused model never saw an off-topic screen: in scope
            combined[labels.index(OUT_OF_SCOPE)] = 0.0
            combined = combined / combined.sum()
        prediction = model.decide(combined)
    answer = labels.index(prediction.intent)
    support = [float(per_line[i, answer]) for i in chosen]
    total = sum(support) or 1.0
    boxes = [BoxEvidence(blocks[i][0], turn_id, blocks[i][1], blocks[i][2], blocks[i][3].text,
                         tuple(blocks[i][3].box), round(share / total, 4))
             for i, share in zip(chosen, support, strict=True)]
    boxes.sort(key=lambda box: -box.weight)
    return ScreenReading(prediction, boxes[:EVIDENCE_LINES], text)
