"""The desktop bundle (`make bundle`, packaging/bundle.sh): the built app answers through its own
`frontdesk ask`, shows its window, and says what it bundles. Skipped until the bundle is built
(it takes ~10 min and several GB of disk, so `make test` and CI do not build it).

The bundle has the CPU torch and no torchvision; the test that always runs checks that the
answer path (typed and screenshot turns) never imports torchvision, which the bundle relies on.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the repository (this file is two below it)
BUNDLE = Path(os.environ.get("FRONTDESK_BUNDLE", ROOT / "dist" / "frontdesk"))
APP = BUNDLE / "frontdesk"
TYPED = "my parcel for order 48213 never came"

needs_bundle = pytest.mark.skipif(
    not APP.exists(), reason=f"the bundle has not been built ({APP}): run `make bundle`"
)


def _bundle_env(tmp_path: Path) -> dict[str, str]:
    """The user's environment, less anything that would let the bundle use the dev venv."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env["PATH"] = "/usr/bin:/bin"
    env["FRONTDESK_CACHE"] = str(tmp_path / "cache")
    return env


def _run(args: list[str], env: dict[str, str], timeout: int = 300):
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


# Runs first in the child: every import finder is wrapped so that torchvision is not found at
# all, as in the bundle (transformers then takes it for absent, as it does there).
HIDE_TORCHVISION = """
import sys

class Hidden:
    def __init__(self, inner):
        self.inner = inner

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "torchvision":
            return None
        return self.inner.find_spec(name, path, target)

    def __getattr__(self, name):  # find_distributions, invalidate_caches: as the inner one
        return getattr(self.inner, name)

sys.meta_path[:] = [Hidden(f) if hasattr(f, "find_spec") else f for f in sys.meta_path]
"""


@pytest.mark.slow
def test_typed_and_screenshot_turns_need_no_torchvision(tmp_path: Path, declined_screenshot):
    """The bundle leaves torchvision out (its wheel here needs the CUDA torch): a typed turn and
    a screenshot turn through `frontdesk ask` must work without it."""
    home = str(tmp_path / "home")
    script = HIDE_TORCHVISION + (
        "from engine.cli import main\n"
        f"codes = [main(['--home', {home!r}, 'ask', '--json', {TYPED!r}]),\n"
        f"         main(['--home', {home!r}, 'ask', '--json', '--image', "
        f"{str(declined_screenshot)!r}])]\n"
        "assert 'torchvision' not in sys.modules\n"
        "sys.exit(max(codes))\n"
    )
    done = _run([sys.executable, "-c", script], dict(os.environ))
    assert done.returncode == 0, done.stderr
    typed, shot = (json.loads(line) for line in done.stdout.strip().splitlines())
    assert typed["draft"] and shot["intent"] == "payment_issue"


@pytest.mark.slow
@needs_bundle
def test_the_bundle_answers_a_typed_and_a_screenshot_turn(tmp_path: Path,
                                                          declined_screenshot: Path):
    env = _bundle_env(tmp_path)
    home = str(tmp_path / "home")
    typed = _run([str(APP), "--home", home, "ask", "--json", TYPED], env)
    assert typed.returncode == 0, typed.stderr
    reply = json.loads(typed.stdout)
    assert reply["draft"] and 0 <= reply["confidence"] <= 1
    assert any(e["type"] == "order_number" and e["value"] == "48213" for e in reply["entities"])

    shot = _run([str(APP), "--home", home, "ask", "--json", "--image",
                 str(declined_screenshot)], env)
    assert shot.returncode == 0, shot.stderr
    reply = json.loads(shot.stdout)
    assert reply["intent"] == "payment_issue" and reply["evidence"]["boxes"]


@pytest.mark.slow
@needs_bundle
def test_the_bundle_opens_its_window_and_says_its_version(tmp_path: Path) -> None:
    env = _bundle_env(tmp_path)
    version = _run([str(APP), "--version"], env, timeout=120)
    from importlib import metadata

    assert version.stdout.strip() == f"frontdesk {metadata.version('frontdesk')}"
    env.update(QT_QPA_PLATFORM="offscreen", FRONTDESK_HOME=str(tmp_path / "home"))
    shown = _run([str(APP), "--check"], env)
    assert shown.returncode == 0, shown.stderr
    assert "frontdesk: window shown on offscreen" in shown.stdout
    xvfb = shutil.which("xvfb-run")
    if xvfb:  # the bundle's own xcb plugin on an X server
        env.update(QT_QPA_PLATFORM="xcb")
        on_x = _run([xvfb, "-a", str(APP), "--check"], env)
        assert on_x.returncode == 0, on_x.stderr
        assert "frontdesk: window shown on xcb" in on_x.stdout


@needs_bundle
def test_the_bundle_lists_its_weights_and_licenses_and_has_its_menu_entry() -> None:
    licenses = (BUNDLE / "BUNDLED-LICENSES.md").read_text(encoding="utf-8")
    for weights in ("all-MiniLM-L6-v2", "Whisper tiny.en", "PP-OCR", "Silero VAD",
                    "assets/models/default", "assets/models/fused"):
        assert weights in licenses
    assert "| torch | 2." in licenses and "+cpu" in licenses  # the CPU build, as it says
    internal = BUNDLE / "_internal"
    assert (internal / "assets" / "models" / "default" / "model.safetensors").exists()
    assert not (internal / "torchvision").exists() and not (internal / "nvidia").exists()
    for name in ("io.frontdesk.Frontdesk.desktop", "io.frontdesk.Frontdesk.svg",
                 "io.frontdesk.Frontdesk.metainfo.xml", "install-desktop-entry.sh"):
        assert (BUNDLE / name).exists(), name


@pytest.mark.slow
@needs_bundle
def test_the_bundles_own_assistant_process_answers_a_turn(tmp_path: Path, monkeypatch) -> None:
    """The window's Assistant runs in a child the frozen app starts as itself with
    `--frontdesk-assistant-process` (engine.child): the built app, not this interpreter, loads
    the models and answers; the turn is in the store."""
    from engine.assistant_process import ASSISTANT_PROCESS_ARG, ProcessAssistant
    from engine.store.database import Store
    from engine.types import Turn

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(APP))
    for key in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    assistant = ProcessAssistant(home, device="cpu")
    try:
        cmdline = Path(f"/proc/{assistant.pid}/cmdline").read_text().split("\0")
        assert cmdline[:2] == [str(APP), ASSISTANT_PROCESS_ARG]
        session = assistant.new_session()
        turn = Turn(text=TYPED)
        reply = assistant.respond(session, turn)
        assert reply.intent == "track_order" and turn.id == reply.turn_id is not None
    finally:
        assistant.close()
    with Store.open(home) as store:
        assert [row["text"] for row in store.turns(session)] == [TYPED]
