#!/usr/bin/env bash
# Slurm test 1: a private cluster runs batch jobs and MPI launches (srun --mpi=pmix, mpirun
# inside a job), a plain srun of MPI fails fast, a launch whose tasks each become "rank 0 of 1"
# is stopped by World::check_slurm_launch with exit code 2, and the job scripts' own logic:
# train.sbatch forwards the early SIGUSR1 through mpirun too (slurm_pipeline_test.sh covers
# srun with the real trainer), requeues on exit 75 and resumes, but does not requeue a
# cancelled job; a step that srun cannot launch fails the job although srun exits 0; a
# pipeline.sh whose last submission is refused cancels the jobs it already submitted. Uses
# tests/slurm/fake_trainer.sh (seconds instead of a real training) for these.
# Usage: slurm_cluster_test.sh PROBE   (tests/slurm/slurm_probe.cpp: a tool printing "rank R of N")
# shellcheck source=tests/slurm/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
probe=${1:?usage: slurm_cluster_test.sh PROBE}
[[ -x "$probe" ]] || fail "no probe program at $probe"

slurm_setup

say "trivial batch job"
# shellcheck disable=SC2016  # expanded inside the job
id=$(sbatch --parsable -o "trivial-%j.out" --wrap 'echo "hello from job $SLURM_JOB_ID on $(hostname -s)"')
[[ "$(wait_job "$id" 60)" == COMPLETED ]] || fail "trivial job $id: $(job_field "$id" JobState)"
expect_grep "^hello from job $id on " "trivial-$id.out" "trivial job"

say "srun --mpi=pmix -n 2"
timeout 120 srun --mpi=pmix -n 2 "$probe" >srun-pmix.out 2>&1 || fail "srun --mpi=pmix failed: $(cat srun-pmix.out)"
[[ "$(grep -cE '^rank [01] of 2$' srun-pmix.out)" == 2 ]] || fail "srun --mpi=pmix did not run 2 ranks: $(cat srun-pmix.out)"

say "mpirun inside a 2-task batch job"
id=$(sbatch --parsable -n 2 -o "mpirun-%j.out" --wrap "mpirun --bind-to none '$probe'")
[[ "$(wait_job "$id" 60)" == COMPLETED ]] || fail "mpirun job $id: $(job_field "$id" JobState)"
[[ "$(grep -cE '^rank [01] of 2$' "mpirun-$id.out")" == 2 ]] || fail "mpirun did not find the allocation's 2 slots"

say "plain srun of an MPI program fails fast"
start=$SECONDS
rc=0
timeout 60 srun -n 2 "$probe" >srun-plain.out 2>&1 || rc=$?
((rc != 0 && rc != 124)) || fail "plain srun of MPI should fail at once, rc $rc: $(cat srun-plain.out)"
expect_grep "srun|PMI" srun-plain.out "plain srun"
say "plain srun failed in $((SECONDS - start)) s with rc $rc"

# With an MPI that falls back to singletons every task would be "rank 0 of 1" and train alone.
# OpenMPI does that here when SLURM_NODELIST is hidden from it; the tool frame must stop it.
say "tasks that each become rank 0 of 1 are stopped by check_slurm_launch"
start=$SECONDS
rc=0
timeout 60 srun -n 2 env -u SLURM_NODELIST "$probe" >srun-singletons.out 2>&1 || rc=$?
((rc == 2)) || fail "mis-launched tasks should exit 2 (usage), got rc $rc: $(cat srun-singletons.out)"
expect_grep "MPI world has 1 rank\(s\) but Slurm launched 2 task\(s\)" srun-singletons.out "mis-launch message"
if grep -qE '^rank 0 of 1$' srun-singletons.out; then fail "a mis-launched task went on to run"; fi
say "mis-launch stopped in $((SECONDS - start)) s"

train_sbatch="$NUCSEG_SOURCE_DIR/jobs/train.sbatch"
mkdir -p bin
ln -sf "$here/fake_trainer.sh" bin/nucseg_train
echo "# the fake trainer reads only --set options" >fake.toml

# Submits train.sbatch with the fake trainer, signals the batch shell once both ranks run,
# and checks the job requeued itself and finished every planned step after resuming.
preempt_and_resume() {
  local launcher=$1 out="$work/run-$1" id attempts
  id=$(NUCSEG_BIN="$work/bin" NUCSEG_LAUNCHER="$launcher" sbatch --parsable -o "train-$launcher-%j.out" \
    "$train_sbatch" fake.toml --set "train.output=$out" --set train.max_steps=40)
  wait_running "$id" 60
  for _ in $(seq 1 100); do [[ -e "$out/started-0" && -e "$out/started-1" ]] && break; sleep 0.2; done
  [[ -e "$out/started-0" && -e "$out/started-1" ]] || fail "$launcher: fake ranks did not start"
  scancel --signal=USR1 --batch "$id"
  release_requeued "$id"
  [[ "$(wait_job "$id" 90)" == COMPLETED ]] || fail "$launcher: train job $id ended $(job_field "$id" JobState)"
  [[ "$(job_field "$id" Restarts)" == 1 ]] || fail "$launcher: expected 1 restart, got $(job_field "$id" Restarts)"
  [[ "$(cat "$out/checkpoint")" == 40 ]] || fail "$launcher: finished at step $(cat "$out/checkpoint"), not 40"
  attempts=$(grep -c "attempt" "train-$launcher-$id.out")
  ((attempts == 2)) || fail "$launcher: expected 2 attempts in the log (open-mode=append), got $attempts"
  expect_grep "checkpointed at step [0-9]+" "train-$launcher-$id.out" "$launcher: signal did not reach the ranks"
  expect_grep "starting at step [1-9][0-9]* of 40" "train-$launcher-$id.out" "$launcher: the requeued job did not resume"
  expect_grep "rank 1: GLIBC_TUNABLES=(.*:)?glibc.malloc.hugetlb=1" "train-$launcher-$id.out" \
    "$launcher: the ranks did not get transparent huge pages for malloc (docs/hpc.md)"
}
say "train.sbatch: early USR1 -> checkpoint -> requeue -> resume with NUCSEG_LAUNCHER=mpirun"
preempt_and_resume mpirun

say "train.sbatch: a cancelled job checkpoints but is not requeued"
out="$work/run-cancel"
id=$(NUCSEG_BIN="$work/bin" sbatch --parsable -o "train-cancel-%j.out" \
  "$train_sbatch" fake.toml --set "train.output=$out" --set train.max_steps=400)
wait_running "$id" 60
for _ in $(seq 1 100); do [[ -e "$out/started-0" && -e "$out/started-1" ]] && break; sleep 0.2; done
[[ -e "$out/started-0" && -e "$out/started-1" ]] || fail "cancel: fake ranks did not start"
scancel "$id"
[[ "$(wait_job "$id" 60)" == CANCELLED ]] || fail "cancelled job $id ended $(job_field "$id" JobState)"
[[ "$(job_field "$id" Restarts)" == 0 ]] || fail "a cancelled job was requeued"
[[ -s "$out/checkpoint" ]] || fail "the cancelled job's ranks wrote no checkpoint"
expect_grep "rank 1: GLIBC_TUNABLES=(.*:)?glibc.malloc.hugetlb=1" "train-cancel-$id.out" \
  "srun: the ranks did not get transparent huge pages for malloc (docs/hpc.md)"

# srun (Slurm 22.05) exits 0 when its step cannot start, e.g. when a stale PMIx socket of the
# same job and step id is left in slurmd's spool (what a requeue used to leave behind).
say "train.sbatch: a step srun cannot launch fails the job (srun itself exits 0)"
out="$work/run-nolaunch"
id=$(NUCSEG_BIN="$work/bin" sbatch --parsable --hold -o "train-nolaunch-%j.out" \
  "$train_sbatch" fake.toml --set "train.output=$out" --set train.max_steps=5)
/usr/bin/python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
  "$state/spool/stepd.slurm.pmix.$id.0" || fail "cannot plant the stale PMIx socket"
scontrol release "$id"
[[ "$(wait_job "$id" 60)" == FAILED ]] || fail "job $id with a failed launch ended $(job_field "$id" JobState)"
expect_grep "srun could not launch the tasks" "train-nolaunch-$id.out" "failed launch"
[[ ! -e "$out/started-0" ]] || fail "the fake trainer ran although the launch was to fail"

say "pipeline.sh: a refused submission cancels the jobs already submitted"
rc=0
NUCSEG_BIN="$work/bin" NUCSEG_PACK_SBATCH="--hold" NUCSEG_INFER_SBATCH="--partition=no-such-partition" \
  "$NUCSEG_SOURCE_DIR/jobs/pipeline.sh" fake.toml >pipeline-refused.out 2>&1 || rc=$?
((rc == 1)) || fail "pipeline.sh with a refused infer submission: rc $rc: $(cat pipeline-refused.out)"
expect_grep "cancelled the jobs already submitted" pipeline-refused.out "pipeline.sh clean-up"
for what in pack train; do
  id=$(awk -v w="$what" '$1 == w { print $2 }' pipeline-refused.out)
  [[ -n "$id" ]] || fail "pipeline.sh printed no $what job: $(cat pipeline-refused.out)"
  [[ "$(wait_job "$id" 30)" == CANCELLED ]] || fail "$what job $id was left $(job_field "$id" JobState)"
done

say "all checks passed"
