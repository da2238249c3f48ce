#!/usr/bin/env bash
# A test double of nucseg_train's process contract, to test jobs/train.sbatch on its own:
# `--config F --set train.output=DIR --set train.max_steps=N`; counts steps (0.2 s each),
# resumes from DIR/checkpoint, and on SIGUSR1/SIGTERM writes the checkpoint (rank 0) and
# exits 75 ("checkpointed, requeue me"); exits 0 after N steps. Each rank touches
# DIR/started-<rank> once it runs, so a test knows when to signal.
set -euo pipefail
out=""
steps=50
while (($# > 0)); do
  case "$1" in
    --set)
      case "$2" in
        train.output=*) out=${2#*=} ;;
        train.max_steps=*) steps=${2#*=} ;;
      esac
      shift 2
      ;;
    *) shift ;;
  esac
done
[[ -n "$out" ]] || { echo "fake_trainer: train.output not set" >&2; exit 2; }
rank=${OMPI_COMM_WORLD_RANK:-${SLURM_PROCID:-0}}
mkdir -p "$out"
step=0
if [[ -r "$out/checkpoint" ]]; then step=$(<"$out/checkpoint"); fi
stop=0
trap 'stop=1' USR1 TERM
echo "fake_trainer rank $rank: starting at step $step of $steps"
echo "fake_trainer rank $rank: GLIBC_TUNABLES=${GLIBC_TUNABLES:-}"
touch "$out/started-$rank"
while ((step < steps)); do
  # Slurm signals every process of the step, the sleep too: its death is no error here.
  sleep 0.2 || true
  step=$((step + 1))
  if ((stop)); then
    # Slurm and train.sbatch may signal every process of the step again (TERM, then USR1):
    # ignored from here on, and inherited as ignored by mv, so a second signal cannot kill the
    # checkpoint write half way (it did, once: mv died of USR1, set -e ended rank 0 with 138).
    trap '' USR1 TERM
    if ((rank == 0)); then echo "$step" >"$out/checkpoint.tmp" && mv "$out/checkpoint.tmp" "$out/checkpoint"; fi
    echo "fake_trainer rank $rank: checkpointed at step $step"
    exit 75
  fi
done
if ((rank == 0)); then echo "$step" >"$out/checkpoint.tmp" && mv "$out/checkpoint.tmp" "$out/checkpoint"; fi
echo "fake_trainer rank $rank: finished $step steps"
