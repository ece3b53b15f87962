#!/bin/bash
# An emulated cluster on one machine: N network namespaces ("nodes", each with a host name of its
# own) joined through a bridge in a switch namespace, every node's link shaped by tbf to RATE in
# both directions; M MPI processes per node, launched by MPICH's Hydra from inside node 0 (its
# ssh launcher's exec enters the namespace named by the host address, as tests/mpi/two_hosts.sh
# does). Processes on one node talk through MPICH's shared memory; processes on different nodes
# only over the shaped links (UCX_TLS=tcp,self: UCX's own shared memory would reach across the
# namespaces).
#
# With --threads=M each node runs one process of M thread ranks instead (a hybrid communicator,
# transport/hybrid.hpp: threads within the node, UCX across), and the MPI row is a hybrid
# program's all_reduce (the threads' sum, MPI_Allreduce among the processes, a broadcast).
#
# For each all_reduce row of collectives_mpi --nodes (colt's algorithms, the two-level ones
# included, and MPICH's own MPI_Allreduce) it prints the median time, the algorithm bandwidth,
# and the bytes that left the busiest node per call, counted on the node's veth, also as a
# fraction of the buffer: the traffic the hierarchy saves, independent of timing noise. --check
# fails unless that fraction is what algorithms/two_level.hpp charges the link with (within 5%):
# 2(p-1)/p for the flat ring (nodes of consecutive ranks), 2M(p-M)/p for direct, 2(N-1)/N for
# hierarchical and node_leaders.
#
#   benchmarks/emulated_cluster.sh COLLECTIVES_MPI [--nodes=2] [--per-node=2] [--rate=1gbit]
#       [--bytes=16777216] [--batches=5] [--rows=ring,tree,direct,hierarchical,node_leaders,auto,mpi]
#       [--threads=M] [--link=ALPHA,BETA] [--check]
# --link tells plan() the link (a tuning file of its network line alone, COLT_TUNING): alpha
# seconds per message, beta seconds per byte; without it plan() assumes 10 Gbit/s.
# COLLECTIVES_MPI is the benchmark program (build-bench/benchmarks/collectives_mpi). Needs root,
# iproute2, MPICH; exits 77 (skipped) with the reason where namespaces cannot be made.
# docs/scale-out.md has a run.
set -uo pipefail
program=${1:?usage: emulated_cluster.sh COLLECTIVES_MPI [options]}
shift
nodes=2 per_node=2 rate=1gbit bytes=16777216 batches=5 rows=ring,tree,direct,hierarchical,node_leaders,auto,mpi
check=0 threads=1 link=""
for arg in "$@"; do
  case $arg in
    --nodes=*) nodes=${arg#*=} ;;
    --per-node=*) per_node=${arg#*=} ;;
    --rate=*) rate=${arg#*=} ;;
    --bytes=*) bytes=${arg#*=} ;;
    --batches=*) batches=${arg#*=} ;;
    --rows=*) rows=${arg#*=} ;;
    --threads=*) threads=${arg#*=} ;;
    --link=*) link=${arg#*=} ;;
    --check) check=1 ;;
    *) echo "emulated_cluster.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "creating network namespaces needs root"
command -v ip >/dev/null || skip "no 'ip' command (Debian package iproute2)"
command -v tc >/dev/null || skip "no 'tc' command (Debian package iproute2)"
command -v mpiexec.mpich >/dev/null || skip "no mpiexec.mpich (Debian package mpich)"
[ -x "$program" ] || { echo "no $program: build it first" >&2; exit 2; }
command -v unshare >/dev/null || skip "no 'unshare' command (Debian package util-linux)"

id=$$
switch=colt_sw_$id
work=$(mktemp -d)
ns() { echo "colt_n$1_$id"; }
address() { echo "10.232.0.$(($1 + 1))"; }
cleanup() {
  for ((k = 0; k < nodes; k++)); do ip netns del "$(ns $k)" 2>/dev/null; done
  ip netns del "$switch" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$switch" 2>"$work/err" || skip "cannot create network namespaces here: $(cat "$work/err")"
ip -n "$switch" link add br0 type bridge
ip -n "$switch" link set br0 up
# tbf's bucket holds a few milliseconds of the rate, so bursts do not beat the shaping.
shape() { tc -n "$1" qdisc add dev "$2" root tbf rate "$rate" burst 256kb latency 100ms; }
for ((k = 0; k < nodes; k++)); do
  n=$(ns $k)
  ip netns add "$n"
  ip link add "colt_n${k}_$id" type veth peer name "colt_p${k}_$id"
  ip link set "colt_n${k}_$id" netns "$n"
  ip link set "colt_p${k}_$id" netns "$switch"
  ip -n "$n" link set "colt_n${k}_$id" name colt0
  ip -n "$n" addr add "$(address $k)/24" dev colt0
  ip -n "$n" link set lo up
  ip -n "$n" link set colt0 up
  ip -n "$switch" link set "colt_p${k}_$id" master br0
  ip -n "$switch" link set "colt_p${k}_$id" up
  shape "$n" colt0 || skip "tc cannot shape a veth here (tbf)"
  shape "$switch" "colt_p${k}_$id"
done

# Hydra's ssh launcher runs: EXEC -x HOST COMMAND...; "ssh" into a host = enter its namespace,
# under a host name of its own (UTS namespace), so that every layer sees N machines.
{
  echo '#!/bin/sh'
  echo '[ "$1" = "-x" ] && shift'
  echo 'case "$1" in'
  for ((k = 0; k < nodes; k++)); do echo "  $(address $k)) ns=$(ns $k) name=node$k ;;"; done
  echo '  *) echo "emulated_cluster.sh: unknown host $1" >&2; exit 1 ;;'
  echo 'esac'
  echo 'shift'
  echo 'exec ip netns exec "$ns" unshare --uts sh -c "hostname $name; $*"'
} > "$work/enter_host"
chmod +x "$work/enter_host"
# Processes per node: M, or one of M thread ranks.
processes=$per_node thread_flag=""
if [ "$threads" -gt 1 ]; then
  processes=1 per_node=$threads thread_flag="--threads=$threads"
fi
hosts=""
for ((k = 0; k < nodes; k++)); do hosts+="${hosts:+,}$(address $k):$processes"; done

tuning_env=""
if [ -n "$link" ]; then
  printf 'colt-tuning 1\nnetwork %s\n' "${link/,/ }" >"$work/link.tuning"
  tuning_env="-genv COLT_TUNING $work/link.tuning"
fi
sent() { ip netns exec "$(ns "$1")" cat /sys/class/net/colt0/statistics/tx_bytes; }
if [ "$threads" -gt 1 ]; then
  echo "# emulated cluster: $nodes nodes x 1 process of $threads thread ranks (hybrid), links shaped to $rate (tbf),"
else
  echo "# emulated cluster: $nodes nodes x $per_node MPI processes, links shaped to $rate (tbf),"
fi
echo "# all_reduce float32 of $bytes bytes, median of $batches calls (collectives_mpi --nodes)"
printf '%-14s %12s %10s %16s %10s\n' row time_us algbw_GBps bytes_out/call of_buffer
# The fraction of the buffer two_level.hpp's model sends out of the busiest node, per row.
expected() {
  awk -v row="$1" -v n="$nodes" -v m="$per_node" 'BEGIN {
    p = n * m
    if (row == "ring") print 2 * (p - 1) / p
    else if (row == "direct") print 2 * m * (p - m) / p
    else if (row == "hierarchical" || row == "node_leaders") print 2 * (n - 1) / n
  }'
}
failures=0
for row in ${rows//,/ }; do
  declare -a before
  for ((k = 0; k < nodes; k++)); do before[k]=$(sent $k); done
  log=$work/row.log
  : >"$log"  # emptied before the job starts, so that the wait below never reads the last row's
  timeout 600 "$work/enter_host" -x "$(address 0)" \
    "mpiexec.mpich -launcher ssh -launcher-exec $work/enter_host -localhost $(address 0) \
      -hosts $hosts -n $((nodes * processes)) -genv UCX_TLS tcp,self -genv UCX_NET_DEVICES colt0 $tuning_env \
      $program --nodes $thread_flag --collectives=all_reduce --types=float32 \
      --min-bytes=$bytes --max-bytes=$bytes --batches=$batches --batch-ms=0 \
      --benchmark_filter='^all_reduce/float32/$row/' --format=nccl-tests" >"$log" 2>&1 &
  job=$!
  # About one job in four never ends in these namespaces after printing its row: every process
  # is in MPI_Finalize, three waiting in the PMI barrier and one progressing UCX's TCP endpoints
  # (seen with every row, flat and two-level alike, and never with colt's own calls still
  # running). A row is measured once its line is printed, so a job still there 3 s later is
  # ended, and said so.
  finalize_hung=0
  while kill -0 $job 2>/dev/null; do
    if grep -qE "^ *$bytes " "$log" 2>/dev/null; then
      for ((t = 0; t < 30; t++)); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
      if kill -0 $job 2>/dev/null; then
        finalize_hung=1
        pkill -TERM -f -- "$program --nodes"
      fi
      break
    fi
    sleep 0.2
  done
  wait $job
  status=$?
  [ $finalize_hung -eq 1 ] && status=0
  out=$(cat "$log")
  most=0
  for ((k = 0; k < nodes; k++)); do
    d=$(($(sent $k) - before[k]))
    [ "$d" -gt "$most" ] && most=$d
  done
  # Calls per row with --batch-ms=0: a warm-up, a timing probe, an untimed batch, the batches,
  # and the check of the result (support/runner.hpp).
  calls=$((batches + 4))
  line=$(echo "$out" | grep -E "^ *$bytes " | head -1)
  if [ $status -ne 0 ] || [ -z "$line" ]; then
    echo "$row: failed (exit $status)"
    echo "$out" | tail -5
    failures=$((failures + 1))
    continue
  fi
  read -r _ _ _ _ _ time_us algbw _ <<<"$line"
  fraction=$(awk -v m="$most" -v c="$calls" -v b="$bytes" 'BEGIN { print m / c / b }')
  printf '%-14s %12s %10s %16d %10.2f%s\n' "$row" "$time_us" "$algbw" $((most / calls)) \
    "$fraction" "$([ $finalize_hung -eq 1 ] && echo "  (MPI_Finalize did not return; ended)")"
  want=$(expected "$row")
  if [ $check -eq 1 ] && [ -n "$want" ] &&
    ! awk -v f="$fraction" -v w="$want" 'BEGIN { exit !(f > 0.95 * w && f < 1.05 * w) }'; then
    echo "$row: $fraction of the buffer left the busiest node per call; the model says $want"
    failures=$((failures + 1))
  fi
done
[ $failures -eq 0 ]
