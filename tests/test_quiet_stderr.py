"""The CLI's stderr is for the user's errors: a screenshot turn prints nothing there (issue 15
item 9; it printed torch's `torch.jit.script` FutureWarning, raised while torch_geometric
imports). Fresh processes, so the imports really happen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **env}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=600)


def test_the_graph_modules_import_without_a_warning() -> None:
    """Any FutureWarning raised while importing them is an error here."""
    done = _run(["-W", "error::FutureWarning", "-c",
                 "import engine.fusion.graph, engine.fusion.model, engine.fusion.reader"])
    assert done.returncode == 0 and done.stderr == "", done.stderr


@pytest.mark.slow  # a fresh process loads OCR, MiniLM and the fused model (about 20 s of CPU)
def test_a_screenshot_turn_leaves_stderr_empty(tmp_path: Path, store_screenshot: Path) -> None:
    done = _run(["-m", "engine", "--home", str(tmp_path / "home"), "ask",
                 "what does this error mean?", "--image", str(store_screenshot)])
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("intent")
