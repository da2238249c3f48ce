#!/usr/bin/env bash
# Runs nucseg's benchmarks; each prints its numbers and ratios against a baseline measured in
# the same run. Results are recorded by hand in docs/benchmarks.md (machine and date).
# Usage: tools/bench.sh <name>... | all | list
#   names: the scripts in tools/bench/ (pack, synth, model, train, scale, infer)
#   NUCSEG_BUILD_DIR  build folder (default: build; built first if needed)
# Installs what is missing first (tools/install_deps.sh --with-peer: the peer needs torchvision).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_dir="$root/tools/bench"
available=$(cd "$bench_dir" && ls ./*.sh 2>/dev/null | sed 's|^\./||; s|\.sh$||' | sort | tr '\n' ' ')

if [[ $# -eq 0 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,7p' "$0"
  echo "available: $available"
  exit 0
fi
if [[ "$1" == "list" ]]; then echo "$available"; exit 0; fi

names=("$@")
if [[ "$1" == "all" ]]; then read -r -a names <<<"$available"; fi
# Names checked before anything is installed or built.
for name in "${names[@]}"; do
  if [[ ! -x "$bench_dir/$name.sh" ]]; then
    echo "bench.sh: unknown benchmark '$name' (available: $available)" >&2
    exit 2
  fi
done

# The benchmarks time the PyTorch peer beside nucseg: on a fresh machine torchvision is missing.
"$root/tools/install_deps.sh" --with-peer
build_dir=${NUCSEG_BUILD_DIR:-$root/build}
export NUCSEG_BUILD_DIR="$build_dir"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Transparent huge pages for malloc's heap (docs/hpc.md, "Memory"), for every rank and for the
# peer alike: glibc reads this only when a process starts.
case ":${GLIBC_TUNABLES:-}:" in
  *:glibc.malloc.hugetlb=*) ;;
  *) export GLIBC_TUNABLES="${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.malloc.hugetlb=1" ;;
esac
if [[ ! -f "$build_dir/build.ninja" ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build_dir" >/dev/null

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -m), $(date -u +%Y-%m-%d)"
for name in "${names[@]}"; do
  echo "== $name"
  "$bench_dir/$name.sh"
done
