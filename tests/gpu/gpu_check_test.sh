#!/usr/bin/env bash
# tools/gpu_check.sh without a GPU: syntax, usage errors (exit 2), the dry run's plan and input
# checks (exit 1 exactly when an input is missing, nothing written), the package list.
# Usage: gpu_check_test.sh <source dir>
set -euo pipefail
root=$1
script=$root/tools/gpu_check.sh
t=$(mktemp -d "${TMPDIR:-/tmp}/nucseg-gpu-check.XXXXXX")
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# status <command...>: its exit status, whatever it is.
status() { set +e; "$@" >/dev/null 2>&1; echo $?; set -e; }

scripts=("$script" "$root/tools/gpu/lib.sh" "$root/tools/gpu/runs.sh")
for f in "${scripts[@]}"; do bash -n "$f" || fail "bash -n $f"; done
if command -v shellcheck >/dev/null; then
  (cd "$root" && shellcheck -x tools/gpu_check.sh) || fail "shellcheck"
fi

[[ $(status "$script" run --bogus) == 2 ]] || fail "an unknown option exits 2"
[[ $(status "$script" run --dry-run --steps 0) == 2 ]] || fail "--steps 0 exits 2"
[[ $(status "$script" run --dry-run --tolerance x) == 2 ]] || fail "--tolerance x exits 2"
[[ $(status "$script" frobnicate) == 2 ]] || fail "an unknown command exits 2"
"$script" --help | grep -q "tools/gpu_check.sh run" || fail "--help shows the usage"

# No packages, no torch (a stand-in Python that fails): both reported by name, exit 1.
mkdir "$t/debs"
printf '#!/bin/sh\nexit 1\n' >"$t/nopython" && chmod +x "$t/nopython"
set +e
out=$(NUCSEG_GPU_PYTHON=$t/nopython "$script" run --dry-run --debs "$t/debs" --work "$t/work" --steps 3 2>&1)
rc=$?
set -e
for n in 1 2 3 4 5 6; do grep -q "^  $n\. " <<<"$out" || fail "plan step $n missing: $out"; done
grep -q "4. training, 3 steps" <<<"$out" || fail "the plan shows --steps"
for p in libhdf5-dev libopenmpi-dev libopencv-imgcodecs-dev libspdlog-dev libtomlplusplus-dev libgtest-dev; do
  grep -qF "missing  $t/debs/${p}_*.deb" <<<"$out" || fail "$p not reported missing: $out"
done
grep -q "missing  PyTorch in $t/nopython" <<<"$out" || fail "a Python without torch not reported: $out"
[[ $rc == 1 ]] || fail "a dry run with inputs missing exits 1 (got $rc)"
[[ ! -e $t/work ]] || fail "a dry run writes nothing"

# Stand-ins for every package it asked for: none reported any more; exit 0 exactly when
# nothing else is missing (on a GPU machine with everything, 0; here, 1).
grep -oF "$t/debs/" <<<"$out" >/dev/null
sed -n "s|^  missing  $t/debs/\(.*\)_\*\.deb$|\1|p" <<<"$out" | while read -r p; do touch "$t/debs/${p}_1.0_amd64.deb"; done
set +e
out=$("$script" run --dry-run --debs "$t/debs" --work "$t/work" 2>&1)
rc=$?
set -e
! grep -q '\.deb$' <<<"$out" || fail "packages still reported missing: $out"
grep -q "ok       13 dev packages" <<<"$out" || fail "the dev packages not counted: $out"
missing=$(grep -c '^  missing' <<<"$out" || true)
if [[ $missing == 0 ]]; then [[ $rc == 0 ]] || fail "nothing missing but exit $rc"
else [[ $rc == 1 ]] || fail "$missing input(s) missing but exit $rc"; fi

# The package list, where it can be computed (Debian with nucseg's dependencies installed).
if command -v dpkg >/dev/null && dpkg -s libhdf5-dev libopenmpi-dev >/dev/null 2>&1; then
  list=$("$script" packages)
  for p in libhdf5-dev libopencv-imgcodecs-dev openmpi-bin libhdf5-103-1 libopenmpi3 libopencv-core406; do
    grep -qx "$p" <<<"$list" || fail "packages lacks $p"
  done
  ! grep -qxE 'libc6|libstdc\+\+6' <<<"$list" || fail "packages lists the C/C++ runtime"
fi
echo "gpu_check_test: ok"
