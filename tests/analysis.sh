#!/bin/bash
# Static analysis of colt's headers: cppcheck, then clang-tidy (checks in .clang-tidy), each
# header its own translation unit. Installs the tools on Debian when they are missing. Exits
# non-zero on any finding; the last line sums up. Usage: tests/analysis.sh [jobs] (default 2).
#
# clang-tidy is given the header itself as the main file (not a .cpp that includes it): the
# static analyzer only starts from functions in the main file, so this is what makes it look at
# the inline functions of every header.
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
# Every header but the umbrella colt.hpp, which only includes the others (each analysed alone);
# largest first, so that the longest clang-tidy runs do not come last and leave a core idle.
headers=$(find include/colt -name '*.hpp' ! -path include/colt/colt.hpp -printf '%s %p\n' |
          sort -rn | cut -d' ' -f2)
# The MPI and UCX headers need their include paths; both are installed by tests/install-deps.sh.
extra_flags="$(pkg-config --cflags mpich 2>/dev/null) $(pkg-config --cflags ucx 2>/dev/null)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# cppcheck: all headers in one run. It works without the system headers (missingIncludeSystem
# only says so); --inline-suppr honours `// cppcheck-suppress id ; reason` comments.
cppcheck_log="$work/cppcheck.log"
cppcheck --std=c++20 --language=c++ --enable=warning,performance,portability \
  --inline-suppr --suppress=missingIncludeSystem --error-exitcode=1 -q -Iinclude \
  --template='{file}:{line}: {severity}: {message} [{id}]' $headers >"$cppcheck_log" 2>&1
cppcheck_status=$?
cppcheck_findings=$(grep -c ': \(error\|warning\|performance\|portability\|style\):' "$cppcheck_log")
cat "$cppcheck_log"
[ "$cppcheck_status" -ne 0 ] && [ "$cppcheck_findings" -eq 0 ] && cppcheck_findings=1  # tool error

# clang-tidy: one process per header, `jobs` at a time. Each prints its findings (or errors);
# a header that fails is named on a line of its own.
export extra_flags
tidy_failed=$(printf '%s\n' $headers | xargs -P "$jobs" -I{} sh -c '
  out=$(clang-tidy --quiet "$1" -- -std=c++20 -Iinclude $extra_flags 2>&1) || {
    printf "%s\n" "$out" | grep -v "warnings\? generated\|^Suppressed\|^Use -header-filter\|^Error while processing" >&2
    echo "$1"
  }' _ {})
tidy_failures=$(printf '%s' "$tidy_failed" | grep -c .)

count=$(printf '%s\n' $headers | grep -c .)
elapsed=$(( $(date +%s) - start ))
if [ "$cppcheck_findings" -eq 0 ] && [ "$tidy_failures" -eq 0 ]; then
  echo "analysis: clean ($count headers: cppcheck and clang-tidy, ${elapsed} s)"
  exit 0
fi
echo "analysis: FAILED: cppcheck $cppcheck_findings finding(s); clang-tidy found problems in" \
     "$tidy_failures of $count headers${tidy_failed:+:} $(echo $tidy_failed) (${elapsed} s)"
exit 1
