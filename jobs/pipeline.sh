#!/usr/bin/env bash
# Submits the whole nucseg pipeline as three chained Slurm jobs: pack -> train -> infer.
# Each job starts only when the one before it succeeded (--dependency=afterok); a failure
# leaves the later jobs pending with reason DependencyNeverSatisfied (scancel them).
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
config=$(realpath -- "$1")  # the jobs may start in another folder than this shell
shift
[[ -r "$config" ]] || { echo "$me: cannot read configuration '$config'" >&2; exit 2; }
jobs_dir=${NUCSEG_JOBS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

read -r -a pack_opts <<<"${NUCSEG_PACK_SBATCH:-}"
read -r -a train_opts <<<"${NUCSEG_TRAIN_SBATCH:-}"
read -r -a infer_opts <<<"${NUCSEG_INFER_SBATCH:-}"

# sbatch --parsable prints "id" or "id;cluster".
submit() {
  local out
  out=$(sbatch --parsable "$@") || { echo "$me: sbatch $* failed" >&2; return 1; }
  echo "${out%%;*}"
}

ids=()
after=()
if [[ "${NUCSEG_SKIP_PACK:-0}" != 1 ]]; then
  pack_id=$(submit "${pack_opts[@]}" "$jobs_dir/pack.sbatch" "$config" "$@")
  echo "pack $pack_id"
  ids+=("$pack_id")
  after=(--dependency="afterok:$pack_id")
fi
train_id=$(submit "${after[@]}" "${train_opts[@]}" "$jobs_dir/train.sbatch" "$config" "$@")
echo "train $train_id"
ids+=("$train_id")
infer_id=$(submit --dependency="afterok:$train_id" "${infer_opts[@]}" "$jobs_dir/infer.sbatch" "$config" "$@")
echo "infer $infer_id"
ids+=("$infer_id")
echo "jobs: ${ids[*]}"
