"""Dialogue acts: does the newest customer message say something new, or answer the agent?

A conversation's newest message is read differently by what it does. A *request* (a task, a
question, a complaint, a topic switch) stands for itself; a *detail* ("4471", an e-mail address,
"the blue one"), a *yes* ("yeah 2 is fine") or a *no* answers the agent and carries the task the
conversation is on; *social* turns greet and thank. The text intent model reads every message as
a request, so a short reply that names a thing reads as an order by itself ("yeah 2 is fine":
place_order, level High) and "4471" lends the joined turns an order-number flavour.

The acts are learned from people: MultiDoGO's human customer turns (Peskov et al. 2019, six
domains, train split), whose labels say which turns state a task and which are `contentonly`,
`confirmation`, `rejection` or greetings and thanks, plus our own written shop messages as
requests (MultiDoGO's tasks are flights and food; without them "where is my parcel" read as a
detail). The model is a linear head (multinomial logistic regression) over the frozen MiniLM
sentence vector the conversation model already computes for the turn
(`engine.fusion.frozen_text.FrozenText.embed`), so reading a turn's act costs a 384 x 5 product.

    config.json        labels, what it was trained on, its MultiDoGO dev figures
    acts.safetensors   the head: weight [5, 384], bias [5]
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.errors import InputError
from engine.paths import ASSETS

FOLDER = ASSETS / "models" / "acts"
WEIGHTS_FILE = "acts.safetensors"
CONFIG_FILE = "config.json"
REQUEST, DETAIL, YES, NO, SOCIAL = "request", "detail", "yes", "no", "social"
ACTS = (REQUEST, DETAIL, YES, NO, SOCIAL)
DIMENSION = 384  # MiniLM's sentence vector
# MultiDoGO's customer-turn labels -> our acts (a turn labelled with a task is a request)
MULTIDOGO_ACTS = {"contentonly": DETAIL, "confirmation": YES, "rejection": NO,
                  "openinggreeting": SOCIAL, "closinggreeting": SOCIAL, "thankyou": SOCIAL}
REPLY_AT = 0.5  # the newest message answers the agent when its request probability is below this
DETAIL_AT = 0.5  # ... and gives a detail (names nothing to ask for) at this detail probability


class DialogueActs:
    """The act head: probabilities over ACTS for frozen MiniLM sentence vectors."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, config: dict | None = None):
        self.weight, self.bias = weight.float(), bias.float()
        self.config = config or {}

    @classmethod
    def load(cls, folder: Path = FOLDER) -> DialogueActs:
        """The head in `folder`; one clear sentence when it is missing or not ours."""
        folder = Path(folder)
        try:
            config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
            tensors = load_file(str(folder / WEIGHTS_FILE))
        except (OSError, ValueError, SafetensorError) as err:
            raise InputError(f"{folder} is not a dialogue-act model (config.json and "
                             f"{WEIGHTS_FILE}): {err}.") from err
        weight, bias = tensors.get("weight"), tensors.get("bias")
        if (config.get("labels") != list(ACTS) or weight is None or bias is None
                or tuple(weight.shape) != (len(ACTS), DIMENSION)
                or tuple(bias.shape) != (len(ACTS),)):
            raise InputError(f"{folder} holds a dialogue-act model of another shape or other "
                             f"acts; expected {', '.join(ACTS)} over {DIMENSION}-d vectors.")
        return cls(weight, bias, config)

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({"weight": self.weight.contiguous(), "bias": self.bias.contiguous()},
                  str(folder / WEIGHTS_FILE))
        config = {"labels": list(ACTS), **{k: v for k, v in self.config.items()
                                            if k != "labels"}}
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")

    def probabilities(self, vectors: torch.Tensor) -> torch.Tensor:
        """[n, len(ACTS)] act probabilities of sentence vectors [n, 384]."""
        return torch.softmax(vectors.float() @ self.weight.T + self.bias, dim=-1)

    def read(self, vector: torch.Tensor) -> dict[str, float]:
        """One sentence vector [384] -> {act: probability}."""
        probs = self.probabilities(vector.reshape(1, -1))[0]
        return dict(zip(ACTS, probs.tolist(), strict=True))


def is_reply(act: dict[str, float] | None) -> bool:
    """The message answers the agent or is social: it states no new request."""
    return bool(act) and act.get(REQUEST, 1.0) < REPLY_AT


def is_detail(act: dict[str, float] | None) -> bool:
    """The message only gives a detail asked for (a number, an address, a name, "the blue
    one"): its words say nothing of the task."""
    return is_reply(act) and act.get(DETAIL, 0.0) >= DETAIL_AT  # type: ignore[union-attr]


def multidogo_act(labels: Iterable[str]) -> str | None:
    """A MultiDoGO turn's act: REQUEST when any label is a task; the act of a single dialogue-act
    label; SOCIAL for greetings and thanks together; None when unclear (several kinds of reply,
    `outofdomain`)."""
    labels = set(labels)
    if not labels or "outofdomain" in labels:
        return None
    if labels - set(MULTIDOGO_ACTS):
        return REQUEST
    acts = {MULTIDOGO_ACTS[label] for label in labels}
    return acts.pop() if len(acts) == 1 else None


def fit(vectors: torch.Tensor, targets: torch.Tensor, weight_decay: float = 1e-4,
        steps: int = 200) -> DialogueActs:
    """Multinomial logistic regression, classes weighted to balance, full-batch L-BFGS
    (deterministic for the same inputs)."""
    counts = torch.bincount(targets, minlength=len(ACTS)).float()
    missing = [act for act, count in zip(ACTS, counts.tolist(), strict=True) if count == 0]
    if missing:
        raise InputError(f"Too little training data for dialogue acts: no examples of "
                         f"{', '.join(missing)}.")
    class_weight = counts.sum() / (len(ACTS) * counts)
    linear = torch.nn.Linear(vectors.shape[1], len(ACTS))
    torch.nn.init.zeros_(linear.weight)
    torch.nn.init.zeros_(linear.bias)
    optimiser = torch.optim.LBFGS(linear.parameters(), max_iter=steps,
                                  line_search_fn="strong_wolfe")
    vectors = vectors.float()

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(linear(vectors), targets, weight=class_weight)
        loss = loss + weight_decay * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return DialogueActs(linear.weight.detach().clone(), linear.bias.detach().clone())
