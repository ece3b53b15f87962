#!/bin/sh
# expect_failure.sh COMPILER INCLUDE_DIR SNIPPET: passes when SNIPPET fails to compile with the
# diagnostic named on its "// expect-error:" line, so misuse stays a compile-time error. The
# standard is C++20 unless a "// std:" line names another (a snippet testing the C++20 check).
compiler=$1 include=$2 snippet=$3
expected=$(sed -n 's|^// expect-error: ||p' "$snippet")
std=$(sed -n 's|^// std: ||p' "$snippet")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if "$compiler" -std="${std:-c++20}" -fsyntax-only -I"$include" "$snippet" >"$log" 2>&1; then
  echo "FAIL: $snippet compiled, but must not"
  exit 1
fi
if ! grep -q -- "$expected" "$log"; then
  echo "FAIL: $snippet failed without the expected diagnostic '$expected':"
  head -40 "$log"
  exit 1
fi
echo "ok: $snippet is rejected ($expected)"
