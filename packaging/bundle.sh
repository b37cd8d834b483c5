#!/usr/bin/env bash
# `make bundle`: the CPU desktop bundle, built by PyInstaller 6 in its own venv (build/bundle-venv)
# with the CPU build of torch, so none of the CUDA libraries of the development venv come along.
# Result: dist/frontdesk/ (run dist/frontdesk/frontdesk; install-desktop-entry.sh adds the menu
# entry), and with --archive also dist/frontdesk-VERSION-linux-x86_64.tar.gz.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=build/bundle-venv
PY=${PY:-python3}
# A CPU torch wheel: our machines keep one on local disk; elsewhere point TORCH_CPU_WHEEL at one.
TORCH_CPU_WHEEL=${TORCH_CPU_WHEEL:-$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | sort | tail -1)}
if [ ! -f "$VENV/.ready" ]; then
  [ -n "$TORCH_CPU_WHEEL" ] || {
    echo "bundle: no CPU torch wheel found; set TORCH_CPU_WHEEL=/path/to/torch-...+cpu-...whl" >&2
    exit 2
  }
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "$TORCH_CPU_WHEEL" . "pyinstaller>=6,<7" \
    "pyinstaller-hooks-contrib>=2025.1"
  # torchvision's wheel here is built against CUDA torch and does not load on the CPU build;
  # triton is openai-whisper's GPU kernels. The app runs without both (BUNDLED-LICENSES.md).
  "$VENV/bin/python" -m pip uninstall -y -q torchvision triton
  touch "$VENV/.ready"
fi
# this checkout's code; setuptools builds through build/lib and keeps what it finds there, so a
# module since moved or removed would come along (and PyInstaller would try to import it)
rm -rf build/lib build/bdist.*
"$VENV/bin/python" -m pip install -q --no-deps --force-reinstall .
"$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath dist \
  --workpath build/pyinstaller packaging/frontdesk.spec
out=dist/frontdesk
cp packaging/linux/* packaging/BUNDLED-LICENSES.md "$out/"
"$VENV/bin/python" - "$out/BUNDLED-LICENSES.md" <<'PYEOF'
"""Append each bundled Python package's name, version and declared license."""
import sys
from importlib import metadata

rows = []
for dist in metadata.distributions():
    meta = dist.metadata
    lic = meta.get("License-Expression") or ""
    if not lic:
        classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or []
                       if c.startswith("License ::")]
        lic = "; ".join(classifiers) or (meta.get("License") or "").splitlines()[0:1]
        lic = lic if isinstance(lic, str) else "".join(lic)
    rows.append((meta["Name"], dist.version, (lic or "see the package").strip()[:80]))
with open(sys.argv[1], "a", encoding="utf-8") as out:
    out.write("\n| package | version | license |\n|---|---|---|\n")
    for name, version, lic in sorted(set(rows), key=lambda r: r[0].lower()):
        if name.lower() not in {"pip", "pyinstaller", "pyinstaller-hooks-contrib", "altgraph",
                                "setuptools"}:
            out.write(f"| {name} | {version} | {lic} |\n")
PYEOF
du -sh "$out"
if [ "${1:-}" = "--archive" ]; then
  version=$("$out/frontdesk" --version | cut -d' ' -f2)
  tar -C dist -czf "dist/frontdesk-$version-linux-x86_64.tar.gz" frontdesk
  ls -lh "dist/frontdesk-$version-linux-x86_64.tar.gz"
fi
