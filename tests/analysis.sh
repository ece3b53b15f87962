#!/bin/bash
# Static analysis of colt's headers: cppcheck, then clang-tidy with the checks in .clang-tidy.
# Installs the tools on Debian when they are missing. Exits non-zero on any finding; the last
# line sums up. Usage: tests/analysis.sh [jobs] (default 2).
#
# clang-tidy runs in two passes, each check where it costs least:
#  1. Every header compiled alone, the header itself as the main file (not a .cpp including it),
#     with the static analyzer's checks (clang-analyzer-*): the analyzer only follows paths
#     through functions of the main file, so this is what makes it look at every header's inline
#     functions, once each.
#  2. The other checks (AST matchers) see a header's code the same in every translation unit
#     that includes it, so they run once, over one translation unit including every header. Per
#     header, they would match the shared headers and the standard library again for each one.
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=${1:-2}

missing=""
command -v cppcheck >/dev/null || missing="$missing cppcheck"
command -v clang-tidy >/dev/null || missing="$missing clang-tidy"
if [ -n "$missing" ]; then
  echo "installing:$missing"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
    { echo "analysis: could not install$missing"; exit 2; }
fi

start=$(date +%s)
# Every header but the umbrella colt.hpp, which only includes the others; largest first, so that
# the longest runs of pass 1 do not come last and leave a core idle.
headers=$(find include/colt -name '*.hpp' ! -path include/colt/colt.hpp -printf '%s %p\n' |
          sort -rn | cut -d' ' -f2)
count=$(printf '%s\n' $headers | grep -c .)
# The MPI and UCX headers need their include paths; both are installed by tests/install-deps.sh.
extra_flags="$(pkg-config --cflags mpich 2>/dev/null) $(pkg-config --cflags ucx 2>/dev/null)"
noise='\(warning\|error\)s\? generated\|^Suppressed \|^Use -header-filter\|^Error while processing'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# cppcheck: one translation unit that includes every header (the same one clang-tidy's second
# pass reads), in the background beside clang-tidy's first pass. Each header on its own made
# cppcheck analyse the shared headers again for every includer: 134 s against 14 s for one unit,
# which reports the same findings (checked 2026-12-07 by planting an out-of-bounds index, an
# uninitialised member and a string passed by value in adapters/detail/step_guard.hpp). It works
# without the system headers (missingIncludeSystem only says so); --inline-suppr honours
# `// cppcheck-suppress id ; reason` comments.
for header in $headers; do echo "#include \"${header#include/}\""; done >"$work/all_headers.cpp"
cppcheck --std=c++20 --language=c++ --enable=warning,performance,portability \
  --inline-suppr --suppress=missingIncludeSystem --error-exitcode=1 -q -Iinclude \
  --template='{file}:{line}: {severity}: {message} [{id}]' "$work/all_headers.cpp" \
  >"$work/cppcheck.log" 2>&1 &
cppcheck_pid=$!

# clang-tidy pass 1: the analyzer checks that .clang-tidy enables, one header per process, `jobs`
# processes at a time. Findings and compile errors go to stderr; failing headers are listed.
analyzer_checks=$(clang-tidy --list-checks include/colt/core/error.hpp -- 2>/dev/null |
                  grep -o 'clang-analyzer-[^ ]*' | paste -sd, -)
export extra_flags analyzer_checks noise
failed=$(printf '%s\n' $headers | xargs -P "$jobs" -I{} sh -c '
  out=$(clang-tidy --quiet --config-file=.clang-tidy --checks="-*,$analyzer_checks" "$1" \
          -- -std=c++20 -Iinclude $extra_flags 2>&1) || {
    printf "%s\n" "$out" | grep -v "$noise" >&2
    echo "$1"
  }' _ {})

wait "$cppcheck_pid"
cppcheck_status=$?
cat "$work/cppcheck.log"
cppcheck_findings=$(grep -c ': \(error\|warning\|performance\|portability\|style\):' "$work/cppcheck.log")
[ "$cppcheck_status" -ne 0 ] && [ "$cppcheck_findings" -eq 0 ] && cppcheck_findings=1  # tool error

# clang-tidy pass 2: every other check, over the translation unit that includes every header.
out=$(clang-tidy --quiet --config-file=.clang-tidy --checks='-clang-analyzer-*' \
        "$work/all_headers.cpp" -- -std=c++20 -Iinclude $extra_flags 2>&1) || {
  printf '%s\n' "$out" | grep -v "$noise" >&2
  failed="$failed${failed:+$'\n'}pass-2-all-headers"
}
tidy_failures=$(printf '%s\n' "$failed" | grep -c .)

elapsed=$(( $(date +%s) - start ))
if [ "$cppcheck_findings" -eq 0 ] && [ "$tidy_failures" -eq 0 ]; then
  echo "analysis: clean ($count headers: cppcheck and clang-tidy, ${elapsed} s)"
  exit 0
fi
echo "analysis: FAILED: cppcheck $cppcheck_findings finding(s); clang-tidy failed on $tidy_failures" \
     "run(s)${failed:+:} $(echo $failed) (${elapsed} s)"
exit 1
