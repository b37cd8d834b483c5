#!/usr/bin/env bash
# Installs the Debian/Ubuntu libraries Frontdesk needs when they are missing:
# PortAudio for sounddevice, and what Qt needs to draw (also offscreen). Fonts for rendering text.
# strace for the test that no command opens a socket beyond this machine (tests/test_network.py).
# Run as root it installs them; otherwise it says what to install and carries on.
set -euo pipefail
pkgs=(libportaudio2 libegl1 libgl1 libopengl0 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1
      libdbus-1-3 libglib2.0-0 fonts-dejavu-core strace)
command -v dpkg-query >/dev/null 2>&1 || { echo "system-deps: not a Debian system; install PortAudio and Qt's libraries (EGL, GL, xkbcommon, fontconfig) yourself." >&2; exit 0; }
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "system-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "system-deps: missing Debian packages: ${missing[*]}" >&2
  echo "system-deps: run: sudo apt-get install ${missing[*]}" >&2
fi
