"""Library telemetry off before any library starts: nothing the desk handles leaves the machine.

onnxruntime (RapidOCR's OCR in engine.vision.ocr, faster-whisper's Silero VAD in the speech path)
ships Microsoft's 1DS telemetry, on by default on Linux: about 10 s after its first session it
looks up mobile.events.data.microsoft.com. `ORT_DISABLE_TELEMETRY=1` stops its uploader, but only
when set before onnxruntime is imported (strace: set after the import, or with
`onnxruntime.disable_telemetry_events()` alone, the DNS lookup still happens). `engine/__init__`
imports this module, so every path into the engine (CLI, window, bench) sets it first.
"""

from __future__ import annotations

import logging
import os
import sys

os.environ["ORT_DISABLE_TELEMETRY"] = "1"
if "onnxruntime" in sys.modules:  # loaded before the engine: its uploader may already be set up
    logging.getLogger(__name__).warning(
        "onnxruntime was imported before the engine; its telemetry may stay on "
        "(import engine first, or set ORT_DISABLE_TELEMETRY=1)")
    sys.modules["onnxruntime"].disable_telemetry_events()
