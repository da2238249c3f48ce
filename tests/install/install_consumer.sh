#!/usr/bin/env bash
# Usage: install_consumer.sh CMAKE BUILD_DIR CONSUMER_SOURCE
# Installs the build tree into a scratch prefix, checks that the tools and headers are there,
# then configures, builds and runs a small consumer project against that prefix only.
set -euo pipefail
cmake=$1 build=$2 consumer=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/nucseg-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$cmake" --install "$build" --prefix "$work/prefix" >"$work/install.log"
for f in bin/nucseg_synth bin/nucseg_pack bin/nucseg_train bin/nucseg_infer bin/nucseg_eval \
         include/nucseg/infer/run.hpp lib/cmake/nucseg/nucsegConfig.cmake; do
  [[ -e "$work/prefix/$f" ]] || { echo "install_consumer: $f was not installed" >&2; exit 1; }
done
"$work/prefix/bin/nucseg_eval" --version

"$cmake" -S "$consumer" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/configure.log" || { cat "$work/configure.log" >&2; exit 1; }
"$cmake" --build "$work/build" >"$work/build.log" || { cat "$work/build.log" >&2; exit 1; }
"$work/build/nucseg_consumer"
