"""The training loss with distillation (Hinton et al. 2015): a larger model's view as soft labels.

`fine_tune` (engine.learning.train) takes a `Teacher`, the teacher's raw logits by text; each
training row the teacher read adds T^2 * KL(teacher || student) at temperature T to its
(weighted) cross-entropy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.cases.case import Case
from engine.errors import InputError


@dataclass
class Teacher:
    """A larger model's view of the training text, for distillation: its raw logits by text,
    columns in the order of `labels` (which must hold every label the student learns)."""

    labels: list[str]
    logits: dict[str, torch.Tensor]

    def columns(self, labels: list[str]) -> torch.Tensor:
        """Column of each of `labels` in the teacher's logits."""
        missing = [label for label in labels if label not in self.labels]
        if missing:
            raise InputError(f"The teacher has no output for {missing[0]}; give it every "
                             "intent the model learns.")
        return torch.tensor([self.labels.index(label) for label in labels])


def training_loss(logits: torch.Tensor, gold: torch.Tensor, weights: torch.Tensor,
                  teacher: torch.Tensor | None = None, has_teacher: torch.Tensor | None = None,
                  weight: float = 1.0, temperature: float = 2.0) -> torch.Tensor:
    """Weighted cross-entropy on the labels, plus `weight` * T^2 * KL(teacher || student) at
    temperature T over the rows the teacher read (`has_teacher`), weighted alike."""
    ce = torch.nn.functional.cross_entropy(logits, gold, reduction="none")
    loss = (ce * weights).sum() / weights.sum()
    if teacher is None or has_teacher is None or not bool(has_teacher.any()):
        return loss
    t = temperature
    kl = torch.nn.functional.kl_div(torch.log_softmax(logits / t, -1),
                                    torch.log_softmax(teacher / t, -1),
                                    log_target=True, reduction="none").sum(-1)
    read = weights * has_teacher
    return loss + weight * t * t * (kl * read).sum() / read.sum()


def teacher_targets(teacher: Teacher | None, cases: list[Case], labels: list[str],
                     device: torch.device) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(teacher logits per training row in the model's label order, which rows have them)."""
    if teacher is None:
        return None, None
    columns = teacher.columns(labels)
    blank = torch.zeros(len(labels))
    rows = [teacher.logits.get(c.text) for c in cases]
    soft = torch.stack([blank if r is None else r.float()[columns] for r in rows])
    has = torch.tensor([r is not None for r in rows], dtype=torch.float32)
    return soft.to(device), has.to(device)
