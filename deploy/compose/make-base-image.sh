#!/usr/bin/env bash
# Builds the default base image of the Orchestrator containers without pulling anything: an otherwise
# empty root file system with the few system libraries a self-contained .NET app needs (the C and C++
# runtimes, libssl and libcrypto, zlib), copied from this host and loaded with docker import.
#
#   deploy/compose/make-base-image.sh PUBLISHED_APP_DIR [IMAGE]     (IMAGE defaults to orchestrator/base:local)
#
# A user who prefers a distribution image passes BASE_IMAGE to docker-compose instead
# (e.g. BASE_IMAGE=debian:bookworm-slim, which has these libraries, pulled from their own registry).
set -euo pipefail
app="${1:?usage: make-base-image.sh PUBLISHED_APP_DIR [IMAGE]}"
image="${2:-orchestrator/base:local}"
rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT

copy() { # copies a file and the directories above it into the root file system, following links
  local file="$1"
  mkdir -p "$rootfs$(dirname "$file")"
  cp -L "$file" "$rootfs$file"
}

# What the app's native parts link against, plus what .NET loads by name at run time.
libraries=$( (ldd "$app"/orchestrator-* "$app"/*.so 2>/dev/null || true) | awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | sort -u)
for library in $libraries; do
  [ -f "$library" ] && copy "$library"
done
for pattern in 'libssl.so.3' 'libcrypto.so.3' 'libz.so.1'; do
  for library in /usr/lib/x86_64-linux-gnu/$pattern /lib/x86_64-linux-gnu/$pattern; do
    [ -f "$library" ] && copy "$library"
  done
done
# The dynamic loader where the ELF headers look for it.
copy /lib64/ld-linux-x86-64.so.2

mkdir -p "$rootfs/tmp" "$rootfs/etc" "$rootfs/app" "$rootfs/data"
chmod 1777 "$rootfs/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"

tar -C "$rootfs" -c . | docker import \
  -c 'ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_NOLOGO=1 LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu' \
  -c 'WORKDIR /app' - "$image" >/dev/null
echo "built $image"
