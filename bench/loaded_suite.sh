#!/usr/bin/env bash
# Stability under load (not part of CI): README's test command RUNS times in a row (default 5) while
# a second job keeps the machine busy (the seed module on 4 CPU ranks, in a loop). Prints each run's
# result line and time; any failing run stops the script with its output. The load ends with it.
set -u
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
seed=test/distributed/fsdp/test_fsdp_dtensor_state_dict.py
log=$(mktemp -d)
# the load runs in its own session, so one kill of its process group ends it and its ranks
setsid bash -c '
  n=0
  while :; do
    python3 "$0" --device cpu >"$1/load.out" 2>&1 || { echo "load run failed:"; tail -20 "$1/load.out"; }
    n=$((n + 1)); echo "$n" >"$1/load.count"
  done' "$seed" "$log" &
loader=$!
trap 'kill -- -$loader 2>/dev/null; wait $loader 2>/dev/null; rm -rf "$log"' EXIT
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  python3 -m pytest tests -q -p no:cacheprovider >"$log/run.$i" 2>&1 && python3 run_test.py --device cpu >>"$log/run.$i" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  pytest_line=$(grep -E "(passed|failed).* in [0-9.]+s" "$log/run.$i" | tail -1)
  runner_line=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$log/run.$i" | tail -1)
  echo "run $i: rc=$rc ${secs}s pytest: ${pytest_line:-?} | run_test.py: ${runner_line:-?} | load runs so far: $(cat "$log/load.count" 2>/dev/null || echo 0)"
  if [ "$rc" -ne 0 ]; then
    echo "run $i failed:"; grep -E "FAILED|ERROR|Error" "$log/run.$i" | head -40; tail -60 "$log/run.$i"; exit 1
  fi
done
echo "loaded suite: $runs/$runs runs passed"
