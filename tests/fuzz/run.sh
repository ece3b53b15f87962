#!/bin/bash
# Builds every libFuzzer target here (tests/fuzz/fuzz_*.cpp: adding a target is adding a file)
# into build-fuzz/<target>/ with clang++ (AddressSanitizer + UndefinedBehaviorSanitizer), then
# fuzzes each for a bounded time, `jobs` targets at a time (each target is one process on one
# core, so on 2 cores `jobs=2` gives every target the same fuzzing time in half the wall time).
#   tests/fuzz/run.sh [seconds_per_target] [jobs]      (defaults: 20 s, 1 job)
# A target fails when it does not build, or on an input that crashes it, trips a sanitizer,
# throws anything but colt::Error, runs longer than 10 s or past 2 GiB; libFuzzer keeps that
# input as build-fuzz/<target>/crash-* (or timeout-*, oom-*): replay it with
#   build-fuzz/<target>/<target> build-fuzz/<target>/crash-...
# Seeds, where a target has some, are in tests/fuzz/corpus/<target>/; what a run learns stays in
# build-fuzz/<target>/corpus/ for the next run. Exits non-zero if any target failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
jobs=${2:-1}
[[ "$seconds" =~ ^[1-9][0-9]*$ && "$jobs" =~ ^[1-9][0-9]*$ ]] ||
  { echo "usage: tests/fuzz/run.sh [seconds_per_target > 0] [jobs > 0]"; exit 2; }
out=build-fuzz

# clang++ with libFuzzer: Debian 12's clang package leaves the fuzzer runtime to
# libclang-rt-14-dev (libclang-rt-dev), a recommendation only.
links() {
  printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' |
    clang++ -x c++ - -fsanitize=fuzzer,address,undefined -o /dev/null 2>/dev/null
}
if ! command -v clang++ >/dev/null || ! links; then
  echo "installing: clang libclang-rt-dev"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null
  links || { echo "fuzz: clang++ cannot link -fsanitize=fuzzer"; exit 2; }
fi
# The UCX targets need UCX's headers only (nothing of UCX is called, so nothing is linked).
pkg-config --exists ucx || { echo "fuzz: UCX headers not found (tests/install-deps.sh installs libucx-dev)"; exit 2; }

flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -Iinclude -Itests/fuzz $(pkg-config --cflags ucx))

# One target: build, fuzz, print one line (and the finding, if any); the exit status says.
fuzz_target() {
  local source=$1 name dir seeds=()
  name=$(basename "$source" .cpp)
  dir="$out/$name"
  mkdir -p "$dir/corpus"
  if ! clang++ "${flags[@]}" "$source" -o "$dir/$name" 2>"$dir/build.log"; then
    echo "$name: does not build"
    cat "$dir/build.log"
    return 1
  fi
  [ -d "tests/fuzz/corpus/$name" ] && seeds=("$PWD/tests/fuzz/corpus/$name")
  # New inputs go to the first directory (build-fuzz's); the seeds are only read.
  if (cd "$dir" && "./$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix=./ -print_final_stats=1 corpus "${seeds[@]}" >fuzz.log 2>&1); then
    echo "$name: ok, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/fuzz.log" | grep -o '[0-9]*$') inputs in ${seconds} s"
  else
    echo "$name: FAILED (log: $dir/fuzz.log)"
    grep -A25 '^==[0-9]*==\|fuzz check failed\|runtime error\|terminate called\|ERROR: libFuzzer' "$dir/fuzz.log" | head -40
    return 1
  fi
}

# `jobs` targets at a time; each one's report is printed whole when it ends.
sources=(tests/fuzz/fuzz_*.cpp)
failed=() running=()
report() {  # waits for the oldest running target and prints its report
  local pid=${running[0]%%:*} name=${running[0]#*:}
  wait "$pid" || failed+=("$name")
  cat "$out/$name.report"
  running=("${running[@]:1}")
}
mkdir -p "$out"
for source in "${sources[@]}"; do
  [ ${#running[@]} -ge "$jobs" ] && report
  name=$(basename "$source" .cpp)
  fuzz_target "$source" >"$out/$name.report" 2>&1 &
  running+=("$!:$name")
done
while [ ${#running[@]} -gt 0 ]; do report; done

total=${#sources[@]}
if [ ${#failed[@]} -eq 0 ]; then
  echo "fuzz: $total targets, ${seconds} s each, no findings"
  exit 0
fi
echo "fuzz: ${#failed[@]} of $total targets failed: ${failed[*]}"
exit 1
