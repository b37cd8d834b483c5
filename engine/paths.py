"""Where Frontdesk keeps things: the user's data folder and the shipped assets."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs

from engine.errors import InputError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SHARED_DATA = ASSETS.parent.parent / "shared" / "data"  # the public datasets, beside a checkout
APP_NAME = "frontdesk"


def home(override: str | os.PathLike[str] | None = None) -> Path:
    """The data folder: `override`, else $FRONTDESK_HOME, else the platform's user data dir."""
    chosen = override or os.environ.get("FRONTDESK_HOME")
    path = Path(chosen).expanduser() if chosen else Path(platformdirs.user_data_dir(APP_NAME))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        raise InputError(f"The data folder {path} is a file (or lies inside one), not a "
                         "folder; point --home or $FRONTDESK_HOME at a folder.") from err
    except OSError as err:
        raise InputError(f"Cannot create the data folder {path}: {err.strerror or err}.") from err
    return path


def database(home_dir: Path) -> Path:
    """The session store inside a data folder."""
    return home_dir / "frontdesk.db"


def models_dir(home_dir: Path) -> Path:
    """Trained model versions inside a data folder."""
    return home_dir / "models"


def cache_dir(home_dir: Path) -> Path:
    """Derived files (converted checkpoints, joined model parts) inside a data folder."""
    path = home_dir / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_cache() -> Path:
    """Files derived from installed packages, the same for every data folder (the unpacked
    mpnet base): $FRONTDESK_CACHE, else the platform's user cache dir."""
    chosen = os.environ.get("FRONTDESK_CACHE")
    path = Path(chosen).expanduser() if chosen else Path(platformdirs.user_cache_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_data() -> Path | None:
    """The public datasets folder ($FRONTDESK_SHARED_DATA or ../shared/data), if present."""
    chosen = os.environ.get("FRONTDESK_SHARED_DATA")
    folder = Path(chosen) if chosen else SHARED_DATA
    return folder if folder.is_dir() else None


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in 4 MB blocks (model files run to hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        for block in iter(lambda: src.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()
