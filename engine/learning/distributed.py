"""The intent model's fine-tuning on several processes: DistributedDataParallel under torchrun.

    torchrun --standalone --nproc_per_node=2 -m engine.learning.distributed --data team.jsonl --out
    m2
    python -m engine.learning.distributed --data team.jsonl --out m1     # the same loop, one
    # process

The loop is engine.learning.train.fine_tune's (frozen layers cached once, AdamW with linear warm-up
and
decay, best validation epoch kept, temperature + out-of-scope threshold calibration, atomic
`.partial` write), with three changes for data parallelism (Li et al. 2020, "PyTorch
Distributed: Experiences on Accelerating Data Parallel Training"):
- a DistributedSampler deals each epoch's seeded permutation out to the ranks, each taking
  `batch_size / world` examples a step, so the global batch, and with it the averaged gradient
  DDP all-reduces, is the one a single process would compute;
- the trained part (top layers + head) is wrapped in DDP; gloo on CPU, nccl on CUDA GPUs;
- only rank 0 writes the model folder; the others wait at a barrier.
Every rank runs the frozen lower layers over all texts (that pass is not split); the trained
passes, most of the time with trained layers, are. With `dropout=False` a 2-process run matches
the 1-process run up to float summation order (tests/learning/test_distributed.py).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from engine.cases.datasets import Case, read_many
from engine.cases.splits import validation_split
from engine.learning.train import (
    TrainOptions,
    _frozen_states,
    _pad,
    _restore,
    _save_atomically,
    _start_model,
    fit_calibration,
)
from engine.model_folder import check_output
from engine.nlu.intent import IntentModel


class TrainedPart(torch.nn.Module):
    """The top layers and the head: what DDP wraps and synchronises (frozen layers are not)."""

    def __init__(self, model: IntentModel, whole: bool) -> None:
        super().__init__()
        self.model_ref = [model]  # a list, so the whole encoder is not registered here
        self.layers = torch.nn.ModuleList(
            [] if whole else list(model.bert.encoder.layer[model.frozen_layers :]))
        self.head = model.head

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        model = self.model_ref[0]
        if len(self.layers):
            hidden = model.upper(hidden, mask)
        return model.classify(hidden, mask)


def world() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment; (0, 1, 0) without it."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))


def train(cases: list[Case], out: Path, options: TrainOptions | None = None,
          start_from: Path | None = None, val_cases: list[Case] | None = None,
          dropout: bool = True) -> IntentModel:
    """Fine-tune on this process's share of every step; rank 0 saves to `out`."""
    opts = options or TrainOptions()
    rank, size, local = world()
    parallel = size > 1
    use_cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local}" if use_cuda else "cpu")
    if parallel and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    if opts.batch_size % size:
        raise ValueError(f"batch size {opts.batch_size} does not split over {size} processes")
    torch.manual_seed(opts.seed)
    check_output(out)  # refused before any work, never replaced
    cases, val_cases = validation_split(cases, val_cases, opts.val_fraction, opts.seed,
                                        continuing=False)
    labels = sorted({c.intent for c in cases} | {c.intent for c in val_cases})
    model = _start_model(labels, opts, start_from).to(device)
    index = {label: i for i, label in enumerate(model.labels)}
    started = time.perf_counter()
    whole = opts.heads_only
    train_states = _frozen_states(model, [c.text for c in cases], whole=whole)
    val_states = _frozen_states(model, [c.text for c in val_cases], whole=whole)
    train_y = torch.tensor([index[c.intent] for c in cases], device=device)
    val_y = torch.tensor([index[c.intent] for c in val_cases], device=device)

    model.requires_grad_(False)
    part = TrainedPart(model, whole)
    part.requires_grad_(True)
    net = (DistributedDataParallel(part, device_ids=[local] if use_cuda else None)
           if parallel else part)
    groups = [{"params": list(part.head.parameters()), "lr": opts.head_lr}]
    if len(part.layers):
        groups.insert(0, {"params": list(part.layers.parameters()), "lr": opts.lr})
    optimizer = torch.optim.AdamW(groups, weight_decay=opts.weight_decay)
    per_rank = opts.batch_size // size
    sampler = DistributedSampler(range(len(cases)), num_replicas=size, rank=rank, shuffle=True,
                                 seed=opts.seed)
    steps_per_epoch = (len(sampler) + per_rank - 1) // per_rank
    total = steps_per_epoch * opts.epochs
    warm = max(1, int(total * opts.warmup))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    best = {"accuracy": -1.0, "loss": float("inf"), "epoch": 0, "state": None}
    history = []

    for epoch in range(1, opts.epochs + 1):
        model.train(dropout)
        sampler.set_epoch(epoch)
        order = list(sampler)
        for start in range(0, len(order), per_rank):
            idx = order[start : start + per_rank]
            hidden, mask = _batch([train_states[i] for i in idx], device)
            loss = torch.nn.functional.cross_entropy(net(hidden, mask), train_y[idx])
            optimizer.zero_grad()
            loss.backward()  # DDP averages the gradients of all ranks here
            torch.nn.utils.clip_grad_norm_(part.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
        val_logits = _logits(part, val_states, device)
        val_loss = torch.nn.functional.cross_entropy(val_logits, val_y).item()
        val_acc = (val_logits.argmax(-1) == val_y).float().mean().item()
        history.append({"epoch": epoch, "val_accuracy": round(val_acc, 4),
                        "val_loss": round(val_loss, 4)})
        if rank == 0:
            print(f"epoch {epoch}: validation accuracy {val_acc:.4f}, loss {val_loss:.4f}",
                  flush=True)
        if (val_acc, -val_loss) > (best["accuracy"], -best["loss"]):
            state = {k: v.detach().clone() for k, v in model.trained_state().items()}
            best.update(accuracy=val_acc, loss=val_loss, epoch=epoch, state=state)

    _restore(model, best["state"])
    fit_calibration(model, _logits(part, val_states, device).cpu(), val_y.cpu())
    model.config.training = {
        "options": asdict(opts), "train_examples": len(cases), "val_examples": len(val_cases),
        "best_epoch": best["epoch"], "history": history, "processes": size,
        "backend": dist.get_backend() if parallel else None,
        "seconds": round(time.perf_counter() - started, 1),
        "started_from": str(start_from) if start_from else None,
    }
    if rank == 0:
        _save_atomically(model, Path(out))
        print(f"saved {model.version} to {out} (rank 0 of {size})", flush=True)
    if parallel:
        dist.barrier()
    return model


def _batch(states: list[torch.Tensor], device: torch.device):
    hidden, mask = _pad(states)
    return hidden.to(device), mask.to(device)


@torch.no_grad()
def _logits(part: TrainedPart, states: list[torch.Tensor], device: torch.device,
            batch_size: int = 256) -> torch.Tensor:
    part.model_ref[0].eval()
    return torch.cat([part(*_batch(states[i : i + batch_size], device))
                      for i in range(0, len(states), batch_size)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", type=Path, required=True,
                        help="labelled files (CSV, JSONL cases or exports)")
    parser.add_argument("--val", nargs="+", type=Path, help="validation files (default: carved)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--start-from", type=Path)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32, help="global, over all processes")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads-only", action="store_true")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--head-lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--no-dropout", action="store_true",
                        help="deterministic steps, to compare runs over different process counts")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", 1))))
    options = TrainOptions(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                           head_lr=args.head_lr, seed=args.seed, trainable_layers=args.layers,
                           heads_only=args.heads_only)
    model = train(read_many(args.data), args.out, options, start_from=args.start_from,
                  val_cases=read_many(args.val) if args.val else None,
                  dropout=not args.no_dropout)
    if world()[0] == 0:
        print(json.dumps({"labels": len(model.labels), **{
            k: model.config.training[k] for k in ("best_epoch", "processes", "seconds")}}))
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
