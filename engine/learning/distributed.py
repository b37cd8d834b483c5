"""Train the intent model on several processes (DistributedDataParallel under torchrun) or one.

    torchrun --standalone --nproc_per_node=2 -m engine.learning.distributed --data team.jsonl \
        --out m2
    python -m engine.learning.distributed --data team.jsonl --out m1   # the same loop, one process

This is only the command: the loop is engine.learning.train.fine_tune, which reads its rank and
the number of processes from torchrun's environment (engine.learning.processes). Each process
trains on its share of every batch and DDP averages the gradients, so the global batch is the one
a single process takes; only rank 0 writes the model folder. With `--no-dropout` a 2-process run
matches the 1-process run up to float summation order (tests/learning/test_distributed.py).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

from engine.cases.datasets import read_many
from engine.learning import processes
from engine.learning.train import TrainOptions, fine_tune


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
                           heads_only=args.heads_only, dropout=not args.no_dropout)
    place = processes.world()
    try:
        model = fine_tune(read_many(args.data), args.out, options, start_from=args.start_from,
                          val_cases=read_many(args.val) if args.val else None)
    finally:
        processes.leave()
    if place.rank == 0:
        print(f"saved {model.version} to {args.out} (rank 0 of {place.size})")
        print(json.dumps({"labels": len(model.labels), **{
            k: model.config.training[k] for k in ("best_epoch", "processes", "seconds")}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
