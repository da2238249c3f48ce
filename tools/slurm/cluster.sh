#!/usr/bin/env bash
# A private single-node Slurm cluster on loopback, for tests and for trying the job scripts.
#
# Usage:
#   tools/slurm/cluster.sh start  [STATE_DIR]   start munged, slurmctld, slurmd; wait until the
#                                               node is idle; print `export SLURM_CONF=...`
#   tools/slurm/cluster.sh status [STATE_DIR]   exit 0 when all three daemons run, else 1
#   tools/slurm/cluster.sh stop   [STATE_DIR]   cancel its jobs, stop exactly the daemons it
#                                               started (by pid), remove STATE_DIR
#   tools/slurm/cluster.sh reap                 stop clusters whose owner process has died
#
# STATE_DIR defaults to $NUCSEG_SLURM_DIR, else (start only) a new /tmp/nucseg-slurm.XXXXXX.
# Keep it short: munge's Unix socket path must fit in 108 bytes.
#
# Typical use:   eval "$(tools/slurm/cluster.sh start /tmp/my-slurm)"; sbatch ...; \
#                tools/slurm/cluster.sh stop /tmp/my-slurm
#
# Environment:
#   NUCSEG_SLURM_OWNER_PID  a process whose death means the cluster is abandoned (a test
#                           driver passes $$); `start` and `reap` stop such leftovers.
#   NUCSEG_SLURM_CPUS       CPUs the node advertises (default: the machine's); more than the
#                           machine has is allowed (slurmd uses the configured count), so
#                           tests on a 1-core runner can still run 2-task jobs
#
# Everything is private: a munged with its own key and socket (AuthInfo=socket=...), free
# TCP ports chosen at start, state, spool, pid and log files under STATE_DIR. A munged or
# Slurm already running on the machine is never touched. Needs root (slurmd launches jobs
# as the submitting user) and Debian's slurm-wlm + munge (tools/install_deps.sh --with-slurm).
set -euo pipefail

readonly marker_name=".nucseg-slurm-cluster"
readonly daemons=(slurmd slurmctld munged)  # stop order: compute node, controller, auth

log() { echo "cluster.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# The pid in a pid file when that process is alive and is our daemon (its command line or
# environment names our state dir), else nothing: a recycled pid is never killed.
our_pid() {
  local dir=$1 name=$2 pidfile="$1/run/$2.pid" pid
  [[ -r "$pidfile" ]] || return 0
  pid=$(tr -dc '0-9' <"$pidfile")
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 0
  if tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qF "$dir/"; then echo "$pid"; fi
}

# Pids of leftover processes of this cluster that pid files do not name: slurmstepd (it
# keeps our slurmd log open; it starts with an empty environment) and every descendant of
# it, the job tasks of a killed run. Open files and working folders under the state dir
# identify them; a shell that merely exported this SLURM_CONF is never matched.
stray_pids() {
  local dir=$1 roots
  roots=$({
    find /proc/[0-9]*/fd -maxdepth 1 -lname "$dir/*" 2>/dev/null
    find /proc/[0-9]*/cwd -maxdepth 0 -lname "$dir/*" 2>/dev/null
  } | cut -d/ -f3 | sort -u || true)  # find fails on processes that end meanwhile
  [[ -n "$roots" ]] || return 0
  ps -eo pid=,ppid= | awk -v roots="$roots" -v self="$$" '
    BEGIN { n = split(roots, r, "\n"); for (i = 1; i <= n; i++) mark[r[i]] = 1 }
    { parent[$1] = $2 }
    END {
      for (p in parent) {
        for (q = p; q > 1; q = (q in parent) ? parent[q] : 0) {
          if (q == self) break
          if (q in mark) { print p; break }
        }
      }
    }'
}

# TERM, then KILL after a grace period; waits until each pid is gone.
terminate() {
  local pid left
  (($# > 0)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  for _ in $(seq 1 50); do
    left=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && left=1; done
    ((left)) || return 0
    sleep 0.2
  done
  kill -KILL "$@" 2>/dev/null || true
}

is_running() {
  local dir=$1 name
  for name in "${daemons[@]}"; do
    [[ -n "$(our_pid "$dir" "$name")" ]] || return 1
  done
}

stop_cluster() {
  local dir=$1 name pid strays
  [[ -d "$dir" ]] || { log "nothing at $dir"; return 0; }
  [[ -e "$dir/$marker_name" ]] || die "$dir was not made by cluster.sh (no $marker_name); not touching it"
  if [[ -n "$(our_pid "$dir" slurmctld)" ]]; then
    # Cancel jobs first so slurmd's step daemons end their tasks cleanly.
    SLURM_CONF="$dir/slurm.conf" timeout 10 scancel --quiet --full --partition=debug 2>/dev/null || true
    for _ in $(seq 1 25); do
      [[ -z "$(SLURM_CONF="$dir/slurm.conf" timeout 5 squeue -h -t running,completing -o %i 2>/dev/null)" ]] && break
      sleep 0.2
    done
  fi
  for name in "${daemons[@]}"; do
    pid=$(our_pid "$dir" "$name")
    if [[ -n "$pid" ]]; then
      log "stopping $name (pid $pid)"
      terminate "$pid"
    fi
  done
  mapfile -t strays < <(stray_pids "$dir")
  if ((${#strays[@]} > 0)); then
    log "stopping leftover job processes: ${strays[*]}"
    terminate "${strays[@]}"
  fi
  rm -rf -- "$dir"
  log "stopped; removed $dir"
}

# Stops clusters in /tmp whose recorded owner process is gone (a test killed by a timeout).
reap_abandoned() {
  local dir owner
  for dir in /tmp/nucseg-slurm.* "$@"; do
    [[ -e "$dir/$marker_name" && -r "$dir/owner" ]] || continue
    owner=$(tr -dc '0-9' <"$dir/owner")
    if [[ -n "$owner" ]] && ! kill -0 "$owner" 2>/dev/null; then
      log "reaping abandoned cluster $dir (owner pid $owner is gone)"
      stop_cluster "$dir" || true
    fi
  done
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_conf() {
  local dir=$1 host=$2 ctld_port=$3 slurmd_port=$4 cpus=$5 mem_mb=$6
  cat >"$dir/slurm.conf" <<EOF
# Generated by tools/slurm/cluster.sh for a private test cluster; removed by 'stop'.
ClusterName=nucseg
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
TmpFS=$dir/tmp
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
PlugStackConfig=$dir/plugstack.conf
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# pmix is available (srun --mpi=pmix); the default stays none as on most sites, so a plain
# srun of an MPI program is the mis-launch users meet in practice.
MpiDefault=none
ReturnToService=2
# The node is what this file says, not what slurmd detects (NUCSEG_SLURM_CPUS may exceed it).
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Finished jobs stay visible to scontrol for 10 minutes (tests read their exit codes).
MinJobAge=600
# Short grace between SIGTERM and SIGKILL keeps cancellations quick.
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE
EOF
  : >"$dir/plugstack.conf"
}

dump_logs() {
  local dir=$1 f
  for f in "$dir"/log/*; do
    [[ -r "$f" ]] || continue
    log "---- tail of $f"
    tail -n 20 "$f" >&2 || true
  done
}

start_cluster() {
  local dir=$1 host cpus mem_kb mem_mb ctld_port slurmd_port state
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    die "slurmctld/munged not found: run tools/install_deps.sh --with-slurm"
  fi
  [[ $(id -u) -eq 0 ]] || die "must run as root (slurmd starts jobs as the submitting user)"
  reap_abandoned "$dir"

  if [[ -e "$dir/$marker_name" ]] && is_running "$dir"; then
    log "already running at $dir"
    echo "export SLURM_CONF='$dir/slurm.conf'"
    return 0
  fi
  if [[ -e "$dir/$marker_name" ]]; then
    log "cleaning leftovers of an earlier run in $dir"
    stop_cluster "$dir"
  elif [[ -e "$dir" && -n "$(ls -A "$dir")" ]]; then
    die "$dir exists, is not empty and was not made by cluster.sh"
  fi

  mkdir -p "$dir"
  touch "$dir/$marker_name"
  echo "${NUCSEG_SLURM_OWNER_PID:-}" >"$dir/owner"
  # munged wants its socket directory reachable by everyone and its key readable by its
  # owner only; the key lives in a separate private folder.
  chmod 755 "$dir"
  mkdir -p "$dir/munge" "$dir/munge-key" "$dir/state" "$dir/spool" "$dir/tmp" "$dir/run" "$dir/log"
  chmod 755 "$dir/munge"
  chmod 700 "$dir/munge-key"
  chmod 1777 "$dir/tmp"

  host=$(hostname -s)
  # nproc honours OMP_NUM_THREADS (CTest sets it to 1): ask for the cores without it.
  cpus=${NUCSEG_SLURM_CPUS:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)}
  mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
  mem_mb=$((mem_kb * 9 / 10 / 1024))  # below the node's total so slurmd never reports "low memory"
  ctld_port=$(free_port)
  slurmd_port=$(free_port)
  while [[ "$slurmd_port" == "$ctld_port" ]]; do slurmd_port=$(free_port); done
  write_conf "$dir" "$host" "$ctld_port" "$slurmd_port" "$cpus" "$mem_mb"

  mungekey --create --keyfile="$dir/munge-key/munge.key" 2>/dev/null ||
    dd if=/dev/urandom of="$dir/munge-key/munge.key" bs=128 count=1 status=none
  chmod 600 "$dir/munge-key/munge.key"
  munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge-key/munge.key" \
    --log-file="$dir/log/munged.log" --pid-file="$dir/run/munged.pid" \
    --seed-file="$dir/munge-key/munged.seed" --num-threads=4 ||
    { dump_logs "$dir"; stop_cluster "$dir"; die "munged did not start"; }

  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -f "$dir/slurm.conf" || { dump_logs "$dir"; stop_cluster "$dir"; die "slurmctld did not start"; }
  slurmd -f "$dir/slurm.conf" -N "$host" || { dump_logs "$dir"; stop_cluster "$dir"; die "slurmd did not start"; }

  for _ in $(seq 1 150); do
    state=$(timeout 5 sinfo -h -N -n "$host" -o %T 2>/dev/null || true)
    if [[ "$state" == idle ]] && is_running "$dir"; then
      log "node $host idle (slurmctld port $ctld_port, slurmd port $slurmd_port, $cpus CPUs) in $dir"
      echo "export SLURM_CONF='$dir/slurm.conf'"
      return 0
    fi
    sleep 0.2
  done
  log "node did not become idle within 30 s (last state: '${state:-none}')"
  dump_logs "$dir"
  stop_cluster "$dir"
  exit 1
}

main() {
  local cmd=${1:-} dir=${2:-${NUCSEG_SLURM_DIR:-}}
  case "$cmd" in
    start)
      [[ -n "$dir" ]] || dir=$(mktemp -d /tmp/nucseg-slurm.XXXXXX)
      dir=$(realpath -m -- "$dir")
      start_cluster "$dir"
      ;;
    stop)
      [[ -n "$dir" ]] || die "stop needs STATE_DIR (or NUCSEG_SLURM_DIR)"
      stop_cluster "$(realpath -m -- "$dir")"
      ;;
    status)
      [[ -n "$dir" ]] || die "status needs STATE_DIR (or NUCSEG_SLURM_DIR)"
      dir=$(realpath -m -- "$dir")
      if is_running "$dir"; then
        SLURM_CONF="$dir/slurm.conf" sinfo -N >&2 || true
        echo "running: SLURM_CONF=$dir/slurm.conf"
      else
        echo "not running at $dir"
        exit 1
      fi
      ;;
    reap) reap_abandoned ;;
    -h | --help | help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) sed -n '4,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

main "$@"
