#!/bin/sh
# The README's first command: install what is missing (Debian 12), build, run the main job:
# the data-parallel sample trainer on 4 in-process ranks. Extra arguments go to the trainer
# (e.g. --steps 500, --aggregation parameter-server; --help lists them).
# Idempotent: a second run installs nothing and rebuilds only what changed.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/tests/install-deps.sh"
cd "$here"
[ -f build/build.ninja ] || meson setup build --buildtype=release -Dtests=disabled -Dbenchmarks=disabled >/dev/null
# Only the trainer, which is all this runs: the other samples would lengthen the first run by
# their compile time; `meson compile -C build` builds them. Ninja still regenerates the build
# first when meson.build files changed since the last run.
meson compile -C build -j "$(nproc)" 02_data_parallel_trainer >/dev/null
exec build/samples/02_data_parallel_trainer --ranks 4 "$@"
