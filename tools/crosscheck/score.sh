#!/usr/bin/env bash
# Scores a trained nucseg run on cross-check sets: for each SET, nucseg_infer (MPI ranks) +
# nucseg_eval, and the classical baseline (tools/crosscheck/classical.py, the segmentation of
# tools/classical_baseline.py on any layout); prints one Markdown table row per set with the
# network score, the classical score and, when SET/manifest.csv names styles, both per style.
#
# Usage: tools/crosscheck/score.sh --model RUN [options] SET [SET...]
#   --model RUN      training run directory or checkpoint (infer.model)
#   --build DIR      nucseg build directory (default: build)
#   --ranks N        MPI ranks for nucseg_infer (default: 2)
#   --out DIR        where results go, one folder per set (default: crosscheck-results)
#   --config FILE    nucseg_infer's config file (its [infer] and [segment] sections), e.g.
#                    configs/demo.toml; --set values override it
#   --set KEY=VALUE  passed to nucseg_infer (repeatable), e.g. --set infer.tile=512
#   --list           give nucseg_infer a list file of the set's images instead of the folder
#                    (a stray file such as manifest.csv beside the Kaggle folders can make
#                    nucseg_infer's folder listing fail; the ids are the same either way)
#   --classical-only skip the network (no --model needed)
#   -h, --help       this text
# A SET is a Kaggle-layout folder (<id>/images, <id>/masks) or a flat one (images/ + masks/,
# inferred from SET/images). Logs: OUT/<set>/{infer,eval,classical}.log. Exit 0 when every
# step ran (nucseg_infer's exit 3, some images failed, is shown in the row's note), 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

model="" config=() build="$root/build" ranks=2 out="crosscheck-results" classical_only=0 use_list=0
extra=() sets=()
while (($#)); do
  case "$1" in
    --model) model=${2:?--model needs a value}; shift 2 ;;
    --build) build=${2:?--build needs a value}; shift 2 ;;
    --config) config=(--config "${2:?--config needs a value}"); shift 2 ;;
    --ranks) ranks=${2:?--ranks needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    --set) extra+=(--set "${2:?--set needs KEY=VALUE}"); shift 2 ;;
    --classical-only) classical_only=1; shift ;;
    --list) use_list=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "score.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) sets+=("$1"); shift ;;
  esac
done
((${#sets[@]})) || { echo "score.sh: no SET given (see --help)" >&2; exit 2; }
if ((!classical_only)); then
  [[ -n "$model" ]] || { echo "score.sh: --model RUN is required (or --classical-only)" >&2; exit 2; }
  [[ -e "$model" ]] || { echo "score.sh: model '$model' does not exist" >&2; exit 2; }
  for tool in nucseg_infer nucseg_eval; do
    [[ -x "$build/src/apps/$tool" ]] || { echo "score.sh: $build/src/apps/$tool not built" >&2; exit 2; }
  done
  model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")
fi
if [[ $(id -u) -eq 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_rmaps_base_oversubscribe=1
py=/usr/bin/python3
status=0

"$py" "$here/score_row.py" --header
for set_dir in "${sets[@]}"; do
  set_dir=${set_dir%/}
  name=$(basename "$set_dir")
  res="$out/$name"
  if [[ -d "$set_dir/images" && -d "$set_dir/masks" ]]; then
    input="$set_dir/images"
  elif compgen -G "$set_dir/*/images" > /dev/null; then
    input="$set_dir"
  else
    echo "| $name | 0 | - | - | - | not a Kaggle or flat set |"; status=1; continue
  fi
  mkdir -p "$res"
  if ((use_list)); then
    if [[ "$input" == "$set_dir/images" ]]; then
      find "$(cd "$input" && pwd)" -maxdepth 1 -type f ! -name '.*' ! -name '*.tmp-*' | sort > "$res/inputs.txt"
    else
      find "$(cd "$set_dir" && pwd)" -mindepth 3 -maxdepth 3 -path '*/images/*' -type f ! -name '.*' \
        ! -path '*.tmp-*' | sort > "$res/inputs.txt"
    fi
    input="$res/inputs.txt"
  fi
  rm -f "$res/eval.json" "$res/classical.csv"
  note=""
  if ((!classical_only)); then
    rc=0
    mpirun -n "$ranks" "$build/src/apps/nucseg_infer" "${config[@]}" --set "infer.model=$model" --set "infer.input=$input" \
      --set "infer.output=$res/seg" --set infer.overwrite=true "${extra[@]}" > "$res/infer.log" 2>&1 || rc=$?
    if ((rc == 3)); then
      note="some images failed (infer exit 3)"
    elif ((rc != 0)); then
      note="nucseg_infer exit $rc, see $res/infer.log"; status=1
    fi
    if ((rc == 0 || rc == 3)); then
      "$build/src/apps/nucseg_eval" --truth "$set_dir" --pred "$res/seg/segmentation.h5" \
        --output "$res/eval.json" > "$res/eval.log" 2>&1 || { note="${note:+$note; }nucseg_eval failed, see $res/eval.log"; status=1; }
    fi
  fi
  "$py" "$here/classical.py" "$set_dir" --csv "$res/classical.csv" > "$res/classical.log" 2>&1 ||
    { note="${note:+$note; }classical failed, see $res/classical.log"; status=1; }
  "$py" "$here/score_row.py" "$name" "$set_dir" "$res" --note "$note"
done
exit "$status"
