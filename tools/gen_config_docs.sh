#!/usr/bin/env bash
# Rewrites the generated key tables at the end of docs/config.md from the code's key table
# (everything after the line "<!-- generated keys -->" is replaced).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${NUCSEG_BUILD_DIR:-$root/build}
cmake --build "$build_dir" --target nucseg_config_keys >/dev/null
doc="$root/docs/config.md"
marker='<!-- generated keys -->'
grep -q "$marker" "$doc" || { echo "gen_config_docs: marker missing in $doc" >&2; exit 1; }
tmp=$(mktemp)
sed "/$marker/q" "$doc" >"$tmp"
"$build_dir/tests/core/nucseg_config_keys" >>"$tmp"
mv "$tmp" "$doc"
echo "gen_config_docs: updated $doc"
