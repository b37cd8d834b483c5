"""Calibration of a trained intent model on validation data.

Temperature scaling (Guo et al. 2017), then the out-of-scope threshold that maximises
validation accuracy, mirroring `IntentModel.decide`.
"""

from __future__ import annotations

import torch

from engine.nlu.intent import IntentModel
from engine.types import OUT_OF_SCOPE


def fit_calibration(model: IntentModel, logits: torch.Tensor, gold: torch.Tensor) -> None:
    """Set the temperature (min validation NLL) and the OOS threshold (max validation accuracy)."""
    logits, gold = logits.detach().float().cpu(), gold.cpu()
    log_t = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

    def nll() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), gold)
        loss.backward()
        return loss

    optimizer.step(nll)
    model.config.temperature = float(log_t.detach().exp().clamp(0.05, 20.0))
    probs = torch.softmax(logits / model.config.temperature, dim=-1)
    model.config.threshold = best_threshold(probs, gold, model.labels)


def best_threshold(probs: torch.Tensor, gold: torch.Tensor, labels: list[str]) -> float:
    """The in-scope probability below which `decide` says out_of_scope, chosen on validation.

    Mirrors `IntentModel.decide`, vectorised over a grid; 0 when validation has no OOS examples.
    """
    if OUT_OF_SCOPE not in labels or not bool((gold == labels.index(OUT_OF_SCOPE)).any()):
        return 0.0
    oos = labels.index(OUT_OF_SCOPE)
    in_scope = probs.clone()
    in_scope[:, oos] = -1.0
    best_p, best_i = in_scope.max(-1)
    class_says_oos = probs[:, oos] > best_p
    best_t, best_acc = 0.0, -1.0
    for threshold in torch.linspace(0.0, 0.99, 100).tolist():
        predicted = torch.where(class_says_oos | (best_p < threshold), oos, best_i)
        acc = (predicted == gold).float().mean().item()
        if acc > best_acc + 1e-9:
            best_t, best_acc = threshold, acc
    return round(best_t, 4)
