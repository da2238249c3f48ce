#!/usr/bin/env bash
# Installs every Debian 12 package nucseg, its tests and its demo need.
# Idempotent: when everything is present it only checks (about a second).
# Usage: tools/install_deps.sh [--with-slurm] [--with-peer]
#   --with-slurm  also install slurm-wlm and munge (the Slurm tests need them)
#   --with-peer   also install python3-torchvision (the speed baseline)
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools
  libopencv-dev libtiff-dev
  libtomlplusplus-dev libspdlog-dev libfmt-dev libgtest-dev
  python3 python3-h5py python3-numpy python3-scipy python3-skimage
  python3-pandas python3-matplotlib python3-opencv python3-tifffile
  python3-torch
)
for arg in "$@"; do
  case "$arg" in
    --with-slurm) packages+=(slurm-wlm munge) ;;
    --with-peer) packages+=(python3-torchvision) ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "install_deps.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [[ "$status" == ii* ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install_deps: installing ${#missing[@]} missing packages: ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install_deps: done"
