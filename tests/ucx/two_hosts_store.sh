#!/bin/bash
# Four UCX processes of the data-parallel sample on two "hosts" (network namespaces joined only by
# a veth pair, tests/support/two_hosts_setup.sh), two on each, that share no directory: they meet
# at tcp://10.231.0.1:PORT, a store that rank 0 serves (colt::TcpStore), and train together over
# UCX's TCP transport on the veth. Every process must finish, rank 0 must say that the 4 met
# there on 2 nodes (COLT_NODE names each host; comm.nodes()), and the training must have crossed
# the wire.
#   two_hosts_store.sh TRAINER
set -uo pipefail
trainer=$1
. "$(dirname "$0")/../support/two_hosts_setup.sh"

address=tcp://10.231.0.1:29517
before=$(sent)
pids=()
for r in 0 1 2 3; do
  host=$host_a
  ((r >= 2)) && host=$host_b
  # Each host's name (the namespaces share the machine's host name): COLT_NODE.
  timeout 60 ip netns exec "$host" env UCX_TLS=tcp UCX_NET_DEVICES=colt0 COLT_TIMEOUT_S=20 \
    COLT_NODE="$host" \
    "$trainer" --rank "$r" --world 4 --rendezvous "$address" --steps 20 --hidden 32 --batch 64 \
    --samples 0 >"$work/out-$r" 2>&1 &
  pids+=($!)
done
failed=0
for r in 0 1 2 3; do
  wait "${pids[r]}" || { echo "rank $r exited with $?"; failed=1; }
done
crossed=$(($(sent) - before))
echo "$crossed bytes left host A over the veth pair"
grep -h "met at\|train loss" "$work"/out-*
grep -q "4 UCX processes met at $address; 2 nodes: ranks 0-1; ranks 2-3" "$work/out-0" ||
  { echo "MISSING: the meeting, on 2 nodes"; failed=1; }
grep -q "train loss" "$work/out-0" || { echo "MISSING: the training"; failed=1; }
# 20 steps' gradient averages between the hosts: far more than the meeting's few kilobytes.
((crossed > 200000)) || { echo "expected over 200 kB over the veth: the hosts did not train together"; failed=1; }
if ((failed)); then
  for r in 0 1 2 3; do
    echo "---- rank $r"
    cat "$work/out-$r"
  done
  exit 1
fi
