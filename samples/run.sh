#!/bin/sh
# The README's first command: install what is missing (Debian 12), build, run the main job.
# Idempotent: a second run installs nothing and rebuilds only what changed.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/tests/install-deps.sh"
cd "$here"
[ -f build/build.ninja ] || meson setup build --buildtype=release -Dtests=disabled -Dbenchmarks=disabled >/dev/null
meson compile -C build 01_hello_all_reduce >/dev/null
exec build/samples/01_hello_all_reduce 4
