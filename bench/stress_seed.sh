#!/usr/bin/env bash
# Stability (not part of CI): the seed module 20 times in a row on CPU ranks, then 10 rounds of
# two runs started at the same moment. Any failure stops the script with that run's output.
set -u
cd "$(dirname "$0")/.."
seed=test/distributed/fsdp/test_fsdp_dtensor_state_dict.py
rounds=${ROUNDS:-20}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
for i in $(seq 1 "$rounds"); do
  if ! python3 "$seed" --device cpu >"$log/seq.$i" 2>&1 || ! grep -q "Ran 15 tests" "$log/seq.$i"; then
    echo "sequential run $i failed:"; tail -40 "$log/seq.$i"; exit 1
  fi
done
echo "sequential: $rounds/$rounds passed"
pairs=${PAIRS:-10}
for i in $(seq 1 "$pairs"); do
  python3 "$seed" --device cpu >"$log/a.$i" 2>&1 & a=$!
  python3 "$seed" --device cpu >"$log/b.$i" 2>&1 & b=$!
  wait $a; ra=$?; wait $b; rb=$?
  if [ $ra -ne 0 ] || [ $rb -ne 0 ]; then
    echo "concurrent round $i failed (rc $ra, $rb):"; tail -30 "$log/a.$i" "$log/b.$i"; exit 1
  fi
done
echo "concurrent: $pairs/$pairs pairs passed"
