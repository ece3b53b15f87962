#!/bin/bash
# Runs an MPI test program as 2 ranks on 2 "hosts": two network namespaces joined only by a veth
# pair, addresses private to them. Launched by MPICH's Hydra from inside the first namespace,
# with the ssh launcher's exec pointed at a wrapper that enters the namespace named by the host
# address. UCX is limited to TCP over the veth, and the bytes that crossed it are counted.
#   two_hosts.sh MPIEXEC PROGRAM [ARGS...]
# Exit 77 (meson: skipped) with the reason when namespaces cannot be made (not root, no iproute2).
set -uo pipefail
mpiexec=$1; shift

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

# Hydra's ssh launcher runs: EXEC -x HOST COMMAND...; "ssh" into a host = enter its namespace.
cat > "$work/enter_host" <<WRAPPER
#!/bin/sh
[ "\$1" = "-x" ] && shift
case "\$1" in
  10.231.0.1) ns=$host_a ;;
  10.231.0.2) ns=$host_b ;;
  *) echo "two_hosts.sh: unknown host \$1" >&2; exit 1 ;;
esac
shift
exec ip netns exec "\$ns" sh -c "\$*"
WRAPPER
chmod +x "$work/enter_host"

sent() { ip netns exec "$host_a" cat /sys/class/net/colt0/statistics/tx_bytes; }
run() {
  timeout 45 ip netns exec "$host_a" "$mpiexec" -launcher ssh -launcher-exec "$work/enter_host" \
    -localhost 10.231.0.1 -hosts 10.231.0.1,10.231.0.2 -n 2 -ppn 1 \
    -genv UCX_TLS tcp -genv UCX_NET_DEVICES colt0 "$@"
}
before=$(sent)
run "$@"
status=$?
# The run takes about a second, and every colt wait in it ends within COLT_TIMEOUT_S (30 s) in an
# error: a run still going at 45 s is stuck below colt, in Hydra's launch through the namespaces
# (seen once in about 50 runs, in a full suite run; not in 45 runs alone). Said, and tried once
# more; any other failure is final.
if [ $status -eq 124 ]; then
  echo "two_hosts.sh: the run was still going after 45 s (a launch stuck below colt); once more"
  before=$(sent)
  run "$@"
  status=$?
fi
crossed=$(( $(sent) - before ))
echo "two_hosts.sh: exit status $status, $crossed bytes left host A over the veth pair"
[ $status -eq 0 ] || exit $status
# The collectives move tens of MB between the ranks; all of it must have crossed the wire.
if [ "$crossed" -lt 20000000 ]; then
  echo "two_hosts.sh: expected at least 20 MB over the veth pair: the ranks did not talk over TCP"
  exit 1
fi
