#!/bin/bash
# The flight recorder on a job of 4 UCX processes (tests/ucx/trace_job.cpp) in which rank 2
# dies by SIGKILL or stops by SIGSTOP as it starts call #5, passes another count there, or is
# late for every call. The others must warn (the watchdog) naming whom they wait for, fail,
# and write their dumps; tools/colt-trace, given the dumps, must name rank 2 (and call #5),
# and accuse no live rank. No survivor may print UCX's warnings at exit (requests to the lost
# rank not returned).
# Usage: trace_a_job.sh JOB_PROGRAM COLT_TRACE kill|stop|mismatch|slow
set -u
job=$1 analyser=$2 fault=$3
world=4 culprit=2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/traces"
pids=()
for ((r = 0; r < world; ++r)); do
  COLT_TIMEOUT_S=4 COLT_WATCHDOG_S=1 COLT_TRACE_DIR="$dir/traces" \
    "$job" "$r" "$world" "$dir/meet" "$culprit" "$fault" >"$dir/out-$r" 2>&1 &
  pids+=($!)
done
failed=0
for ((r = 0; r < world; ++r)); do
  ((r == culprit)) && continue
  { wait "${pids[r]}"; } 2>/dev/null || { echo "rank $r exited with $?"; failed=1; }
done
if [ "$fault" = kill ] || [ "$fault" = stop ]; then
  # A stopped rank is still there when the survivors are done: end it as its launcher would.
  kill -KILL "${pids[culprit]}" 2>/dev/null
  { wait "${pids[culprit]}"; } 2>/dev/null
  status=$?
  ((status == 137)) || { echo "rank $culprit exited with $status, expected 137 (SIGKILL)"; failed=1; }
else
  wait "${pids[culprit]}" || { echo "rank $culprit exited with $?"; failed=1; }
fi
diagnosis=$(python3 "$analyser" "$dir/traces")
echo "$diagnosis"
warnings=$(cat "$dir"/out-* | grep "colt WARN" || true)
echo "$warnings" | head -4
expect() {
  grep -qF -- "$1" <<<"$2" || { echo "MISSING: $1"; failed=1; }
}
refuse() {
  if grep -qF -- "$1" <<<"$2"; then echo "UNEXPECTED: $1"; failed=1; fi
}
case $fault in
  kill)
    expect "dumps from ranks 0,1,3; none from rank 2" "$diagnosis"
    expect "call #5 all_reduce float32 x 65536 sum on comm world: ranks 0,1,3 entered" "$diagnosis"
    expect "dead rank: rank 2 left no dump, and " "$diagnosis" ;;
  stop) # which survivors time out, and which are aborted by the first, is a race
    expect "dumps from ranks 0,1,3; none from rank 2" "$diagnosis"
    expect "call #5 all_reduce float32 x 65536 sum on comm world: ranks 0,1,3 entered" "$diagnosis"
    expect "missing rank: rank 2 left no dump, and " "$diagnosis"
    expect "waited in call #5 for it" "$diagnosis" ;;
  mismatch) # a rank still finishing call #4 when the first to see the mismatch aborts the rest
    # never enters call #5, so which of 0, 1 and 3 the line lists is a race
    expect "mismatch: at call #5 the ranks' calls differ: ranks " "$diagnosis"
    expect ": all_reduce float32 x 65536 sum; rank 2: all_reduce float32 x 32768 sum" "$diagnosis" ;;
  slow)
    expect "slow rank: rank 2 entered" "$diagnosis" ;;
esac
for live in 0 1 3; do
  refuse "dead rank: rank $live" "$diagnosis"
  refuse "missing rank: rank $live" "$diagnosis"
  refuse "no dump from rank $live" "$diagnosis"
  refuse "slow rank: rank $live" "$diagnosis"
done
if grep -h "UCX  WARN" "$dir"/out-*; then
  echo "UNEXPECTED: UCX warnings (above)"
  failed=1
fi
# A killed process's endpoints fail at once; a stopped one's wait, and the watchdog speaks
# before the timeout, on a survivor, about call #5.
if [ "$fault" = stop ]; then
  expect "(all_reduce call #5" "$warnings"
  expect "still waiting after 1" "$warnings"
fi
if ((failed)); then
  for ((r = 0; r < world; ++r)); do
    echo "---- rank $r"
    cat "$dir/out-$r"
  done
  exit 1
fi
