#!/usr/bin/env bash
# Installs the Debian/Ubuntu libraries Frontdesk needs when they are missing:
# PortAudio for sounddevice, and what Qt needs to draw (also offscreen). Fonts for rendering text.
# strace for the test that no command opens a socket beyond this machine (tests/test_network.py).
# Run as root it installs them; otherwise it says what to install and carries on.
set -euo pipefail
pkgs=(libportaudio2 libegl1 libgl1 libopengl0 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1
      libdbus-1-3 libglib2.0-0 fonts-dejavu-core strace)
# Synthetic screens (engine.vision.render, render_styles) draw in DejaVu faces: Condensed,
# ExtraLight, Oblique and Serif Condensed come with -extra, not -core.
pkgs+=(fonts-dejavu-extra)
# A desktop session: Qt's xcb platform plugin (libqxcb.so, libQt6XcbQpa) links these, and loads
# libxcb-cursor at run time (Qt >= 6.5 refuses xcb without it); Wayland's two for libqwayland.
# Check: `ldd .venv/lib/python3*/site-packages/PySide6/Qt/plugins/platforms/libqxcb.so`.
pkgs+=(libx11-xcb1 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xinerama0
       libxcb-cursor0 libxcb-shape0 libxcb-xkb1 libxcb-randr0 libxcb-xfixes0 libxcb-sync1
       libxcb-shm0 libwayland-cursor0 libwayland-egl1)
# The test that starts the real window on a real X server (tests/desktop/test_xcb.py): Xvfb.
pkgs+=(xvfb xauth)
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
