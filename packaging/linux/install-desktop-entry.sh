#!/usr/bin/env bash
# Adds Frontdesk to the desktop's application menu for this user, pointing at this bundle folder
# (run it from the unpacked bundle: ./install-desktop-entry.sh). Removes nothing else.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$data/applications" "$data/icons/hicolor/scalable/apps" "$data/icons/hicolor/256x256/apps" \
         "$data/metainfo"
sed "s|^Exec=frontdesk|Exec=\"$here/frontdesk\"|" "$here/io.frontdesk.Frontdesk.desktop" \
  > "$data/applications/io.frontdesk.Frontdesk.desktop"
cp "$here/io.frontdesk.Frontdesk.svg" "$data/icons/hicolor/scalable/apps/"
cp "$here/io.frontdesk.Frontdesk.png" "$data/icons/hicolor/256x256/apps/"
cp "$here/io.frontdesk.Frontdesk.metainfo.xml" "$data/metainfo/"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "Frontdesk is in the application menu (entry: $data/applications/io.frontdesk.Frontdesk.desktop)."
