#!/usr/bin/env bash
# A rank killed with SIGKILL must end the whole job (nonzero) within a bounded time; the
# surviving rank, blocked in a collective, must not hang. Usage: kill_rank_test.sh MPIEXEC PROGRAM
set -u
mpiexec=$1
program=$2
limit=100  # generous: starting 2 processes that load libtorch is slow on a busy machine
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s%N)
timeout --kill-after=5 "$limit" "$mpiexec" -n 2 --allow-run-as-root --oversubscribe --bind-to none "$program" >"$log" 2>&1
rc=$?
end_ms=$(($(date +%s%N) / 1000000))
elapsed_ms=$((end_ms - start / 1000000))
elapsed="$((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000)))"
cat "$log"
echo "kill_rank_test: mpiexec exit code $rc after ${elapsed}s"
# mpiexec itself exits 137 (128 + SIGKILL) when a rank was killed: decide "hung" by the clock.
if ((elapsed_ms >= limit * 1000)); then
  echo "FAIL: the job was still running after ${limit}s: the surviving rank hangs"
  exit 1
fi
if [[ $rc -eq 0 ]]; then
  echo "FAIL: mpiexec reported success although a rank was killed"
  exit 1
fi
if ! grep -q "rank 0 enters an all-reduce" "$log"; then
  echo "FAIL: rank 0 never reached the collective; the test did not exercise a hang"
  exit 1
fi
killed_at=$(sed -n 's/.*SIGKILL at \([0-9]*\) ms.*/\1/p' "$log")
if [[ -z "$killed_at" ]]; then
  echo "FAIL: rank 1 did not report its kill"
  exit 1
fi
echo "kill_rank_test: the job ended $((end_ms - killed_at)) ms after the kill"
if ((end_ms - killed_at > 30000)); then
  echo "FAIL: the job took more than 30 s to end after the kill"
  exit 1
fi
echo "PASS: the job ended with an error instead of hanging"
