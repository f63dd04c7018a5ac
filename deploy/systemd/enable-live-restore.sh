#!/usr/bin/env bash
# Turns on Docker's live-restore, so that containers keep running while dockerd restarts (an upgrade,
# a crash); without it every task of the node stops with the engine.
#
#   sudo deploy/systemd/enable-live-restore.sh             edit /etc/docker/daemon.json and reload dockerd
#   deploy/systemd/enable-live-restore.sh --root /tmp/stage  edit the file below a staging root only
#
# The other settings of daemon.json are kept (it is merged with python3 where it already exists).
# dockerd rereads live-restore on SIGHUP: no restart, running containers are untouched.
set -euo pipefail
root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "enable-live-restore.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

file="$root/etc/docker/daemon.json"
mkdir -p "$(dirname "$file")"
if [ ! -s "$file" ]; then
  printf '{\n  "live-restore": true\n}\n' >"$file.tmp"
elif command -v python3 >/dev/null 2>&1; then
  python3 - "$file" <<'PY' || { echo "enable-live-restore.sh: $file is not valid JSON; left as it is" >&2; exit 1; }
import json, sys
path = sys.argv[1]
with open(path) as f:
    settings = json.load(f)
settings["live-restore"] = True
with open(path + ".tmp", "w") as f:
    json.dump(settings, f, indent=2)
    f.write("\n")
PY
else
  echo "enable-live-restore.sh: add \"live-restore\": true to $file by hand (editing it needs python3)" >&2
  exit 1
fi
mv "$file.tmp" "$file"
echo "Docker's live-restore is on in $file."

if [ -z "$root" ]; then
  systemctl reload docker 2>/dev/null || pkill -HUP -x dockerd 2>/dev/null || echo "Reload dockerd (systemctl reload docker) for it to take effect." >&2
fi
