#!/usr/bin/env bash
# Submits the whole nucseg pipeline as three chained Slurm jobs: pack -> train -> infer.
# Each job starts only when the one before it succeeded (--dependency=afterok); a failure
# leaves the later jobs pending with reason DependencyNeverSatisfied (scancel them). A requeued
# train job (preemption) holds infer back until it has really completed. When sbatch refuses
# a submission, the jobs already submitted are cancelled and the script exits 1.
#
# Usage:
#   jobs/pipeline.sh CONFIG.toml [tool options...]
#   e.g. jobs/pipeline.sh run.toml --set train.epochs=50
#   jobs/pipeline.sh --help
#
# Arguments:
#   CONFIG.toml      one configuration for all three tools: pack.output must equal
#                    data.shards, and infer.model the train.output of the run
#   tool options     passed to all three tools; every tool accepts every valid key and uses
#                    its own sections, so --set train.max_steps=100 is fine for all three
#
# Environment:
#   NUCSEG_JOBS_DIR      folder of the job scripts (default: this script's folder)
#   NUCSEG_PACK_SBATCH   extra sbatch options for the pack job, split on spaces
#   NUCSEG_TRAIN_SBATCH  extra sbatch options for the train job (e.g. "--nodes=4 --time=12:00:00")
#   NUCSEG_INFER_SBATCH  extra sbatch options for the infer job (e.g. "--ntasks=32")
#   NUCSEG_SKIP_PACK     1: the shards exist; submit train -> infer only
#   and everything the job scripts read (NUCSEG_BIN, NUCSEG_LAUNCHER, ...): sbatch passes
#   this environment on to the jobs.
#
# Output: one line per job ("pack 123", "train 124", "infer 125") and a last line
# "jobs: 123 124 125" (the ids in order, for scripts).
set -euo pipefail

me="pipeline.sh"
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 0
fi
[[ $# -ge 1 && "$1" != -* ]] || { echo "$me: usage: pipeline.sh CONFIG.toml [tool options...]" >&2; exit 2; }
[[ -r "$1" ]] || { echo "$me: cannot read configuration '$1'" >&2; exit 2; }
config=$(realpath -- "$1")  # the jobs may start in another folder than this shell
shift
jobs_dir=${NUCSEG_JOBS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

read -r -a pack_opts <<<"${NUCSEG_PACK_SBATCH:-}"
read -r -a train_opts <<<"${NUCSEG_TRAIN_SBATCH:-}"
read -r -a infer_opts <<<"${NUCSEG_INFER_SBATCH:-}"

ids=()
# sbatch --parsable prints "id" or "id;cluster". A refused submission cancels the jobs already
# submitted, so no half pipeline is left waiting in the queue.
submit() {
  local out
  if ! out=$(sbatch --parsable "$@"); then
    echo "$me: sbatch $* failed" >&2
    if ((${#ids[@]} > 0)); then
      scancel "${ids[@]}" || true
      echo "$me: cancelled the jobs already submitted: ${ids[*]}" >&2
    fi
    exit 1
  fi
  out=${out%%;*}
  ids+=("$out")
}

after=()
if [[ "${NUCSEG_SKIP_PACK:-0}" != 1 ]]; then
  submit "${pack_opts[@]}" "$jobs_dir/pack.sbatch" "$config" "$@"
  echo "pack ${ids[-1]}"
  after=(--dependency="afterok:${ids[-1]}")
fi
submit "${after[@]}" "${train_opts[@]}" "$jobs_dir/train.sbatch" "$config" "$@"
echo "train ${ids[-1]}"
submit --dependency="afterok:${ids[-1]}" "${infer_opts[@]}" "$jobs_dir/infer.sbatch" "$config" "$@"
echo "infer ${ids[-1]}"
echo "jobs: ${ids[*]}"
