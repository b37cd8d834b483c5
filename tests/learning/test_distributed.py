"""DistributedDataParallel under torchrun (2 processes, gloo on this CPU) gives the model a single
process gives: same labels, weights within float tolerance, the same predictions."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from engine.cases.datasets import read_cases
from engine.nlu.encoder import load_encoder
from engine.nlu.intent import IntentModel

ROOT = Path(__file__).resolve().parent.parent
INTENTS = ("track_order", "cancel_order", "get_refund", "recover_password", "delivery_options")


def _run(command: list[str], tmp_path: Path) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_two_processes_match_one(shared_data: Path, tmp_path: Path):
    rows = [c for c in read_cases(shared_data / "bitext" / "bitext_8k_customer_service_sample.csv")
            if c.intent in INTENTS]
    random.Random(2).shuffle(rows)
    train = [c for i in INTENTS for c in [r for r in rows if r.intent == i][:22]]
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

    a, b = (load_file(str(tmp_path / n / "model.safetensors")) for n in ("one", "two"))
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
