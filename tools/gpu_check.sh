#!/usr/bin/env bash
# nucseg on an NVIDIA GPU: build against a CUDA LibTorch and compare with the CPU.
#
# Two machines, two steps (docs/hpc.md, "The GPU check"):
#  1. Here, on Debian 12 with nucseg's dependencies installed (tools/install_deps.sh):
#       tools/gpu_check.sh packages       list the Debian packages a GPU machine lacks
#       tools/gpu_check.sh fetch [DIR]    apt-get download them into DIR (default: gpu-debs/)
#     The list is the dev packages (headers, CMake files) of HDF5, Open MPI, OpenCV, toml++,
#     spdlog, fmt, libtiff and GoogleTest, openmpi-bin, and every package holding a shared
#     library those load here (ldd), except the C and C++ runtimes, which must be the GPU
#     machine's own. Carry DIR to the GPU machine with the working tree.
#  2. There (an NVIDIA GPU, CUDA toolkit, a pip PyTorch with CUDA, CMake, Ninja, a compiler):
#       tools/gpu_check.sh run [--dry-run] [--debs DIR] [--work DIR] [--steps N] [--tolerance T]
#     unpacks the packages with `dpkg -x` into WORK/prefix (never into /), builds nucseg in
#     WORK/build against the pip torch's LibTorch (torch.utils.cmake_prefix_path) and that prefix,
#     then: the dist, model and train tests (train.device is auto there: the trainer tests run
#     on the GPU); N training steps on 1 rank and on 2 ranks sharing GPU 0, each against the
#     same run on the CPU (step losses within T, relative); inference of held-out images on
#     the GPU against the CPU (instance labels agreeing on >= 99.5% of pixels in float32;
#     bfloat16 and float16 reported); images/s of training and inference on both.
#     --dry-run prints the plan and checks the inputs only: exit 0 when all are there, 1 when
#     something is missing (listed), 2 for a usage error. Results: WORK/summary.txt.
# env: NUCSEG_GPU_PYTHON  Python with the CUDA torch (default python3)
#      NUCSEG_GPU_JOBS    build jobs (default: nproc)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here="$root/tools/gpu"
python=${NUCSEG_GPU_PYTHON:-python3}
# shellcheck source=tools/gpu/lib.sh
source "$here/lib.sh"
# shellcheck source=tools/gpu/runs.sh
source "$here/runs.sh"

usage() { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case "$cmd" in
  packages) gpu_packages; exit 0 ;;
  fetch)
    dir=${1:-$root/gpu-debs}
    mkdir -p "$dir"
    mapfile -t pkgs < <(gpu_packages)
    (cd "$dir" && apt-get download "${pkgs[@]}")
    echo "gpu_check: $(find "$dir" -name '*.deb' | wc -l) packages, $(du -sh "$dir" | cut -f1) in $dir"
    exit 0 ;;
  run) ;;
  -h | --help | help | "") usage; exit 0 ;;
  *) echo "gpu_check: unknown command '$cmd' (packages, fetch, run)" >&2; exit 2 ;;
esac

dry_run=0 debs=$root/gpu-debs work=$root/gpu-check steps=6 tolerance=0.02
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --debs) debs=${2:?--debs needs a folder}; shift ;;
    --work) work=${2:?--work needs a folder}; shift ;;
    --steps) steps=${2:?--steps needs a number}; shift ;;
    --tolerance) tolerance=${2:?--tolerance needs a number}; shift ;;
    *) echo "gpu_check: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
[[ $steps =~ ^[1-9][0-9]*$ ]] || { echo "gpu_check: --steps must be a positive integer" >&2; exit 2; }
[[ $tolerance =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "gpu_check: --tolerance must be a number" >&2; exit 2; }

echo "plan:"
echo "  1. unpack $debs/*.deb with dpkg -x into $work/prefix"
echo "  2. configure and build nucseg in $work/build against the pip torch's LibTorch and $work/prefix"
echo "  3. ctest -R 'dist|model|train' (train.device = auto: the trainer tests run on the GPU)"
echo "  4. training, $steps steps, 1 rank and 2 ranks sharing GPU 0, each against the CPU: step losses within $tolerance (relative)"
echo "  5. inference of held-out images on the GPU against the CPU: labels agree on >= 99.5% of pixels (float32; bfloat16, float16 reported)"
echo "  6. images/s of training and inference, CPU and GPU; all results in $work/summary.txt"
echo "checks:"
missing=0
check_inputs "$debs" || missing=1
if [[ $dry_run == 1 ]]; then
  [[ $missing == 0 ]] && echo "gpu_check: dry run: every input is there" || echo "gpu_check: dry run: inputs missing (above)"
  exit "$missing"
fi
[[ $missing == 0 ]] || { echo "gpu_check: inputs missing (above); nothing was run" >&2; exit 1; }

mkdir -p "$work"
summary=$work/summary.txt
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }
note "nucseg GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
note "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -n1)"
note "torch: $("$python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version())')"

unpack_prefix "$debs" "$work/prefix"
build_nucseg "$work/prefix" "$work/build"
apps=$work/build/src/apps
failed=0
run_tests "$work/build" || failed=1
make_data "$apps" "$work/data"
compare_training "$apps" "$work/data" "$work/train" "$steps" "$tolerance" || failed=1
compare_inference "$apps" "$work/data" "$work/train" "$work/infer" || failed=1
if [[ $failed == 0 ]]; then note "gpu_check: every check passed"; else note "gpu_check: some checks FAILED (above)"; fi
exit "$failed"
