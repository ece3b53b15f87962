#!/bin/sh
# colt-over-UCX point-to-point against UCX's own ucx_perftest (tag_bw, tag_lat), on this machine,
# in one run, on two wires:
#   shm  UCX's default choice between two processes of one machine (shared memory + CMA):
#        ucx_perftest as is, colt with --no-peer-errors (UCX 1.13 has no shared-memory transport
#        with a peer failure handler).
#   tcp  colt's default (peer error handling on, which on one machine means TCP loopback), and
#        ucx_perftest with UCX_TLS=tcp: the same wire, so the ratio is colt's own overhead.
# Bandwidth in MiB/s (ucx_perftest's "MB/s"), latency = half round trip in microseconds.
#
#   benchmarks/ucx_vs_perftest.sh [BUILD_DIR] [MPI launcher]
set -eu
build=${1:-build-tests}
launcher=${2:-mpiexec.mpich}
bench="$build/benchmarks/p2p_ucx"
port=${PERFTEST_PORT:-13377}
sizes="8 64 512 4096 32768 262144 1048576 4194304 16777216 67108864"

iterations() { n=$((268435456 / $1)); [ $n -lt 20 ] && n=20; [ $n -gt 20000 ] && n=20000; echo $n; }

# perftest TEST SIZE ITERATIONS FIELD [env...]: one server + client pair; prints FIELD of the
# final line (6: overall bandwidth, 3: average latency).
perftest() {
  test=$1 size=$2 n=$3 field=$4; shift 4
  env "$@" ucx_perftest -p $port -t $test -s $size -n $n -w $((n / 10 + 1)) -f >/dev/null 2>&1 &
  server=$!
  sleep 0.3
  env "$@" ucx_perftest localhost -p $port -t $test -s $size -n $n -w $((n / 10 + 1)) -f 2>/dev/null |
    awk -v f=$field 'NF >= 8 && $1 ~ /^[0-9]+$/ { v = $f } END { print v }'
  wait $server 2>/dev/null || true
}

colt_shm=$($launcher -n 2 "$bench" --no-peer-errors)
colt_tcp=$($launcher -n 2 "$bench")
column() { echo "$1" | awk -v s=$2 -v c=$3 '$1 == s { print $c }'; }
ratio() { awk -v a=$1 -v b=$2 'BEGIN { printf "%.2f", a / b }'; }
# row SIZE PERFTEST_SHM COLT_SHM PERFTEST_TCP COLT_TCP
row() { printf "%10s | %12s %12s %6s | %12s %12s %6s\n" $1 $2 $3 $(ratio $3 $2) $4 $5 $(ratio $5 $4); }

printf "%10s | %12s %12s %6s | %12s %12s %6s\n" bytes "perftest" "colt" ratio "perftest" "colt" ratio
printf "%10s | %32s | %32s\n" "" "shm (MiB/s)" "tcp (MiB/s)"
for size in $sizes; do
  n=$(iterations $size)
  p_shm=$(perftest tag_bw $size $n 6)
  p_tcp=$(perftest tag_bw $size $n 6 UCX_TLS=tcp)
  c_shm=$(column "$colt_shm" $size 2)
  c_tcp=$(column "$colt_tcp" $size 2)
  row $size $p_shm $c_shm $p_tcp $c_tcp
done
printf "%10s | %32s | %32s\n" "" "shm latency (us)" "tcp latency (us)"
for size in 8; do
  p_shm=$(perftest tag_lat $size 20000 3)
  p_tcp=$(perftest tag_lat $size 20000 3 UCX_TLS=tcp)
  c_shm=$(column "$colt_shm" $size 3)
  c_tcp=$(column "$colt_tcp" $size 3)
  row $size $p_shm $c_shm $p_tcp $c_tcp
done
