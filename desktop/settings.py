"""The window's own choices (device, Whisper model, microphone, folders), kept beside the data.

A small JSON file in the data folder rather than QSettings, so a test's temporary data folder
holds everything and the user's real settings are never touched by a test run.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path

log = logging.getLogger("frontdesk.desktop")

DEVICES = ("auto", "cpu", "cuda")
WHISPER_MODELS = ("tiny.en", "base")


@dataclass
class DesktopSettings:
    """What the Settings dialog edits; empty strings mean "the default"."""

    device: str = "auto"
    whisper_model: str = "tiny.en"
    microphone: str = ""
    knowledge_dir: str = ""
    data_dir: str = ""
    welcomed: str = ""  # "yes" once the first launch's notice was shown (widgets/first_run.py)

    @staticmethod
    def file(home: Path) -> Path:
        return home / "desktop_settings.json"

    @classmethod
    def load(cls, home: Path) -> DesktopSettings:
        """Read the settings; a missing or damaged file gives the defaults (and a log line)."""
        path = cls.file(home)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as err:
            log.warning("ignoring unreadable settings %s: %s", path, err)
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: str(v) for k, v in raw.items() if k in known})

    def save(self, home: Path) -> None:
        """Write the settings; raises OSError when the data folder is read-only."""
        self.file(home).write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
