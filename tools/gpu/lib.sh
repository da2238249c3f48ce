# Functions of tools/gpu_check.sh (sourced; uses its $root, $here and $python).
# shellcheck shell=bash

# What the GPU machine lacks: dev packages (headers, CMake files, .so links) and the runtime
# packages their libraries load, as this Debian 12 machine resolves them.
gpu_dev_packages=(libhdf5-dev libopenmpi-dev openmpi-bin openmpi-common libopencv-dev libopencv-core-dev
  libopencv-imgproc-dev libopencv-imgcodecs-dev libtomlplusplus-dev libspdlog-dev libfmt-dev libtiff-dev
  libgtest-dev)
# The C and C++ runtimes must be the GPU machine's own (check_inputs checks their versions).
gpu_host_packages='^(libc6|libgcc-s1|libstdc\+\+6|gcc-12-base)$'
multiarch=x86_64-linux-gnu

gpu_packages() {
  command -v dpkg >/dev/null || { echo "gpu_check: packages needs dpkg (Debian 12)" >&2; return 1; }
  local libs=() p f
  for p in "${gpu_dev_packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || { echo "gpu_check: $p is not installed here (tools/install_deps.sh)" >&2; return 1; }
    while IFS= read -r f; do [[ -e $f ]] && libs+=("$(readlink -f "$f")"); done < <(dpkg -L "$p" | grep -E '\.so$')
  done
  # mpirun's own libraries and what Open MPI's and PMIx's plugins load.
  for f in /usr/bin/orterun /usr/bin/orted "/usr/lib/$multiarch"/openmpi/lib/openmpi3/*.so \
    "/usr/lib/$multiarch"/pmix2/lib/pmix/*.so; do
    [[ -e $f ]] && libs+=("$f")
  done
  local files=()
  mapfile -t files < <({ printf '%s\n' "${libs[@]}" | grep '\.so'; ldd "${libs[@]}" 2>/dev/null | awk '/=> \//{print $3}'; } |
    xargs -r readlink -f | sort -u)
  {
    printf '%s\n' "${gpu_dev_packages[@]}"
    # dpkg knows some files under /lib, some under /usr/lib (merged /usr): ask for both.
    { dpkg -S "${files[@]}" || true; dpkg -S "${files[@]#/usr}" || true; } 2>/dev/null | cut -d: -f1 | tr ',' '\n' | tr -d ' '
  } | grep -v -E "$gpu_host_packages" | grep -v '^$' | sort -u
}

ok() { printf '  ok       %s\n' "$*"; }
lacking() { printf '  missing  %s\n' "$*"; }

# Prints one line per input; returns 1 when something is missing.
check_inputs() {
  local debs=$1 bad=0 c
  for c in dpkg cmake ninja c++ nvidia-smi; do
    if command -v "$c" >/dev/null; then ok "$c"; else lacking "$c (not on PATH)"; bad=1; fi
  done
  if command -v nvcc >/dev/null || [[ -x /usr/local/cuda/bin/nvcc ]]; then ok "nvcc (CUDA toolkit, for LibTorch's CMake files)"
  else lacking "nvcc (CUDA toolkit; LibTorch's CMake files look for it)"; bad=1; fi
  local probe
  probe=$("$python" - <<'EOF' 2>/dev/null || true
import importlib, os
try:
    import torch
except Exception as e:
    print("torch-missing"); raise SystemExit
print("torch " + torch.__version__)
print("cuda " + ("yes" if torch.cuda.is_available() else "no"))
print("abi " + ("yes" if torch._C._GLIBCXX_USE_CXX11_ABI else "no"))
print("cmake " + ("yes" if os.path.isdir(torch.utils.cmake_prefix_path) else "no"))
for m in ("numpy", "h5py"):
    try:
        importlib.import_module(m); print(m + " yes")
    except Exception:
        print(m + " no")
EOF
)
  if [[ -z $probe || $probe == torch-missing ]]; then
    lacking "PyTorch in $python (set NUCSEG_GPU_PYTHON to a Python with the CUDA torch)"; bad=1
  else
    ok "$(grep '^torch ' <<<"$probe") in $python"
    # probe_says <line> <ok text> <missing text>
    probe_says() { if grep -qx "$1" <<<"$probe"; then ok "$2"; else lacking "$3"; bad=1; fi; }
    probe_says "cuda yes" "torch.cuda.is_available()" "a GPU torch sees (torch.cuda.is_available() is false)"
    # Debian's libraries (spdlog, fmt, OpenCV) use the C++11 string ABI; a torch without it cannot link with them.
    probe_says "abi yes" "torch built with the C++11 ABI" \
      "torch with the C++11 ABI (torch._C._GLIBCXX_USE_CXX11_ABI is false; Debian's libraries need it)"
    probe_says "cmake yes" "LibTorch CMake files (torch.utils.cmake_prefix_path)" "torch.utils.cmake_prefix_path"
    probe_says "numpy yes" "python numpy" "python numpy (the comparisons need it)"
    probe_says "h5py yes" "python h5py" "python h5py (the comparisons read HDF5 with it)"
  fi
  check_runtimes || bad=1
  if [[ ! -d $debs ]]; then
    lacking "$debs (run 'tools/gpu_check.sh fetch' on Debian 12 and carry the folder here)"; bad=1
  else
    local p found=0 total=${#gpu_dev_packages[@]}
    for p in "${gpu_dev_packages[@]}"; do
      if compgen -G "$debs/${p}_*.deb" >/dev/null; then found=$((found + 1)); else lacking "$debs/${p}_*.deb"; bad=1; fi
    done
    [[ $found == "$total" ]] && ok "$total dev packages and $(($(find "$debs" -name '*.deb' | wc -l) - total)) others in $debs"
  fi
  return "$bad"
}

# Debian 12's libraries were built against glibc 2.36 and GCC 12's libstdc++ (GLIBCXX_3.4.30).
check_runtimes() {
  local bad=0 glibc libstdcxx
  glibc=$(ldd --version 2>/dev/null | head -n1 | grep -oE '[0-9]+\.[0-9]+$' || true)
  if [[ -n $glibc ]] && printf '2.36\n%s\n' "$glibc" | sort -V -C; then ok "glibc $glibc (>= 2.36)"
  else lacking "glibc >= 2.36 for Debian 12's libraries (found ${glibc:-none})"; bad=1; fi
  libstdcxx=$(c++ -print-file-name=libstdc++.so.6 2>/dev/null || true)
  if [[ -f $libstdcxx ]] && grep -aq GLIBCXX_3.4.30 "$(readlink -f "$libstdcxx")"; then ok "libstdc++ with GLIBCXX_3.4.30"
  else lacking "libstdc++ with GLIBCXX_3.4.30 (GCC >= 12) for Debian 12's libraries"; bad=1; fi
  return "$bad"
}

unpack_prefix() {
  local debs=$1 prefix=$2 f
  mkdir -p "$prefix"
  echo "gpu_check: unpacking $(find "$debs" -name '*.deb' | wc -l) packages into $prefix"
  for f in "$debs"/*.deb; do dpkg -x "$f" "$prefix"; done
  # The prefix holds only OpenCV's core, imgproc and imgcodecs; OpenCV's exported targets
  # would otherwise insist that every module's library exists.
  sed -i 's/^list(APPEND _cmake_import_check_targets .*$//' \
    "$prefix/usr/lib/$multiarch/cmake/opencv4/OpenCVModules-release.cmake"
}

# Runs a command with the environment Debian's Open MPI needs to run from the prefix
# (OPAL_PREFIX relocates it; its binaries find their libraries through LD_LIBRARY_PATH).
with_prefix() {
  local usr=$work/prefix/usr lib=$work/prefix/usr/lib/$multiarch
  env OPAL_PREFIX="$usr" PMIX_INSTALL_PREFIX="$lib/pmix2" PATH="$usr/bin:$PATH" \
    OMPI_MCA_mca_base_param_files="$work/prefix/etc/openmpi/openmpi-mca-params.conf" \
    LD_LIBRARY_PATH="$lib:$usr/lib:$work/prefix/lib/$multiarch:$lib/openmpi/lib:$lib/pmix2/lib:$lib/hdf5/serial${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 "$@"
}

build_nucseg() {
  local prefix=$1 build=$2 usr=$1/usr lib=$1/usr/lib/$multiarch torch_prefix
  torch_prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
  # LibTorch 2.x ships its own, newer fmt headers; Debian's spdlog 1.10 needs Debian's fmt 9.
  # -I folders are searched before every -isystem one, whatever order CMake writes them in.
  mkdir -p "$build/fmt-first"
  ln -sfn "$usr/include/fmt" "$build/fmt-first/fmt"
  # Every dependency named into the prefix (configured so on Debian 12 with the host's copies
  # present: each was found in the prefix). HDF5 without its h5cc wrapper (/bin/false: one on
  # PATH, e.g. conda's, would mix in another HDF5). RPATH (not RUNPATH: --disable-new-dtags)
  # with the prefix's folders, so the tools also find what the prefix's libraries load.
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNUCSEG_USE_CCACHE=OFF \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$usr" \
    -DOpenCV_DIR="$lib/cmake/opencv4" -Dspdlog_DIR="$lib/cmake/spdlog" -Dfmt_DIR="$lib/cmake/fmt" \
    -Dtomlplusplus_DIR="$lib/cmake/tomlplusplus" -DGTest_DIR="$lib/cmake/GTest" \
    -DHDF5_NO_FIND_PACKAGE_CONFIG_FILE=ON -DHDF5_C_COMPILER_EXECUTABLE=/bin/false \
    -DHDF5_C_INCLUDE_DIR="$usr/include/hdf5/serial" -DHDF5_hdf5_LIBRARY_RELEASE="$lib/hdf5/serial/libhdf5.so" \
    -DMPI_CXX_SKIP_MPICXX=ON -DMPI_CXX_HEADER_DIR="$lib/openmpi/include" -DMPI_CXX_LIB_NAMES=mpi \
    -DMPI_mpi_LIBRARY="$lib/openmpi/lib/libmpi.so" -DMPIEXEC_EXECUTABLE="$usr/bin/mpiexec.openmpi" \
    -DTIFF_INCLUDE_DIR="$usr/include/$multiarch" -DTIFF_LIBRARY="$lib/libtiff.so" \
    -DCMAKE_CXX_FLAGS="-I$build/fmt-first" -DNUCSEG_PYTHON3="$(command -v "$python")" \
    -DCMAKE_EXE_LINKER_FLAGS="-Wl,--disable-new-dtags" \
    -DCMAKE_BUILD_RPATH="$lib;$usr/lib;$prefix/lib/$multiarch;$lib/openmpi/lib;$lib/pmix2/lib;$lib/hdf5/serial"
  cmake --build "$build" -j "${NUCSEG_GPU_JOBS:-$(nproc)}"
  local unresolved
  unresolved=$(ldd "$build/src/apps/nucseg_train" | grep 'not found' || true)
  [[ -z $unresolved ]] || { echo "gpu_check: nucseg_train cannot load:" >&2; echo "$unresolved" >&2; return 1; }
}

run_tests() {
  local build=$1 rc=0
  (cd "$build" && with_prefix ctest -R 'dist|model|train' --output-on-failure) \
    >"$work/ctest.log" 2>&1 || rc=1
  note "ctest -R 'dist|model|train' on the GPU build: $(grep -E 'tests passed|tests failed' "$work/ctest.log" | tail -n1)"
  [[ $rc == 0 ]] || note "  failed: $(grep -E '^\s+[0-9]+ - ' "$work/ctest.log" | tr -s ' ' | tr '\n' ';')"
  return "$rc"
}
