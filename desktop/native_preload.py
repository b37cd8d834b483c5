"""Native libraries loaded with the GIL released, just before the import that needs them.

CPython holds the GIL while an extension module's shared object is dlopen'ed, so the static
initialisers of the libraries behind it run with the UI thread locked out: torch's (operator
registration in libtorch_cpu) froze the window 0.4-0.9 s while the engine thread imported
torch, OpenCV's 0.3 s, CTranslate2's and onnxruntime's 0.1 s each, PyAV's 0.6 s with its files
not cached yet (2-core machine). A call through ctypes to libc's `dlopen` releases the GIL for
its duration, reading the files from disk included. Loading the same files that way first, with
the flags the import itself will use, leaves the import only the module's own init: the dynamic
loader hands the already-loaded object back. A file that is not where it is looked for (another
layout, another platform) is skipped and the import does it as before;
FRONTDESK_NATIVE_PRELOAD=0 turns all of it off (the imports then load everything themselves).
torch and CTranslate2 no longer load in the window's process (engine.assistant_process,
engine.speech.process); what is listed here is what it still imports itself.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import importlib.util
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("frontdesk.desktop")


@dataclass(frozen=True)
class Native:
    """What `package` loads, as paths relative to its folder: its extension `module` (dotted;
    None: none), then `libs` (the package loads them through ctypes, RTLD_LOCAL), then every
    file matching `extensions` (a package made of many extension modules, as an import would
    load them)."""

    package: str
    module: str | None = None
    libs: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()  # glob patterns of more extension modules, loaded last


NUMPY = Native("numpy", "_core._multiarray_umath")  # numpy 2 (with OpenBLAS behind it)
# sqlite-utils imports pandas where it is installed: 45 extension modules, ~0.1 s of dlopen
PANDAS = Native("pandas", extensions=("_libs/*.so", "_libs/*/*.so"))
PYAV = Native("av", "_core")  # audio decoding (kept voice turns), FFmpeg's libraries behind it
ONNXRUNTIME = Native("onnxruntime", "capi.onnxruntime_pybind11_state")  # Silero VAD, RapidOCR
OPENCV = Native("cv2", "cv2")  # RapidOCR
LLVMLITE = Native("llvmlite", libs=("binding/libllvmlite.so",))  # numba, via torch_geometric
# what the screenshot thread loads after the text model (Whisper's, CTranslate2 and the rest,
# load in its own process: engine.speech.process)
AFTER_TEXT_MODEL = (PYAV, ONNXRUNTIME, OPENCV, LLVMLITE)

preloaded: list[str] = []  # the files loaded here, in order (what the loading test reads)
_one_at_a_time = threading.Lock()


def package_folder(package: str) -> Path | None:
    """The folder `package` would be imported from, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def extension_file(folder: Path, module: str) -> Path | None:
    """The shared object of extension `module` (dotted, relative to `folder`), if there."""
    *parents, name = module.split(".")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = Path(folder, *parents, name + suffix)
        if candidate.is_file():
            return candidate
    return None


def _dlopen(path: Path, flags: int) -> bool:
    """libc's dlopen through a ctypes foreign call, which releases the GIL while it runs."""
    libc = ctypes.CDLL(None)
    dlopen, dlerror = libc.dlopen, libc.dlerror
    dlopen.restype, dlopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_int]
    dlerror.restype = ctypes.c_char_p
    if dlopen(os.fsencode(path), flags):
        return True
    reason = dlerror()
    log.info("could not preload %s (%s); the import will load it",
             path, reason.decode(errors="replace") if reason else "unknown")
    return False


def preload(*natives: Native) -> list[str]:
    """Load the shared objects of `natives` (those not imported or preloaded yet) with the GIL
    released; the files loaded. Linux only: elsewhere the imports load them as before."""
    if not sys.platform.startswith("linux") or os.environ.get("FRONTDESK_NATIVE_PRELOAD") == "0":
        return []
    loaded: list[str] = []
    # One thread at a time, and each before its own imports: the dynamic loader's lock is held
    # for the whole of a dlopen, so an extension imported on another loading thread meanwhile
    # would wait for it holding the GIL (a torch preload beside the store's imports froze the
    # UI 0.9-1.2 s). A second loading thread waits here instead, GIL released, and then finds
    # its libraries loaded.
    with _one_at_a_time:
        for native in natives:
            folder = None if native.package in sys.modules else package_folder(native.package)
            if folder is None:  # imported already (nothing left to gain), or not installed
                continue
            extension = extension_file(folder, native.module) if native.module else None
            steps = [(extension, sys.getdlopenflags())] if extension else []
            steps += [(folder / lib, os.RTLD_NOW | os.RTLD_LOCAL) for lib in native.libs]
            steps += [(path, sys.getdlopenflags()) for pattern in native.extensions
                      for path in sorted(folder.glob(pattern))]
            loaded += [str(path) for path, flags in steps
                       if str(path) not in preloaded and path.is_file() and _dlopen(path, flags)]
        preloaded.extend(loaded)
    return loaded
