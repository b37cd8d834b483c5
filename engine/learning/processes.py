"""Which training process this is, and how the processes agree: the data-parallel part of the one
training loop (engine.learning.train), as in nanoGPT's train.py.

Run bare, a training is one process and every function here is a no-op. Under torchrun (RANK,
WORLD_SIZE and LOCAL_RANK in the environment) the processes join one group (gloo on CPU, nccl on
CUDA), the trained part is wrapped in DistributedDataParallel (Li et al. 2020), stopping early is
decided by all of them together, and only rank 0 writes while the others wait at a barrier.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    size: int = 1
    local: int = 0  # rank on this machine: the GPU it trains on
    launched: bool = False  # started by torchrun (even a single process)

    @property
    def parallel(self) -> bool:
        return self.size > 1

    @property
    def backend(self) -> str | None:
        return dist.get_backend() if dist.is_initialized() else None


def world() -> World:
    """The process's place from torchrun's environment; one process alone without it."""
    env = os.environ
    return World(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)),
                 int(env.get("LOCAL_RANK", 0)), "WORLD_SIZE" in env)


def join(place: World) -> torch.device | None:
    """Join the process group when there are several processes; the device to train on under
    torchrun (its GPU, or the CPU), None when run bare (the model stays where it is)."""
    cuda = torch.cuda.is_available()
    if cuda and place.launched:
        torch.cuda.set_device(place.local)  # nccl's collectives run on the current GPU
    if place.parallel and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    if not place.launched:
        return None
    return torch.device(f"cuda:{place.local}" if cuda else "cpu")


def wrap(part: torch.nn.Module, place: World) -> torch.nn.Module:
    """The trained part as DDP runs it (gradients averaged over the processes in backward)."""
    if not place.parallel:
        return part
    device = next(part.parameters()).device
    return DistributedDataParallel(part, device_ids=[device.index] if device.type == "cuda"
                                   else None)


def any_rank(flag: bool, place: World) -> bool:
    """Whether `flag` holds on any process: a decision to stop that every process then takes
    (one process leaving the loop alone would leave the others waiting for it)."""
    if not place.parallel:
        return flag
    vote = torch.tensor([float(flag)],
                        device="cuda" if dist.get_backend() == "nccl" else "cpu")
    dist.all_reduce(vote, op=dist.ReduceOp.MAX)
    return bool(vote.item())


def on_rank_zero(write: Callable[[], None], place: World) -> None:
    """Run `write` on rank 0 alone; the others wait until it has finished."""
    if place.rank == 0:
        write()
    if place.parallel:
        dist.barrier()


def leave() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_initialized():
        dist.destroy_process_group()


def share(batch: torch.Tensor, place: World) -> tuple[torch.Tensor, float]:
    """This process's share of a batch, and the weight of its mean loss that makes DDP's average
    over the processes the mean over the whole batch (shares may differ by one), so a step is
    the step one process would take. Every process must take every step: one left without an
    example takes the first at weight 0."""
    if not place.parallel:
        return batch, 1.0
    mine = batch[place.rank :: place.size]
    if not len(mine):
        return batch[:1], 0.0
    return mine, len(mine) * place.size / len(batch)
