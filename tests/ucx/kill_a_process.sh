#!/bin/bash
# UCX processes of the data-parallel sample meet through a rendezvous directory (no MPI launcher,
# which would end the whole job); one of them, chosen at random, kills itself with SIGKILL at a
# random step, or with STOP stops itself (SIGSTOP: alive but silent, so only the timeout reveals
# it). The others must finish the run, name the lost rank, agree bit for bit, and exit without
# UCX's warnings about requests left behind. A stopped rank must cost one timeout, not two: the
# survivors train again within 1.5 timeouts of the stop.
# Usage: kill_a_process.sh TRAINER [KILL|STOP] [WORLD]
set -u
trainer=$1 signal=${2:-KILL} world=${3:-3}
timeout_s=10
[ "$signal" = STOP ] && timeout_s=3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
kill_rank=$((RANDOM % world))
kill_step=$((3 + RANDOM % 40))
stop_flag=()
[ "$signal" = STOP ] && stop_flag=(--stop)
echo "rank $kill_rank will get SIG$signal before step $kill_step, of $world UCX processes"
pids=()
for ((r = 0; r < world; ++r)); do
  COLT_TIMEOUT_S=$timeout_s "$trainer" --rank "$r" --world "$world" --rendezvous "$dir/meet" \
    --kill-rank "$kill_rank" --kill-at-step "$kill_step" "${stop_flag[@]}" --steps 50 \
    --commit-every 10 --hidden 32 --batch 64 --samples 0 >"$dir/out-$r" 2>&1 &
  pids+=($!)
done
failed=0
for ((r = 0; r < world; ++r)); do
  ((r == kill_rank)) && continue
  wait "${pids[r]}"
  status=$?
  ((status == 0)) || { echo "rank $r exited with $status, expected 0"; failed=1; }
done
# A stopped rank is still there when the survivors are done: end it as its launcher would.
[ "$signal" = STOP ] && kill -KILL "${pids[kill_rank]}"
{ wait "${pids[kill_rank]}"; } 2>/dev/null
status=$?
if ((status != 137)); then # 128 + SIGKILL
  echo "rank $kill_rank exited with $status, expected 137 (SIGKILL)"
  failed=1
fi
summary=$(cat "$dir"/out-* | grep -E "died during step|bitwise identical|kill to training")
echo "$summary"
grep -q "rank $kill_rank died during step $kill_step" <<<"$summary" || failed=1
grep -q "survivors' parameters bitwise identical" <<<"$summary" || failed=1
# From the kill (or stop) to training again, as the new rank 0 measured it.
ms=$(sed -n 's/^from the kill to training again: \([0-9]*\).*/\1/p' <<<"$summary")
if [ -z "$ms" ]; then
  echo "MISSING: the time from the kill to training again"
  failed=1
elif [ "$signal" = STOP ] && ((ms > timeout_s * 1500)); then
  echo "the survivors trained again $ms ms after the stop: more than 1.5 timeouts of $timeout_s s"
  failed=1
fi
if grep -h "UCX  WARN" "$dir"/out-*; then
  echo "UNEXPECTED: UCX warnings from the survivors (above)"
  failed=1
fi
if ((failed)); then
  for ((r = 0; r < world; ++r)); do
    echo "---- rank $r"
    cat "$dir/out-$r"
  done
  exit 1
fi
