#!/bin/bash
# Sourced by the two-host tests (tests/mpi/two_hosts.sh, tests/ucx/two_hosts_store.sh): two
# network namespaces, "hosts" 10.231.0.1 ($host_a) and 10.231.0.2 ($host_b), joined only by a
# veth pair named colt0 on each side, with addresses private to them; removed at exit, with the
# scratch directory $work. Exits 77 (meson: skipped) with the reason when namespaces cannot be
# made (not root, no iproute2). `sent` prints the bytes host A has sent over its veth.
skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "creating network namespaces needs root"
command -v ip >/dev/null || skip "no 'ip' command (Debian package iproute2)"

id=$$
host_a=colt_a_$id host_b=colt_b_$id
work=$(mktemp -d)
cleanup() {
  ip netns del "$host_a" 2>/dev/null
  ip netns del "$host_b" 2>/dev/null
  ip link del "colt_va_$id" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$host_a" 2>"$work/err" || skip "cannot create network namespaces here: $(cat "$work/err")"
ip netns add "$host_b"
ip link add "colt_va_$id" type veth peer name "colt_vb_$id"
ip link set "colt_va_$id" netns "$host_a"
ip link set "colt_vb_$id" netns "$host_b"
ip -n "$host_a" link set "colt_va_$id" name colt0
ip -n "$host_b" link set "colt_vb_$id" name colt0
ip -n "$host_a" addr add 10.231.0.1/24 dev colt0
ip -n "$host_b" addr add 10.231.0.2/24 dev colt0
for ns in "$host_a" "$host_b"; do
  ip -n "$ns" link set lo up
  ip -n "$ns" link set colt0 up
done

sent() { ip netns exec "$host_a" cat /sys/class/net/colt0/statistics/tx_bytes; }
