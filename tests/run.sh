#!/bin/sh
# The README's second command: install what is missing (Debian 12), build, run the whole suite.
# Extra arguments go to `meson setup` (e.g. -Db_sanitize=address,undefined); BUILD_DIR picks
# the build directory (default build-tests).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/tests/install-deps.sh"
cd "$here"
build=${BUILD_DIR:-build-tests}
# The samples and benchmarks at -O0: their smoke tests check results, not speed. -O0 builds the
# trainer in half the time of -O1 (20 s against 40 s, 2026-12-07), and its smoke runs take
# about 13 s more in all; -O3, for measuring, doubles -O1's build time.
# The CUDA code only where a GPU can run it: without one its tests can only skip, and compiling
# them is a sixth of this command's build (.ci/run compiles them in a stage of their own).
# -Dcuda=... among the arguments decides instead.
cuda=""
case " $* " in *" -Dcuda="*) ;; *) nvidia-smi -L >/dev/null 2>&1 || cuda="-Dcuda=disabled" ;; esac
[ -f "$build/build.ninja" ] || meson setup "$build" -Dtests=enabled -Dsamples_optimization=0 \
  -Dbenchmarks_optimization=0 $cuda "$@" >/dev/null
# One compile job per core: Ninja's default on 2 cores is 3, and the third job only makes the
# others wait for cache and memory (6 of the largest test objects: 40 s at -j2 against 44 s at
# -j3, 8% more CPU time, twice each, alternated, 2026-12-07).
meson compile -C "$build" -j "$(nproc)"
meson test -C "$build" --print-errorlogs ${MESON_TEST_ARGS:-}
