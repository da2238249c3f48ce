#!/usr/bin/env bash
# jobs/gpu.sh with a stand-in sbatch that records its arguments: one rank per GPU, the stage's
# job script, the configuration as an absolute path, the tool options, then <stage>.device=cuda.
# Usage: gpu_submit_test.sh <source dir>
set -euo pipefail
root=$1
t=$(mktemp -d "${TMPDIR:-/tmp}/nucseg-gpu-submit.XXXXXX")
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
bash -n "$root/jobs/gpu.sh" || fail "bash -n jobs/gpu.sh"
if command -v shellcheck >/dev/null; then shellcheck "$root/jobs/gpu.sh" || fail "shellcheck jobs/gpu.sh"; fi
mkdir "$t/bin"
printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s/args"\n' "$t" >"$t/bin/sbatch"
chmod +x "$t/bin/sbatch"
touch "$t/run.toml"
cd "$t"

PATH=$t/bin:$PATH "$root/jobs/gpu.sh" train run.toml --set train.epochs=3
mapfile -t args <"$t/args"
want=(--ntasks-per-node=4 --gpus-per-task=1 --gpu-bind=single:1 --cpus-per-task=8 "$root/jobs/train.sbatch"
  "$t/run.toml" --set train.epochs=3 --set train.device=cuda)
[[ "${args[*]}" == "${want[*]}" ]] || fail "train: sbatch got '${args[*]}', expected '${want[*]}'"

NUCSEG_GPU_SBATCH="--nodes=2 --gpus-per-node=8" PATH=$t/bin:$PATH "$root/jobs/gpu.sh" infer run.toml
mapfile -t args <"$t/args"
want=(--nodes=2 --gpus-per-node=8 "$root/jobs/infer.sbatch" "$t/run.toml" --set infer.device=cuda)
[[ "${args[*]}" == "${want[*]}" ]] || fail "infer: sbatch got '${args[*]}', expected '${want[*]}'"

set +e
PATH=$t/bin:$PATH "$root/jobs/gpu.sh" pack run.toml >/dev/null 2>&1; [[ $? == 2 ]] || fail "pack is not a GPU stage: exit 2"
PATH=$t/bin:$PATH "$root/jobs/gpu.sh" train missing.toml >/dev/null 2>&1; [[ $? == 2 ]] || fail "a missing config: exit 2"
set -e
"$root/jobs/gpu.sh" --help | grep -q "gpus-per-task" || fail "--help shows the sbatch options"
echo "gpu_submit_test: ok"
