# shellcheck shell=bash
# Helpers shared by the Slurm test drivers (sourced): one private cluster per test, waiting
# for jobs, and a failure report with the job logs. Needs NUCSEG_SOURCE_DIR (set by CTest).
set -euo pipefail

: "${NUCSEG_SOURCE_DIR:?NUCSEG_SOURCE_DIR must name the source tree}"
readonly cluster_sh="$NUCSEG_SOURCE_DIR/tools/slurm/cluster.sh"
test_name=$(basename "$0" .sh)
t_start=$SECONDS

say() { echo "[$test_name +$((SECONDS - t_start))s] $*"; }
fail() { echo "[$test_name] FAIL: $*" >&2; exit 1; }

# Starts the cluster and makes the EXIT trap stop it whatever happens; sets $work, $state.
slurm_setup() {
  work=$(mktemp -d /tmp/nucseg-slurm-test.XXXXXX)
  state=$(mktemp -u /tmp/nucseg-slurm.XXXXXX)
  trap slurm_cleanup EXIT
  trap 'exit 143' TERM INT
  local env_line
  # 4 CPUs whatever the runner has: 2-task jobs and the test's own srun fit side by side.
  env_line=$(NUCSEG_SLURM_OWNER_PID=$$ NUCSEG_SLURM_CPUS=4 "$cluster_sh" start "$state") || fail "cluster did not start"
  eval "$env_line"
  [[ -n "${SLURM_CONF:-}" ]] || fail "cluster.sh printed no SLURM_CONF"
  # Job scripts submitted from the tests run as root: let mpirun start there too.
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  cd "$work"
  say "cluster up: $SLURM_CONF, work dir $work"
}

slurm_cleanup() {
  local rc=$? f
  trap - EXIT
  if ((rc != 0)); then
    echo "---- $test_name failed (rc $rc); queue and job outputs:" >&2
    squeue 2>/dev/null >&2 || true
    for f in "$work"/*.out; do
      [[ -r "$f" ]] || continue
      echo "---- $f" >&2
      tail -n 40 "$f" >&2 || true
    done
    for f in "$state"/log/slurmctld.log "$state"/log/slurmd.log; do
      [[ -r "$f" ]] || continue
      echo "---- tail of $f" >&2
      tail -n 15 "$f" >&2 || true
    done
  fi
  "$cluster_sh" stop "$state" >&2 || rc=1
  if [[ -n "${NUCSEG_KEEP_WORK:-}" ]]; then echo "work dir kept: $work" >&2; else rm -rf -- "$work"; fi
  exit "$rc"
}

# One field of `scontrol show job` (JobState, ExitCode, Restarts, Reason, ...).
job_field() {
  scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2; exit }'
}

# Waits until job $1 reaches a final state (at most $2 seconds) and prints that state.
# Requeued jobs are not final: they go back to PENDING and run again.
wait_job() {
  local id=$1 limit=$2 deadline=$((SECONDS + $2)) st
  while ((SECONDS < deadline)); do
    st=$(job_field "$id" JobState)
    case "$st" in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
        echo "$st"
        return 0
        ;;
    esac
    sleep 0.5
  done
  fail "job $id not finished after $limit s (state ${st:-unknown})"
}

# Waits until job $1 is RUNNING (at most $2 seconds).
wait_running() {
  local id=$1 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    [[ "$(job_field "$id" JobState)" == RUNNING ]] && return 0
    sleep 0.3
  done
  fail "job $id did not start within $2 s (state $(job_field "$id" JobState), reason $(job_field "$id" Reason))"
}

# Slurm holds a requeued job for about two minutes (BeginTime); the test releases it as soon
# as every process of the previous attempt has ended. (train.sbatch itself waits for its step
# daemons before requeueing: a requeue that killed one left a stale PMIx socket behind, and
# the next attempt's step then failed to launch.)
release_requeued() {
  local id=$1 deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    if [[ "$(job_field "$id" Restarts)" -ge 1 && "$(job_field "$id" JobState)" == PENDING ]] &&
      ! scontrol listpids "$id" >/dev/null 2>&1; then
      sleep 1
      scontrol update JobId="$id" StartTime=now
      return 0
    fi
    sleep 0.3
  done
  fail "job $id was not requeued (state $(job_field "$id" JobState), restarts $(job_field "$id" Restarts))"
}

expect_grep() {  # pattern file what
  grep -qE -- "$1" "$2" || fail "$3: no line matching '$1' in $2"
}
