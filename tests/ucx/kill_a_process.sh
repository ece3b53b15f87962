#!/bin/bash
# Three UCX processes of the data-parallel sample meet through a rendezvous directory (no MPI
# launcher, which would end the whole job); one of them, chosen at random, kills itself with
# SIGKILL at a random step. The other two must finish the run, name the dead rank, and agree bit
# for bit. Usage: kill_a_process.sh TRAINER
set -u
trainer=$1
world=3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
kill_rank=$((RANDOM % world))
kill_step=$((3 + RANDOM % 40))
echo "rank $kill_rank will die by SIGKILL before step $kill_step"
pids=()
for ((r = 0; r < world; ++r)); do
  COLT_TIMEOUT_S=10 "$trainer" --rank "$r" --world "$world" --rendezvous "$dir/meet" \
    --kill-rank "$kill_rank" --kill-at-step "$kill_step" --steps 50 --commit-every 10 \
    --hidden 32 --batch 64 --samples 0 >"$dir/out-$r" 2>&1 &
  pids+=($!)
done
failed=0
for ((r = 0; r < world; ++r)); do
  wait "${pids[r]}"
  status=$?
  expected=0
  ((r == kill_rank)) && expected=137 # 128 + SIGKILL
  if ((status != expected)); then
    echo "rank $r exited with $status, expected $expected"
    failed=1
  fi
done
summary=$(cat "$dir"/out-* | grep -E "died during step|bitwise identical|kill to training")
echo "$summary"
grep -q "rank $kill_rank died during step $kill_step" <<<"$summary" || failed=1
grep -q "survivors' parameters bitwise identical" <<<"$summary" || failed=1
if ((failed)); then
  for ((r = 0; r < world; ++r)); do
    echo "---- rank $r"
    cat "$dir/out-$r"
  done
  exit 1
fi
