#!/bin/bash
# Faults injected into nucseg_infer, each checked the same way: nothing under a final name is
# corrupt, the rerun completes, and the results equal an uninterrupted run's.
#   1. a full disk (a small tmpfs when this user may mount one, else RLIMIT_FSIZE: EFBIG)
#   2. a result cut short under its final name (the resume redoes it and says so)
#   3. a second model into the same folder (every result redone; segmentation.h5 one model)
#   4. a second run into a folder another run is writing (refused, exit 2; the first finishes)
#   5. a weight changed inside the checkpoint (refused as damaged, exit 1)
#   6. SIGTERM to the job script or straight to mpirun (jobs/infer.sbatch outside Slurm; exit
#      75 either way, mpirun's own 1 replaced by rank 0's code), then the rerun resumes
#   7. SIGTERM to one rank only (a user's kill, a tool near the OOM killer): every rank stops
#      after its image in flight (exit 75, the log names SIGTERM), then the rerun resumes
# Args: BIN_DIR (nucseg_synth/infer) MAKE_CHECKPOINT MPIEXEC SOURCE_DIR
set -euo pipefail
bin=$1 make_ckpt=$2 mpiexec=$3 src=$4
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
t=$(mktemp -d "${TMPDIR:-/tmp}/nucseg-e2e-faults.XXXXXX")
mounted=""
cleanup() {
  [[ -n $mounted ]] && umount "$mounted" 2>/dev/null
  rm -rf "$t"
}
trap cleanup EXIT
[[ -n ${NUCSEG_KEEP:-} ]] && trap - EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# A command that fails outside expect_rc ends the script (set -e): say which, not nothing.
# (Inside set +e, where a failure is expected, it stays quiet.)
trap 'status=$?; [[ $- == *e* ]] && echo "FAIL: line $LINENO: $BASH_COMMAND exited $status" >&2' ERR
run_rc() {  # log command... : runs, keeps the log, echoes the exit code
  local log=$1; shift
  set +e; "$@" >"$log" 2>&1; local rc=$?; set -e
  echo "$rc"
}
# Until a run holds its output folder (its lock file is written): at most 120 s, then a failure
# that says so rather than a signal to a run that has not started.
wait_lock() {
  local end=$((SECONDS + 120))
  until [[ -s $1 ]]; do ((SECONDS < end)) || fail "no lock at $1 after 120 s"; sleep 0.05; done
}
expect_rc() {  # expected log command...
  local want=$1 log=$2; shift 2
  local rc; rc=$(run_rc "$log" "$@")
  if [[ $rc != "$want" ]]; then tail -20 "$log" >&2; fail "exit $rc, expected $want: $*"; fi
}
infer() { "$bin/nucseg_infer" --set infer.tile=64 --set infer.overlap=16 --set infer.batch=2 \
  --set infer.threads=1 --set infer.input="$t/data" "$@"; }
# Every images/*.h5 and segmentation.h5 under a final name reads back whole.
check_whole() {
  $py - "$1" <<'PY'
import sys, os, glob, h5py
out = sys.argv[1]
files = glob.glob(os.path.join(out, "images", "*.h5"))
if os.path.exists(os.path.join(out, "segmentation.h5")): files.append(os.path.join(out, "segmentation.h5"))
for f in files:
    with h5py.File(f, "r") as h:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and not h.get(name, getlink=True).__class__.__name__ == "ExternalLink":
                obj[()]
        h.visititems(visit)
print("whole:", len(files), "files")
PY
}
# Same images, labels, class maps and objects as the reference output.
same_as() {
  $py - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p + "/segmentation.h5", "r") for p in sys.argv[1:])
ids = list(a["index/image_id"][:])
assert ids == list(b["index/image_id"][:]), "image lists differ"
assert a.attrs["checkpoint_hash"] == b.attrs["checkpoint_hash"]
for i in ids:
    i = i.decode()
    for k in ("labels", "class_map"):
        assert np.array_equal(a["images"][i][k][:], b["images"][i][k][:]), (i, k)
for k in a["objects"]:
    assert np.array_equal(a["objects"][k][:], b["objects"][k][:]), k
print("same as", sys.argv[1], ":", len(ids), "images")
PY
}

"$bin/nucseg_synth" --set synth.output="$t/data" --set synth.count=6 --set synth.seed=9 \
  --set synth.min_side=96 --set synth.max_side=128 >/dev/null
"$make_ckpt" "$t/ck1/best.pt"
"$make_ckpt" "$t/ck2/best.pt" 3 1  # BatchNorm calibrated: another model
expect_rc 0 "$t/ref1.log" infer --set infer.model="$t/ck1/best.pt" --set infer.output="$t/ref1"
expect_rc 0 "$t/ref2.log" infer --set infer.model="$t/ck2/best.pt" --set infer.output="$t/ref2"
one=$(stat -c %s "$(ls "$t"/ref1/images/*.h5 | head -1)")

# 1. Full disk.
if [[ -z ${NUCSEG_FAULTS_NO_MOUNT:-} ]] && mkdir -p "$t/disk" && mount -t tmpfs -o size=4m tmpfs "$t/disk" 2>/dev/null; then
  mounted="$t/disk"
  out="$t/disk/out"
  avail=$(df --output=avail -B1 "$t/disk" | tail -1)
  head -c $((avail - one * 5 / 2)) /dev/zero >"$t/disk/filler" || true  # room for about 2 results
  # 2 ranks: the rank whose write fails must end the job (exit 1), not leave the other waiting.
  rc=$(run_rc "$t/full.log" timeout 120 "$mpiexec" -n 2 "$bin/nucseg_infer" --set infer.tile=64 --set infer.overlap=16 \
    --set infer.batch=2 --set infer.threads=1 --set infer.input="$t/data" --set infer.model="$t/ck1/best.pt" \
    --set infer.output="$out")
  [[ $rc != 124 ]] || fail "full disk on 2 ranks: the job hung"
  reason="No space left on device"
  rm -f "$t/disk/filler"
else
  # Not allowed to mount: a file-size limit (EFBIG), set on the running process once MPI is up
  # (MPI's own start-up files would trip it earlier) and before it writes a result.
  echo "cannot mount a tmpfs here: RLIMIT_FSIZE instead (EFBIG)"
  out="$t/full"
  (trap "" XFSZ; exec "$bin/nucseg_infer" --set infer.tile=64 --set infer.overlap=16 --set infer.batch=2 \
    --set infer.threads=1 --set infer.input="$t/data" --set infer.model="$t/ck1/best.pt" \
    --set infer.output="$out" >"$t/full.log" 2>&1) &
  pid=$!
  wait_lock "$out/.nucseg.lock"
  kill -STOP $pid
  prlimit --pid $pid --fsize=$((one / 2)) || fail "prlimit failed"  # no result fits
  kill -CONT $pid
  set +e; wait $pid; rc=$?; set -e
  reason="File too large"
fi
[[ $rc == 1 ]] || { tail "$t/full.log"; fail "full disk: exit $rc, expected 1"; }
grep -q "$reason" "$t/full.log" || { tail "$t/full.log"; fail "full disk: '$reason' not in the log"; }
check_whole "$out"
expect_rc 0 "$t/full2.log" infer --set infer.model="$t/ck1/best.pt" --set infer.output="$out"
same_as "$t/ref1" "$out"

# 1b. Only one of 2 ranks cannot write (a file-size limit set on that rank alone): the job must
# end with exit 1, not hang with the other rank waiting for it in a collective.
(trap "" XFSZ; exec "$mpiexec" -n 2 "$bin/nucseg_infer" --set infer.tile=64 --set infer.overlap=16 \
  --set infer.batch=2 --set infer.threads=1 --set infer.input="$t/data" --set infer.model="$t/ck1/best.pt" \
  --set infer.output="$t/onerank" >"$t/onerank.log" 2>&1) &
launcher=$!
wait_lock "$t/onerank/.nucseg.lock"
victim=$(pgrep -P $launcher -x nucseg_infer | tail -1)
[[ -n $victim ]] || fail "no rank to limit"
kill -STOP $victim
prlimit --pid $victim --fsize=1024
kill -CONT $victim
for _ in $(seq 1200); do kill -0 $launcher 2>/dev/null || break; sleep 0.1; done
if kill -0 $launcher 2>/dev/null; then kill -9 $launcher; fail "one rank failing its writes: the job hung"; fi
set +e; wait $launcher; rc=$?; set -e
[[ $rc == 1 ]] || fail "one rank failing its writes: exit $rc, expected 1"
grep -q "File too large" "$t/onerank.log" || { tail "$t/onerank.log"; fail "the rank's reason is not in the log"; }
check_whole "$t/onerank"
expect_rc 0 "$t/onerank2.log" infer --set infer.model="$t/ck1/best.pt" --set infer.output="$t/onerank"
same_as "$t/ref1" "$t/onerank"

# 2. A result cut short under its final name: redone, and the log says so.
cp -r "$t/ref1" "$t/cut"
victim=$(ls "$t"/cut/images/*.h5 | head -1)
truncate -s $((one / 2)) "$victim"
expect_rc 0 "$t/cut.log" infer --set infer.model="$t/ck1/best.pt" --set infer.output="$t/cut"
grep -q "redoing $(basename "$victim" .h5): .* is unreadable" "$t/cut.log" || { cat "$t/cut.log"; fail "no redo logged"; }
same_as "$t/ref1" "$t/cut"

# 3. Another model into the same folder: every image redone, one model in segmentation.h5.
cp -r "$t/ref1" "$t/swap"
expect_rc 0 "$t/swap.log" infer --set infer.model="$t/ck2/best.pt" --set infer.output="$t/swap"
[[ $(grep -c "was made with another model" "$t/swap.log") == 6 ]] || fail "not every image was redone"
same_as "$t/ref2" "$t/swap"
$py - "$t/swap/segmentation.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
stamps = {f["images"][i.decode()].attrs["checkpoint_hash"] for i in f["index/image_id"][:]}
assert stamps == {f.attrs["checkpoint_hash"]}, stamps
PY

# 4. A second run while the first is writing: refused (exit 2, the holder named); the first,
# stopped meanwhile, finishes with the reference results. A lock left by a killed run is taken over.
(exec "$bin/nucseg_infer" --set infer.tile=64 --set infer.overlap=16 --set infer.batch=2 --set infer.threads=1 \
  --set infer.input="$t/data" --set infer.model="$t/ck1/best.pt" --set infer.output="$t/busy" >"$t/busy1.log" 2>&1) &
first=$!  # the nucseg_infer process itself (exec)
wait_lock "$t/busy/.nucseg.lock"
kill -STOP $first
expect_rc 2 "$t/busy2.log" infer --set infer.model="$t/ck2/best.pt" --set infer.output="$t/busy"
grep -q "is in use by nucseg_infer (pid $first" "$t/busy2.log" || { cat "$t/busy2.log"; fail "holder not named"; }
kill -CONT $first
wait $first || fail "the first run failed: $(tail -3 "$t/busy1.log")"
same_as "$t/ref1" "$t/busy"
cp -r "$t/ref1" "$t/stale"
sleep 0 & dead=$!; wait $dead
printf 'host=%s\npid=%s\ntool=nucseg_infer\nslurm_job=\nstarted=x\n' "$(hostname)" $dead >"$t/stale/.nucseg.lock"
touch "$t/stale/images/x.h5.tmp-$dead"
expect_rc 0 "$t/stale.log" infer --set infer.model="$t/ck1/best.pt" --set infer.output="$t/stale"
[[ ! -e $t/stale/.nucseg.lock && ! -e $t/stale/images/x.h5.tmp-$dead ]] || fail "stale lock or temporary left"

# 5. A weight changed inside the checkpoint: refused as damaged.
cp "$t/ck1/best.pt" "$t/damaged.pt"
$py - "$t/damaged.pt" <<'PY'
import sys, zipfile, struct
path = sys.argv[1]
with zipfile.ZipFile(path) as z:  # torch archives are stored zips: find one tensor's bytes
    info = max((i for i in z.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    z.fp.seek(info.header_offset + 26)
    name_len, extra_len = struct.unpack("<HH", z.fp.read(4))
    offset = info.header_offset + 30 + name_len + extra_len
with open(path, "r+b") as f:
    f.seek(offset + 64)
    f.write(struct.pack("<f", -1.7e36))
PY
expect_rc 1 "$t/damaged.log" infer --set infer.model="$t/damaged.pt" --set infer.output="$t/dmg"
grep -q "checkpoint is damaged" "$t/damaged.log" || { tail "$t/damaged.log"; fail "damage not reported"; }
# 6. A stop at the launcher: SIGTERM to the job script (forwarded as SIGUSR1), then SIGTERM
# straight to mpirun (what Slurm's cancel does to the batch step): mpirun exits 1, the script 75.
# More images here: mpirun takes a moment to pass SIGTERM on, and the run must still be going
# (24 images took 0.6 s on an idle machine and finished before the signal arrived).
"$bin/nucseg_synth" --set synth.output="$t/data24" --set synth.count=160 --set synth.seed=4 \
  --set synth.min_side=96 --set synth.max_side=128 >/dev/null
printf '[infer]\nmodel = "%s"\ninput = "%s"\noutput = "%s"\ntile = 64\noverlap = 16\nbatch = 2\nthreads = 1\n' \
  "$t/ck1/best.pt" "$t/data24" "$t/stop" >"$t/infer.toml"
expect_rc 0 "$t/ref24.log" "$bin/nucseg_infer" --config "$t/infer.toml" --set infer.output="$t/ref24"
job_script() {  # [tool options]
  NUCSEG_BIN="$bin" NUCSEG_LAUNCHER=mpirun NUCSEG_LAUNCH_ARGS="-n 2 --oversubscribe" \
    exec bash "$src/jobs/infer.sbatch" "$t/infer.toml" "$@"  # exec: $! is the script itself
}
stop_at() {  # which: script | mpirun
  local which=$1 job target
  job_script >"$t/stop-$which.log" 2>&1 &
  job=$!
  wait_lock "$t/stop/.nucseg.lock"
  if [[ $which == script ]]; then target=$job; else target=$(pgrep -P $job -x mpirun); fi
  [[ -n $target ]] || fail "no $which process to signal"
  kill -TERM "$target"
  set +e; wait $job; local rc=$?; set -e
  [[ $rc == 75 ]] || { tail -15 "$t/stop-$which.log"; fail "SIGTERM to the $which: job script exit $rc, expected 75"; }
}
stop_at script
grep -q "SIGTERM received" "$t/stop-script.log" || fail "the job script did not see SIGTERM"
check_whole "$t/stop"
[[ ! -e $t/stop/segmentation.h5 ]] || fail "segmentation.h5 written by a stopped run"
stop_at mpirun
grep -q "the launcher exited with 1; nucseg_infer's rank 0 with 75" "$t/stop-mpirun.log" ||
  { tail "$t/stop-mpirun.log"; fail "mpirun's own exit code was not replaced"; }
check_whole "$t/stop"
expect_rc 0 "$t/stop3.log" bash -c "$(declare -f job_script); bin=$bin src=$src t=$t job_script"
same_as "$t/ref24" "$t/stop"

# 7. SIGTERM to rank 1 alone: rank 0 stops too, after its image in flight, instead of doing
# every image left by itself (it did, and then did not assemble them); the signal is named.
job_script --set infer.output="$t/stop1" >"$t/stop-rank.log" 2>&1 &
job=$!
wait_lock "$t/stop1/.nucseg.lock"
rank1=""
for p in $(pgrep -f "nucseg_infer --config $t/infer.toml"); do
  grep -qz '^OMPI_COMM_WORLD_RANK=1$' "/proc/$p/environ" 2>/dev/null && rank1=$p
done
[[ -n $rank1 ]] || fail "no rank 1 to signal"
kill -TERM "$rank1"
set +e; wait $job; rc=$?; set -e
[[ $rc == 75 ]] || { tail -15 "$t/stop-rank.log"; fail "SIGTERM to rank 1: exit $rc, expected 75"; }
grep -q "stopped by signal 15 (SIGTERM)" "$t/stop-rank.log" || { tail "$t/stop-rank.log"; fail "SIGTERM not named"; }
# No image may be done yet when the signal came during start-up: count with nullglob, not ls
# (whose failure on no match, under pipefail, had ended the script without a word).
shopt -s nullglob
done_files=("$t"/stop1/images/*.h5)
shopt -u nullglob
done1=${#done_files[@]}
echo "SIGTERM to rank 1: $done1 of 160 images done"
((done1 < 160)) || fail "SIGTERM to rank 1: the other rank went on through every image"
[[ ! -e $t/stop1/segmentation.h5 ]] || fail "segmentation.h5 written by a stopped run"
check_whole "$t/stop1"
expect_rc 0 "$t/stop-rank2.log" bash -c "$(declare -f job_script); bin=$bin src=$src t=$t job_script --set infer.output=$t/stop1"
same_as "$t/ref24" "$t/stop1"
echo "e2e faults ok"
