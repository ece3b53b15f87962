#!/bin/sh
# Installs, on Debian 12, whatever colt's build and tests need and this machine lacks.
# Installs nothing when everything is present (so it needs no root then).
set -eu
# MPICH is the MPI the tests use first; Open MPI is installed beside it so CI can build the MPI
# tests against it too (each is picked by its pkg-config name and launcher name, never by the
# `mpiexec` alternative). iproute2 makes the network namespaces of the two-host test. wamerican
# is the word list (/usr/share/dict/words) the sample trainer learns from. libucx-dev is the UCX
# transport's library; ucx-utils has ucx_perftest, which the UCX benchmark compares against.
packages="g++ meson ninja-build pkg-config doctest-dev libbenchmark-dev
          mpich libmpich-dev openmpi-bin libopenmpi-dev libucx-dev ucx-utils iproute2 wamerican"
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
