#!/usr/bin/env bash
# Submits nucseg training or inference to GPU nodes: jobs/train.sbatch or jobs/infer.sbatch
# with one rank per GPU. NOT YET RUN ON A GPU CLUSTER (docs/hpc.md says what was run).
#
# Usage:
#   jobs/gpu.sh train|infer CONFIG.toml [tool options...]
#   e.g. NUCSEG_GPU_SBATCH="--nodes=2 --gpus-per-node=4" jobs/gpu.sh train run.toml
#   jobs/gpu.sh --help
#
# What it submits (sbatch options on the command line override the scripts' #SBATCH lines):
#   --ntasks-per-node=4 --gpus-per-task=1 --gpu-bind=single:1 --cpus-per-task=8
#   and --set <stage>.device=cuda after your tool options (a node without a GPU then fails
#   at once, exit 2, instead of running on its CPU).
# Each task sees one GPU (Slurm sets CUDA_VISIBLE_DEVICES per task) and nucseg takes GPU
# (local rank mod visible GPUs) = 0; where a site shows every task all of the node's GPUs,
# the same rule spreads the local ranks over them. Training and inference share the rule
# (dist/device.hpp).
#
# Environment:
#   NUCSEG_JOBS_DIR     folder of the job scripts (default: this script's folder)
#   NUCSEG_GPU_SBATCH   sbatch options replacing the defaults above, split on spaces
#   NUCSEG_GPUS_PER_NODE  tasks (= GPUs) per node for the defaults (default 4)
#   and everything the job scripts read (NUCSEG_BIN, NUCSEG_LAUNCHER, ...).
set -euo pipefail

me="gpu.sh"
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 0
fi
stage=${1:-}
[[ $stage == train || $stage == infer ]] || { echo "$me: usage: gpu.sh train|infer CONFIG.toml [tool options...]" >&2; exit 2; }
shift
[[ $# -ge 1 && -r "$1" ]] || { echo "$me: cannot read configuration '${1:-}'" >&2; exit 2; }
config=$(realpath -- "$1")
shift
jobs_dir=${NUCSEG_JOBS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
per_node=${NUCSEG_GPUS_PER_NODE:-4}
read -r -a options <<<"${NUCSEG_GPU_SBATCH:---ntasks-per-node=$per_node --gpus-per-task=1 --gpu-bind=single:1 --cpus-per-task=8}"
exec sbatch "${options[@]}" "$jobs_dir/$stage.sbatch" "$config" "$@" --set "$stage.device=cuda"
