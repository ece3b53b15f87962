#!/bin/sh
# The layout check: every C++ and CUDA file under version control is laid out as clang-format 16
# lays it out with .clang-format (Debian 12's clang-format-16; clang-format 14, Debian's default,
# cannot read that file). Installs it when missing. Exits non-zero naming each file that differs.
# Usage: tests/format.sh [--fix]   (--fix rewrites those files in place)
set -eu
cd "$(dirname "$0")/.."
tool=clang-format-16
if ! command -v "$tool" >/dev/null; then
  echo "installing: $tool"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "$tool" >/dev/null
fi
files=$(git ls-files '*.hpp' '*.cpp' '*.cu' '*.cuh' '*.h')
if [ "${1:-}" = "--fix" ]; then
  echo "$files" | xargs "$tool" -i
  exit 0
fi
bad=""
for f in $files; do
  "$tool" --dry-run -Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -n "$bad" ]; then
  echo "not laid out as .clang-format says (tests/format.sh --fix rewrites them):"
  printf '  %s\n' $bad
  exit 1
fi
echo "format: $(echo "$files" | wc -l) files laid out as .clang-format says"
