"""Nothing leaves the machine: the CLI's answer paths open no socket beyond this host.

The commands run under `strace -f -e trace=network`, which sees every thread and compiled
library (onnxruntime's 1DS telemetry looked up mobile.events.data.microsoft.com about 10 s after
its first session, from C++: a Python-level socket hook would not see it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "tests" / "data" / "audio" / "refund_order.wav"
QUIET_S = 13  # onnxruntime's telemetry went out ~10 s after its first session

# One process runs the CLI's commands one after another (as the console script `frontdesk` does,
# through engine.cli.main), then stays alive until QUIET_S after the first onnxruntime session.
DRIVER = f"""
import sys, time
from engine.cli import main

home, image, audio = sys.argv[1:4]
runs = [
    ["ask", "--json", "my parcel never arrived, order 55231"],
    ["ask", "--json", "--image", image],  # RapidOCR: onnxruntime
    ["ask", "--json", "--audio", audio],  # faster-whisper with Silero VAD: onnxruntime
    ["transcribe", "--json", audio],
    ["transcribe", "--json", "--backend", "openai-whisper", audio],
]
first_onnx = None
for argv in runs:
    code = main(["--home", home, *argv])
    print("rc", code, *argv[:3], file=sys.stderr, flush=True)
    if code:
        sys.exit(code)
    first_onnx = first_onnx or (time.monotonic() if "--image" in argv else None)
time.sleep(max(0.0, {QUIET_S} - (time.monotonic() - first_onnx)))
"""

_CALL = re.compile(r"\b(connect|bind|sendto|sendmsg)\((.*)")
_ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')


def outside_calls(trace: str) -> list[str]:
    """strace lines that reach (or listen on) an address beyond the loopback interface."""
    found = []
    for line in trace.splitlines():
        call = _CALL.search(line)
        if call is None or "sa_family=AF_INET" not in call.group(2):
            continue  # AF_UNIX, AF_NETLINK, or a connected socket's send (its connect is seen)
        addresses = [a or b for a, b in _ADDRESS.findall(call.group(2))]
        if not addresses or not all(_loopback(a) for a in addresses):
            found.append(line.strip())
    return found


def _loopback(address: str) -> bool:
    return address.startswith(("127.", "::ffff:127.")) or address == "::1"


def _strace() -> str:
    """The strace binary, or skip saying why it cannot be used here."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed (packaging/system-deps.sh installs it)")
    probe = subprocess.run([strace, "-f", "-e", "trace=network", "-o", "/dev/null", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"strace cannot trace here (ptrace not permitted?): {probe.stderr.strip()}")
    return strace


# Recorded with strace before the fix (onnxruntime 1.32, after `ask --image`), and a local probe.
DNS_LOOKUP = ('12317 connect(12, {sa_family=AF_INET, sin_port=htons(53), '
              'sin_addr=inet_addr("10.255.255.53")}, 16 <unfinished ...>')
LOCAL_PROBE = ('9993  bind(6, {sa_family=AF_INET6, sin6_port=htons(0), sin6_flowinfo=htonl(0), '
               'inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0')


def test_outside_calls_tells_a_lookup_from_local_sockets() -> None:
    unix = '5 connect(3, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1'
    assert outside_calls("\n".join([unix, LOCAL_PROBE, DNS_LOOKUP])) == [DNS_LOOKUP]
    listening = LOCAL_PROBE.replace('"::1"', '"::"')
    assert outside_calls(listening) == [listening]


@pytest.mark.slow
def test_ask_and_transcribe_open_no_outside_socket(
    home: Path, declined_screenshot: Path, tmp_path: Path
) -> None:
    trace = tmp_path / "network.trace"
    done = subprocess.run(
        [_strace(), "-f", "-e", "trace=network", "-o", str(trace),
         sys.executable, "-c", DRIVER, str(home), str(declined_screenshot), str(RECORDING)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == 5 and "refund" in answers[2]["evidence"]["transcript"].lower()
    assert outside_calls(trace.read_text(errors="replace")) == []
