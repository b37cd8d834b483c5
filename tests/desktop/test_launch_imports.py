"""What the store's loader does before the first heavy import at launch (issue 14, item 8): PySide6
stops reading the source of every module imported after it, and pandas' extension modules (which
sqlite-utils imports) are loaded with the GIL released. Each runs in a fresh interpreter: both
act on a process once, as the app's first loader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCAN = """
import inspect, json, sys
from PySide6.QtWidgets import QApplication, QLabel
from desktop.loaders import skip_pyside_source_scan

app = QApplication([])
feature = sys.modules["PySide6.support.feature"]
read = []
findsource = inspect.findsource
inspect.findsource = lambda obj: (read.append(getattr(obj, "__name__", "?")), findsource(obj))[1]
import xml.dom.minidom  # read by PySide6 before the switch
before = list(read)
patched = skip_pyside_source_scan()
read.clear()
import xmlrpc.client
from desktop.widgets import banner
label = QLabel("still Qt as usual")
label.setText(label.text().upper())
print(json.dumps({"patched": patched, "before": before, "after": read,
                  "flags": {m: feature.pyside_feature_dict.get(m) for m in
                            ("xmlrpc", "desktop.widgets")},
                  "label": label.text()}))
"""

PANDAS = """
import json, sys
from desktop.native_preload import PANDAS, preload
loaded = preload(PANDAS)
import pandas, pandas._libs.lib
print(json.dumps({"loaded": loaded, "lib": pandas._libs.lib.__file__,
                  "frame": int(pandas.DataFrame({"a": [1, 2]})["a"].sum())}))
"""


def run(code: str) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("FRONTDESK_NATIVE_PRELOAD", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_pyside_no_longer_reads_every_imported_modules_source():
    result = run(SCAN)
    assert result["before"], result  # PySide6 read xml.dom.minidom's source on import
    assert result["patched"] and result["after"] == [], result  # and nothing once switched off
    # (PySide6 notes what an import statement returns: the top package, or the one imported
    # from) ours keeps PySide's default (no feature), any other is "ignore this module"
    assert result["flags"] == {"xmlrpc": -1, "desktop.widgets": 0}
    assert result["label"] == "STILL QT AS USUAL"


def test_pandas_extension_modules_are_preloaded_before_the_store_imports_them():
    result = run(PANDAS)
    assert len(result["loaded"]) >= 20 and result["lib"] in result["loaded"], result
    assert result["frame"] == 3
