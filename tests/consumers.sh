#!/bin/sh
# Builds a program against colt the two ways other projects do: from an installed prefix through
# pkg-config, and as a Meson subproject through dependency('colt'). Runs both programs. Both use
# the README's commands and its meson.build snippet verbatim, so the README cannot drift.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Installed: headers under include/colt and colt.pc.
meson setup "$work/build" "$root" --prefix="$work/prefix" -Dtests=disabled -Dsamples=disabled \
  -Dbenchmarks=disabled -Dmpi=disabled -Ducx=disabled -Dcuda=disabled >/dev/null
meson install -C "$work/build" >/dev/null
test -f "$work/prefix/include/colt/colt.hpp"
pc_dir=$(dirname "$(find "$work/prefix" -name colt.pc | head -1)")
# shellcheck disable=SC2046
PKG_CONFIG_PATH="$pc_dir" c++ $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags colt) \
  "$root/samples/01_hello_all_reduce.cpp" -o "$work/hello" \
  $(PKG_CONFIG_PATH="$pc_dir" pkg-config --libs colt)
"$work/hello" 3 5 >/dev/null
echo "ok: installed colt used through pkg-config ($(PKG_CONFIG_PATH="$pc_dir" pkg-config --modversion colt))"

# Subproject: the README's meson.build, as written, with no colt options. --force-fallback-for
# keeps a colt installed on this machine from being picked instead of the subproject.
mkdir -p "$work/app/subprojects"
ln -s "$root" "$work/app/subprojects/colt"
cp "$root/samples/01_hello_all_reduce.cpp" "$work/app/trainer.cpp"
"$root/tests/docs/extract_snippet.sh" "$root/README.md" "$work/app/meson.build" meson
grep -q "cpp_std=c++20" "$work/app/meson.build"
meson setup "$work/app/build" "$work/app" --force-fallback-for=colt >/dev/null
# Only the consumer's program is built: colt as a subproject has no targets of its own.
targets=$(meson introspect --targets "$work/app/build" |
  python3 -c 'import json, sys; print(" ".join(t["name"] for t in json.load(sys.stdin)))')
if [ "$targets" != "trainer" ]; then
  echo "colt as a subproject builds more than its headers: $targets" >&2
  exit 1
fi
meson compile -C "$work/app/build" >/dev/null
"$work/app/build/trainer" 2 3 >/dev/null
echo "ok: colt used as a Meson subproject (the README's snippet; only the consumer built)"
