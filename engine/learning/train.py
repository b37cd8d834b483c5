"""Fine-tune the intent model: one loop, readable top to bottom, on one process or several.

1. Carve a stratified validation split out of the training data (fixed seed), unless given one.
   Too few examples for one is refused, saying how many are needed (nothing would check the
   model).
2. Run the frozen lower layers once over every example and keep their states: each epoch then
   only runs the trained top layers, which is what makes training fit on a 2-core CPU. Heads
   only, the whole encoder is frozen: every distinct text is encoded once (`encode_once`, length
   sorted batches) and the head trains on the pooled features, one tensor, no per-step padding.
3. AdamW with linear warm-up/decay (as in BERT, Devlin et al. 2019); the epoch with the best
   validation accuracy is kept. Under torchrun every process draws the same shuffled order and
   trains on its share of each batch, DDP averaging the gradients, so a step is the step one
   process takes (engine.learning.processes; `python -m engine.learning.distributed`).
   The loss is cross-entropy on the labels, each row weighted when `weights` are given (the
   default recipe balances its sources so an intent with only Bitext text is not outweighed by
   a sibling with hundreds of human rows), plus, with a `Teacher` (a larger model's logits by
   text), distillation (Hinton et al. 2015): T^2 * KL(teacher || student) at temperature T,
   times `distill_weight`, on the rows the teacher has read.
4. Calibrate on validation: temperature scaling (Guo et al. 2017), then the out-of-scope
   threshold that maximises validation accuracy.
5. Write the folder atomically (engine.model_folder: a temporary folder beside it, renamed at the
   end; rank 0 alone), so a cancelled or killed run never leaves a half-written model where the
   app would pick it up, and a folder holding anything but a model of ours is refused.

`engine.cli.intent_cmds` (train), the GUI's Train dialog, retraining from logs and the torchrun
entry (engine.learning.distributed) all call `fine_tune`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from engine.cases.datasets import Case
from engine.cases.splits import validation_split
from engine.errors import InputError, TrainingCancelled
from engine.learning import processes
from engine.learning.calibration import fit_calibration
from engine.learning.distill import Teacher, teacher_targets, training_loss
from engine.model_folder import check_output, write_model_folder
from engine.nlu import adapters
from engine.nlu import encoder as text_encoder
from engine.nlu.intent import IntentConfig, IntentModel

Progress = Callable[[int, int, dict], None]  # (step, total_steps, {"epoch", "loss", ...})


@dataclass
class TrainOptions:
    """Hyperparameters; saved into the model's config so its card can say how it was made."""

    epochs: int = 4
    batch_size: int = 32
    lr: float = 1e-4  # trained encoder layers
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.1  # fraction of steps
    val_fraction: float = 0.1
    seed: int = 13
    trainable_layers: int = 2
    max_length: int = 64
    time_limit_s: float | None = None  # stop after the epoch running when this much has passed
    heads_only: bool = False  # keep every encoder layer as it is and train the head alone
    adapters: bool = False  # LoRA on the top layers' attention + the head (engine.nlu.adapters)
    adapter_base: str = "default"  # what the adapters' config names as their base version
    base: str = text_encoder.BASE_NAME  # the pretrained encoder a new model starts from
    bf16: bool = False  # bfloat16 autocast: ~1.5-1.8x faster with AVX-512, refused on AVX2 alone
    dropout: bool = True  # off: deterministic steps, to compare runs over process counts
    distill_weight: float = 1.0  # weight of the teacher's KL term when a Teacher is given
    distill_temperature: float = 2.0  # T of distillation: both logits / T, the term times T^2


def fine_tune(
    cases: list[Case],
    out: Path,
    options: TrainOptions | None = None,
    start_from: Path | IntentModel | None = None,
    val_cases: list[Case] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    notes: dict | None = None,
    features: dict[str, torch.Tensor] | None = None,
    weights: list[float] | None = None,
    teacher: Teacher | None = None,
) -> IntentModel:
    """Train on `cases` and save the best epoch, calibrated, to `out`; return the model.

    `features` (heads only): pooled features by text from `encode_once` with the same encoder,
    so a caller that also scores the model (engine.learning.retrain) encodes each text once per run.
    `weights`: one per case, the weight of its loss (None: all alike). `teacher`: soft targets
    by text for distillation (rows whose text it lacks learn from their label alone).
    `start_from` may be a loaded model (it is then trained in place, not loaded again).
    Under torchrun every process runs this with the same arguments (engine.learning.processes)."""
    opts = options or TrainOptions()
    place = processes.world()
    device = processes.join(place)
    check_output(out)  # before the work: a folder of someone's files is refused, not replaced
    torch.manual_seed(opts.seed)
    if weights is not None and len(weights) != len(cases):
        raise InputError(f"{len(weights)} weights were given for {len(cases)} training cases.")
    weight_of = {id(c): w for c, w in zip(cases, weights or [], strict=False)}
    cases, val_cases = validation_split(cases, val_cases, opts.val_fraction, opts.seed,
                                        continuing=bool(start_from))
    model = _start_model(sorted({c.intent for c in cases} | {c.intent for c in val_cases}),
                         opts, start_from)
    if device is not None:
        model.to(device)
    if opts.bf16:
        check_bf16(model.device)
    if opts.adapters and model.config.base != text_encoder.BASE_NAME:
        raise InputError("Adapters are built for MiniLM models; this one is on "
                         f"{model.config.base}, so retrain its top layers or its head.")
    if model.config.adapters and not (opts.heads_only or opts.adapters):
        raise InputError("This model was trained with adapters; retrain it with adapters or the "
                         "head alone, or start from a version without adapters.")
    index = {label: i for i, label in enumerate(model.labels)}
    train_w = torch.tensor([weight_of.get(id(c), 1.0) for c in cases], device=model.device)
    soft, has_soft = teacher_targets(teacher, cases, model.labels, model.device)
    started = time.perf_counter()
    whole = opts.heads_only  # heads only: cache the whole encoder's output, train the head
    if whole:
        if features is None:
            features = encode_once(model, [c.text for c in cases + val_cases], cancel)
        train_states = torch.stack([features[c.text] for c in cases]).to(model.device)
        val_states = torch.stack([features[c.text] for c in val_cases]).to(model.device)
    else:
        train_states = _frozen_states(model, [c.text for c in cases], cancel)
        val_states = _frozen_states(model, [c.text for c in val_cases], cancel)
    train_y = torch.tensor([index[c.intent] for c in cases], device=model.device)
    val_y = torch.tensor([index[c.intent] for c in val_cases], device=model.device)

    model.requires_grad_(False)
    layers = [] if whole else list(model.bert.encoder.layer[model.frozen_layers :].parameters())
    if opts.adapters:  # the LoRA matrices beside the top layers' attention, the rest frozen
        adapters.attach(model, adapters.spec(model, opts.adapter_base))
        layers = list(adapters.lora_parameters(model).values())
    trained = [*layers, *model.head.parameters()]
    for param in trained:
        param.requires_grad_(True)
    groups = [{"params": list(model.head.parameters()), "lr": opts.head_lr}]
    if layers:
        groups.insert(0, {"params": layers, "lr": opts.lr})
    net = processes.wrap(_TrainedPart(model, whole), place)
    optimizer = torch.optim.AdamW(groups, weight_decay=opts.weight_decay)
    steps_per_epoch = (len(cases) + opts.batch_size - 1) // opts.batch_size
    total = steps_per_epoch * opts.epochs
    warm = max(1, int(total * opts.warmup))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    bar = tqdm(total=total, desc="training", unit="batch",
               disable=progress is not None or place.rank != 0)
    say = bar.write if place.rank == 0 else (lambda _line: None)
    generator = torch.Generator().manual_seed(opts.seed)
    best = {"accuracy": -1.0, "loss": float("inf"), "epoch": 0, "state": None}
    history, step = [], 0
    report_every = max(1, total // 200)  # progress and the bar: ~200 updates, not every step

    # heads only, a 384 x n_labels layer: one thread is fastest; on a busy 2-core CPU two
    # threads waiting on each other made each tiny step ~20x slower
    with _torch_threads(1 if whole else None):
        for epoch in range(1, opts.epochs + 1):
            model.train(opts.dropout)
            order = torch.randperm(len(cases), generator=generator)  # the same on every process
            for start in range(0, len(order), opts.batch_size):
                if cancel is not None and cancel.is_set():
                    bar.close()
                    _cancelled()
                idx, share = processes.share(order[start : start + opts.batch_size], place)
                with _autocast(model, opts.bf16):
                    if whole:  # the head reads the pooled features
                        logits = net(train_states[idx])
                    else:
                        logits = net(*_pad([train_states[i] for i in idx.tolist()]))
                loss = training_loss(logits.float(), train_y[idx], train_w[idx],
                                     soft[idx] if soft is not None else None,
                                     has_soft[idx] if has_soft is not None else None,
                                     opts.distill_weight, opts.distill_temperature)
                optimizer.zero_grad()
                (loss if share == 1.0 else loss * share).backward()  # DDP averages processes
                torch.nn.utils.clip_grad_norm_(trained, 1.0)
                optimizer.step()
                scheduler.step()
                step += 1
                if step % report_every == 0 or step == total:
                    bar.update(step - bar.n)
                    bar.set_postfix(epoch=epoch, loss=f"{loss.item():.3f}")
                    if progress is not None:
                        progress(step, total, {"epoch": epoch, "loss": loss.item()})
                if opts.time_limit_s and processes.any_rank(
                        time.perf_counter() - started > opts.time_limit_s, place):
                    break  # out of time: score this (partial) epoch, keep the best, stop
            with _autocast(model, opts.bf16):
                val_logits = _logits(model, val_states).float()
            val_loss = torch.nn.functional.cross_entropy(val_logits, val_y).item()
            val_acc = (val_logits.argmax(-1) == val_y).float().mean().item()
            history.append({"epoch": epoch, "val_accuracy": round(val_acc, 4),
                            "val_loss": round(val_loss, 4)})
            say(f"epoch {epoch}: validation accuracy {val_acc:.4f}, loss {val_loss:.4f}")
            if (val_acc, -val_loss) > (best["accuracy"], -best["loss"]):
                state = {k: v.detach().clone() for k, v in model.trained_state().items()}
                best.update(accuracy=val_acc, loss=val_loss, epoch=epoch, state=state)
            if opts.time_limit_s and processes.any_rank(  # still over where it was over
                    time.perf_counter() - started > opts.time_limit_s, place):
                say(f"time limit of {opts.time_limit_s:.0f} s reached after epoch {epoch}")
                break
    bar.close()

    _restore(model, best["state"])
    fit_calibration(model, _logits(model, val_states), val_y)
    model.config.training = {
        **(notes or {}), "options": asdict(opts), "train_examples": len(cases),
        "val_examples": len(val_cases), "best_epoch": best["epoch"], "history": history,
        "weighted": weights is not None,
        "teacher_rows": int(has_soft.sum()) if has_soft is not None else 0,
        "processes": place.size, "backend": place.backend,
        "seconds": round(time.perf_counter() - started, 1),
        "started_from": str(getattr(start_from, "folder", start_from)) if start_from else None,
    }
    processes.on_rank_zero(lambda: write_model_folder(Path(out), model.save), place)
    model.folder = Path(out)
    return model


def calibrate(model: IntentModel, cases: list[Case]) -> None:
    """Refit temperature and OOS threshold of a trained model on labelled `cases`."""
    index = {label: i for i, label in enumerate(model.labels)}
    unknown = sorted({c.intent for c in cases} - set(index))
    if unknown:
        raise InputError(f"The calibration data has intents the model lacks ({unknown[0]}).")
    states = _frozen_states(model, [c.text for c in cases])
    gold = torch.tensor([index[c.intent] for c in cases])
    fit_calibration(model, _logits(model, states), gold)


def _start_model(labels: list[str], opts: TrainOptions,
                 start_from: Path | IntentModel | None) -> IntentModel:
    """A fresh model, or one loaded from a folder (or given) with its head widened for any new
    intents."""
    if start_from is None:
        return IntentModel(IntentConfig(labels=labels, trainable_layers=opts.trainable_layers,
                                        max_length=opts.max_length, base=opts.base))
    model = start_from if isinstance(start_from, IntentModel) else IntentModel.load(start_from)
    new = [label for label in labels if label not in model.labels]
    if new:
        old_head = model.head
        model.config.labels = model.labels + new
        model.head = torch.nn.Linear(old_head.in_features, len(model.labels))
        with torch.no_grad():
            model.head.weight[: old_head.out_features] = old_head.weight
            model.head.bias[: old_head.out_features] = old_head.bias
    return model


def encode_once(model: IntentModel, texts: list[str], cancel: threading.Event | None = None,
                batch_size: int = 128) -> dict[str, torch.Tensor]:
    """{text: mean-pooled final states [384]} of the whole encoder, each distinct text encoded
    once, in batches of texts of the same token length (little padding)."""
    distinct = list(dict.fromkeys(texts))
    model.eval()
    ids = model.tokenizer(distinct, truncation=True, max_length=model.config.max_length)
    order = sorted(range(len(distinct)), key=lambda i: len(ids["input_ids"][i]))
    pooled = torch.empty(len(distinct), model.hidden_size)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            if cancel is not None and cancel.is_set():
                _cancelled()
            idx = order[start : start + batch_size]
            batch = model.tokenize([distinct[i] for i in idx])
            mask = batch["attention_mask"]
            hidden = model.upper(model.lower(batch["input_ids"], mask), mask)
            pooled[idx] = text_encoder.mean_pool(hidden, mask).float().cpu()
    return dict(zip(distinct, pooled.clone(), strict=True))  # clone: usable outside inference


@torch.no_grad()
def _frozen_states(model: IntentModel, texts: list[str], cancel: threading.Event | None = None,
                   batch_size: int = 128) -> list:
    """Output of the frozen layers for every text, trimmed to its own length (no padding)."""
    model.eval()
    states: list[torch.Tensor] = [None] * len(texts)  # type: ignore[list-item]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in tqdm(range(0, len(order), batch_size), desc="encoding", unit="batch",
                      leave=False):
        if cancel is not None and cancel.is_set():
            _cancelled()
        idx = order[start : start + batch_size]
        batch = model.tokenize([texts[i] for i in idx])
        hidden = model.lower(batch["input_ids"], batch["attention_mask"])
        for row, i in enumerate(idx):
            length = int(batch["attention_mask"][row].sum())
            states[i] = hidden[row, :length].clone()
    return states


def fast_bf16(device: torch.device) -> bool:
    """Whether bfloat16 autocast is fast on `device`: a GPU, or a CPU oneDNN has bf16 kernels
    for (AVX-512 or AMX). On AVX2 alone it ran an mpnet training step 20x slower than float32."""
    if device.type != "cpu":
        return True
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def check_bf16(device: torch.device) -> None:
    """Refuse --bf16 where it would be slow (see fast_bf16)."""
    if not fast_bf16(device):
        raise InputError("This CPU has no fast bfloat16 (it needs AVX-512 or AMX): --bf16 would "
                         "train many times slower than float32 here, so train without it.")


def _autocast(model: IntentModel, enabled: bool):
    """bfloat16 autocast on the model's device when asked (weights and optimizer stay fp32)."""
    return torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=enabled)


@contextmanager
def _torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with `count` torch threads (None: as they are), then restore them."""
    before = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _cancelled() -> None:
    raise TrainingCancelled("Training was cancelled; no model was written.")


def _pad(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    hidden = torch.nn.utils.rnn.pad_sequence(states, batch_first=True)
    lengths = torch.tensor([len(s) for s in states], device=hidden.device)
    mask = (torch.arange(hidden.shape[1], device=hidden.device)[None, :] < lengths[:, None]).long()
    return hidden, mask


class _TrainedPart(torch.nn.Module):
    """The trained part (top layers or their adapters, and the head) as one module: the unit DDP
    wraps and keeps in step over the processes; the frozen layers ran once, before training."""

    def __init__(self, model: IntentModel, whole: bool) -> None:
        super().__init__()
        self.model_ref = [model]  # a list, so the whole encoder is not registered here
        self.layers = torch.nn.ModuleList(
            [] if whole else list(model.bert.encoder.layer[model.frozen_layers :]))
        self.head = model.head
        self.whole = whole

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        model = self.model_ref[0]
        if self.whole:  # pooled features of the whole encoder
            return model.head(model.dropout(hidden))
        return model.classify(model.upper(hidden, mask), mask)


@torch.no_grad()  # not inference_mode: calibration later fits a temperature on these logits
def _logits(model: IntentModel, states: list[torch.Tensor] | torch.Tensor, batch_size: int = 256):
    model.eval()
    if isinstance(states, torch.Tensor):  # pooled features (heads only)
        return model.head(states)
    out = []
    for start in range(0, len(states), batch_size):
        hidden, mask = _pad(states[start : start + batch_size])
        out.append(model.classify(model.upper(hidden, mask), mask))
    return torch.cat(out)


def _restore(model: IntentModel, state: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for name, tensor in model.trained_state().items():
            tensor.copy_(state[name])
