#!/usr/bin/env bash
# Runs one fuzz target for a while and keeps going past crashes (libFuzzer fork mode, one job
# at a time), saving every crash/OOM/timeout input under crashes/raw/<target>/.
#
#   ./run_fuzz.sh TARGET SECONDS MAX_LEN [DICT] [extra libFuzzer flags...]
#   ./run_fuzz.sh fuzz_tiff 840 65536 dict/tiff.dict
#
# Working corpus: <work>/corpus/<target>/ (grows), seeds: <work>/seeds/<seed dir>/ (read only).
# Log: <work>/logs/<target>.log (its last "#N ... exec/s" lines give executions and coverage).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# Work folder (corpora, crashes, logs, seeds, the built targets): build-fuzz/ at the repository
# root unless NUCSEG_FUZZ_WORK says otherwise; seeds come from seeds/make_seeds.py <work>/seeds.
work=${NUCSEG_FUZZ_WORK:-$(cd "$here/../.." && pwd)/build-fuzz}
t=$1 secs=$2 max_len=$3
dict=${4:-}
shift $(( $# < 4 ? $# : 4 ))
seed_dir=${t#fuzz_}
case $seed_dir in rle_truth) seed_dir=rle ;; roi_zip) seed_dir=roi ;; esac
mkdir -p "$work/corpus/$t" "$work/crashes/raw/$t" "$work/logs"
args=("$work/corpus/$t" "$work/seeds/$seed_dir" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1
      -max_total_time="$secs" -max_len="$max_len" -rss_limit_mb=2048 -timeout=10
      -artifact_prefix="$work/crashes/raw/$t/" -print_final_stats=1)
[[ -n $dict ]] && args+=(-dict="$here/$dict")
cd "$work/crashes/raw/$t"  # fork mode writes its temporary files to the current folder
exec nice -n 10 "$work/$t" "${args[@]}" "$@" >"$work/logs/$t.log" 2>&1
