#!/bin/sh
# Builds a program against colt the two ways other projects do: from an installed prefix through
# pkg-config, and as a Meson subproject through dependency('colt'). Runs both programs.
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
export PKG_CONFIG_PATH="$pc_dir"
# shellcheck disable=SC2046
c++ $(pkg-config --cflags colt) "$root/samples/01_hello_all_reduce.cpp" -o "$work/hello" $(pkg-config --libs colt)
"$work/hello" 3 5 >/dev/null
echo "ok: installed colt used through pkg-config ($(pkg-config --modversion colt))"

# Subproject.
mkdir -p "$work/app/subprojects"
ln -s "$root" "$work/app/subprojects/colt"
cp "$root/samples/01_hello_all_reduce.cpp" "$work/app/main.cpp"
cat > "$work/app/meson.build" <<'MESON'
project('app', 'cpp', default_options: ['cpp_std=c++20'])
colt_dep = dependency('colt', fallback: ['colt', 'colt_dep'])
executable('app', 'main.cpp', dependencies: colt_dep)
MESON
meson setup "$work/app/build" "$work/app" --force-fallback-for=colt -Dcolt:tests=disabled \
  -Dcolt:samples=disabled -Dcolt:benchmarks=disabled >/dev/null
meson compile -C "$work/app/build" >/dev/null
"$work/app/build/app" 2 3 >/dev/null
echo "ok: colt used as a Meson subproject"
