#!/usr/bin/env bash
# Slurm test 2: the project's own jobs/pipeline.sh with the real tools on a private cluster.
# nucseg_synth makes tiny data (tests/slurm/tiny_pipeline.toml), then pipeline.sh submits
# pack (1 task) -> train (2 tasks) -> infer (2 tasks) chained with --dependency=afterok.
# While training runs, the batch shell gets `scancel --signal=USR1 --batch` (what
# --signal=B:USR1@300 sends before the time limit): nucseg_train checkpoints and exits 75,
# train.sbatch requeues the job, the second attempt resumes from the checkpoint and ends at
# exactly the planned number of steps, and only then does the infer job start. The same
# inference also runs as a 2-task job array (infer.sbatch's disjoint shares). The results,
# segmentation.h5 files and the run's checkpoints/metrics.csv, are checked by check_pipeline.py.
# Usage: slurm_pipeline_test.sh BIN_DIR   (the folder holding nucseg_synth, _pack, _train, _infer)
# shellcheck source=tests/slurm/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=$(realpath -- "${1:?usage: slurm_pipeline_test.sh BIN_DIR}")
for tool in nucseg_synth nucseg_pack nucseg_train nucseg_infer; do
  [[ -x "$bin/$tool" ]] || fail "no $tool in $bin"
done
readonly planned=16  # train.max_steps in tiny_pipeline.toml

slurm_setup
cp "$here/tiny_pipeline.toml" tiny.toml

say "nucseg_synth: 12 training images and 3 held-out images (another seed)"
"$bin/nucseg_synth" --config tiny.toml --set synth.output=data/train --set synth.seed=1 >synth.log 2>&1 ||
  fail "nucseg_synth failed: $(tail -n 5 synth.log)"
"$bin/nucseg_synth" --config tiny.toml --set synth.output=data/heldout --set synth.seed=2 --set synth.count=3 \
  >>synth.log 2>&1 || fail "nucseg_synth (held-out) failed: $(tail -n 5 synth.log)"

say "jobs/pipeline.sh: pack -> train (2 tasks) -> infer (2 tasks)"
NUCSEG_BIN="$bin" "$NUCSEG_SOURCE_DIR/jobs/pipeline.sh" tiny.toml >pipeline.out 2>&1 ||
  fail "pipeline.sh failed: $(cat pipeline.out)"
read -r pack train infer < <(awk '$1 == "jobs:" { print $2, $3, $4 }' pipeline.out)
[[ -n "${infer:-}" ]] || fail "pipeline.sh printed no 'jobs:' line: $(cat pipeline.out)"
for id in "$pack" "$train" "$infer"; do
  [[ "$id" =~ ^[0-9]+$ ]] || fail "pipeline.sh printed a job id '$id' that is not a number"
done
[[ "$(job_field "$train" Dependency)" == "afterok:$pack"* ]] || fail "train job does not depend on pack"
[[ "$(job_field "$infer" Dependency)" == "afterok:$train"* ]] || fail "infer job does not depend on train"
# The same inference as a 2-task job array (one rank each), in disjoint shares, beside it.
array=$(NUCSEG_BIN="$bin" sbatch --parsable --dependency="afterok:$train" --array=0-1 --ntasks=1 \
  --ntasks-per-node=1 -o "infer-array-%A_%a.out" "$NUCSEG_SOURCE_DIR/jobs/infer.sbatch" tiny.toml \
  --set infer.output=infer-array) || fail "cannot submit the infer array"

[[ "$(wait_job "$pack" 120)" == COMPLETED ]] || fail "pack job $pack ended $(job_field "$pack" JobState)"
expect_grep "nucseg_pack exited with 0" "nucseg-pack-$pack.out" "pack job"

say "train job $train: signal its batch shell with USR1 once both ranks are stepping"
train_log="nucseg-train-$train.out"
wait_running "$train" 60
# A progress line per step (log.progress_seconds = 0). Step 3 of 16 is mid-run: well past the
# start-up (the ranks have installed their signal handlers) and far from the end.
deadline=$((SECONDS + 180))
until grep -qE "step ([3-9]|1[01])/$planned:" "$train_log" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "train job $train logged no step 3..11 of $planned within 180 s"
  [[ "$(job_field "$train" JobState)" == RUNNING ]] || fail "train job $train left RUNNING before step 3"
  sleep 0.2
done
expect_grep "2 rank\(s\) x 1 thread\(s\)" "$train_log" "training on the 2 tasks of the job"
scancel --signal=USR1 --batch "$train"
release_requeued "$train"
say "train job $train requeued itself; released"
[[ "$(job_field "$infer" JobState)" == PENDING ]] || fail "infer started while train was requeued"

[[ "$(wait_job "$train" 240)" == COMPLETED ]] || fail "train job $train ended $(job_field "$train" JobState)"
[[ "$(job_field "$train" Restarts)" == 1 ]] || fail "expected 1 restart of train, got $(job_field "$train" Restarts)"
[[ "$(grep -c "train.sbatch: job $train attempt" "$train_log")" == 2 ]] || fail "expected 2 attempts in $train_log"
expect_grep "SIGUSR1 received" "$train_log" "train.sbatch did not see the USR1"
expect_grep "nucseg_train exited with 75" "$train_log" "first attempt's exit code"
expect_grep "checkpointed: requeueing job $train" "$train_log" "requeue"
stop_step=$(grep -oE "checkpoint written at step [0-9]+" "$train_log" | head -n 1 | awk '{print $NF}')
[[ -n "$stop_step" ]] || fail "nucseg_train wrote no checkpoint on the signal"
expect_grep "resuming from .*ckpt-step-0*$stop_step\.pt .*step $stop_step," "$train_log" "resume from the stop checkpoint"
expect_grep "training finished at step $planned " "$train_log" "the planned $planned steps"
expect_grep "nucseg_train exited with 0" "$train_log" "second attempt's exit code"
/usr/bin/python3 "$here/check_pipeline.py" training run "$planned" "$stop_step" || fail "training outputs"

say "infer job $infer (after train's completion)"
[[ "$(wait_job "$infer" 120)" == COMPLETED ]] || fail "infer job $infer ended $(job_field "$infer" JobState)"
infer_start=$(job_field "$infer" StartTime)
train_end=$(job_field "$train" EndTime)
[[ ! "$infer_start" < "$train_end" ]] || fail "infer started at $infer_start, before train ended at $train_end"
# infer.sbatch names its log nucseg-infer-%A_%a.out (Slurm writes 4294967294 for %a outside an array).
infer_log="nucseg-infer-${infer}_4294967294.out"
expect_grep "on 2 ranks" "$infer_log" "inference on the 2 tasks of the job"
expect_grep "nucseg_infer exited with 0" "$infer_log" "infer job"
/usr/bin/python3 "$here/check_pipeline.py" segmentation infer/segmentation.h5 data/heldout || fail "segmentation.h5"

say "infer array $array: 2 shares"
for task in 0 1; do
  [[ "$(wait_job "${array}_$task" 120)" == COMPLETED ]] || fail "array task ${array}_$task ended $(job_field "${array}_$task" JobState)"
  expect_grep "array task $task of 2" "infer-array-${array}_$task.out" "array task $task"
done
/usr/bin/python3 "$here/check_pipeline.py" shares infer-array data/heldout 2 || fail "infer array shares"

say "all checks passed"
