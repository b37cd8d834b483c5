"""One training loop on one process or several: DistributedDataParallel under torchrun (2
processes, gloo on this CPU) gives the model `fine_tune` gives in one process: same labels, weights
within float tolerance, the same predictions."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.cases.datasets import read_cases
from engine.learning import processes
from engine.learning.train import TrainOptions, fine_tune
from engine.nlu.encoder import load_encoder
from engine.nlu.intent import IntentModel

ROOT = Path(__file__).resolve().parents[2]  # the repository: `-m engine...` runs from there
INTENTS = ("track_order", "cancel_order", "get_refund", "recover_password", "delivery_options")


def _run(command: list[str], tmp_path: Path) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_batch_split_over_processes_is_the_whole_batch():
    """Each process's share, weighted, averages (as DDP averages gradients) to the mean over the
    whole batch, also when the shares differ in size or one process gets no example."""
    losses = torch.arange(1.0, 8.0) ** 2
    for batch, size in ((torch.arange(7), 2), (torch.arange(7), 3), (torch.arange(1), 2),
                        (torch.arange(4), 4)):
        shares = [processes.share(batch, processes.World(rank, size)) for rank in range(size)]
        assert all(len(mine) for mine, _ in shares)  # every process takes the step
        taken = sorted(int(i) for mine, weight in shares if weight for i in mine)
        assert taken == batch.tolist()  # each example once, none twice
        averaged = sum(losses[mine].mean() * weight for mine, weight in shares) / size
        assert averaged.item() == pytest.approx(losses[batch].mean().item())
    alone, weight = processes.share(torch.arange(5), processes.World())
    assert alone.tolist() == list(range(5)) and weight == 1.0


@pytest.mark.slow
def test_two_processes_match_one(shared_data: Path, tmp_path: Path):
    rows = [c for c in read_cases(shared_data / "bitext" / "bitext_8k_customer_service_sample.csv")
            if c.intent in INTENTS]
    random.Random(2).shuffle(rows)
    # 22 of each, 19 of the last: 97 training examples after the carved validation, so each
    # epoch ends on a batch of one that the second process has no share of
    counts = dict.fromkeys(INTENTS, 22) | {INTENTS[-1]: 19}
    train = [c for i in INTENTS for c in [r for r in rows if r.intent == i][: counts[i]]]
    check = [c for c in rows if c not in train][:60]
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"id": c.id, "text": c.text, "intent": c.intent}) + "\n"
                            for c in train))
    common = ["-m", "engine.learning.distributed", "--data", str(data), "--epochs", "2",
              "--batch-size", "16", "--layers", "1", "--lr", "3e-4", "--no-dropout"]
    one = _run([sys.executable, *common, "--out", str(tmp_path / "one")], tmp_path)
    two = _run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node=2", *common, "--out", str(tmp_path / "two")], tmp_path)
    assert two.count("saved ") == 1 and "(rank 0 of 2)" in two  # only rank 0 wrote
    assert json.loads(one.splitlines()[-1])["processes"] == 1
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["config.json",
                                                                   "model.safetensors"]
    assert not list(tmp_path.glob("*.partial"))

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the runs above (OMP_NUM_THREADS=1): the same float sums
    try:
        fine_tune(train, tmp_path / "direct", TrainOptions(
            epochs=2, batch_size=16, lr=3e-4, trainable_layers=1, dropout=False))
    finally:
        torch.set_num_threads(threads)
    a, b, direct = (IntentModel.load(tmp_path / n).trained_state()  # int8 changes applied
                    for n in ("one", "two", "direct"))
    assert set(direct) == set(a)  # the command is fine_tune, the same steps on one process
    assert all(torch.allclose(direct[n], a[n], atol=1e-5) for n in a)
    assert set(a) == set(b)
    pretrained = {f"encoder.layer.5.{k}": v for k, v in
                  load_encoder().encoder.layer[5].state_dict().items()}
    layer = sorted(pretrained)  # the two runs differ far less than either moved from the start
    moved = torch.cat([(a[n].float() - pretrained[n]).flatten() for n in layer]).norm()
    apart = torch.cat([(a[n].float() - b[n].float()).flatten() for n in layer]).norm()
    assert apart < 0.05 * moved, (apart, moved)
    for name in ("head.weight", "head.bias"):
        assert torch.allclose(a[name], b[name], atol=1e-3), name
    first, second = IntentModel.load(tmp_path / "one"), IntentModel.load(tmp_path / "two")
    assert first.labels == second.labels == sorted(INTENTS)
    assert second.config.training["processes"] == 2
    assert second.config.training["backend"] == "gloo"
    assert abs(first.config.temperature - second.config.temperature) < 0.02
    texts = [c.text for c in check]
    p1, p2 = first.probabilities(texts), second.probabilities(texts)
    assert (p1 - p2).abs().max().item() < 0.02
    assert (p1.argmax(-1) == p2.argmax(-1)).float().mean().item() >= 0.98
    gold = torch.tensor([first.labels.index(c.intent) for c in check])
    assert (p2.argmax(-1) == gold).float().mean().item() >= 0.8  # and it learned something
