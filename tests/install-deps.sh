#!/bin/sh
# Installs, on Debian 12, whatever colt's build and tests need and this machine lacks.
# Installs nothing when everything is present (so it needs no root then).
set -eu
packages="g++ meson ninja-build pkg-config doctest-dev libbenchmark-dev"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
