#!/usr/bin/env bash
# Distributed training over MPI (issue 20), on one machine: autorec-train under mpirun -np 2 and -np 3
# (oversubscribed on 2 cores; the rows sharded unevenly) against the same run in one process: the same
# per-epoch losses and validation RMSEs (1e-5 relative) and test RMSE (0.001), one ordinary model file that
# autorec-verify scores as the run did, and rank 0's account of the sharding. Then the faults: a rank killed
# with SIGKILL mid-run ends every rank within a bounded time with the last checkpoint intact, and the same
# command with --resume completes (on 2 processes, and on 3 from the 2-process checkpoint); a rank stopped
# with SIGSTOP (hung, not dead) ends the run after --dist-timeout; a bad setting ends every rank with exit 2.
# Usage: mpi_test.sh BIN_DIR [MPIRUN] (the build's bin/, the launcher: mpirun).
set -u
bin=$1
launcher_cmd=${2:-mpirun}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
passes=0
pass() { echo "ok   $1"; passes=$((passes + 1)); }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
rmse_of() { sed -n 's/^test RMSE \([0-9.]*\).*/\1/p' "$1"; }

# CI runs as root, which OpenMPI refuses unless told; 3 processes on 2 cores need --oversubscribe.
mpirun=("$launcher_cmd" --oversubscribe)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
run_np() {  # run_np P LOG ARGS...: autorec-train on P processes, bounded to 300 s
  local np=$1 log=$2
  shift 2
  timeout 300 "${mpirun[@]}" -np "$np" "$bin/autorec-train" "$@" >"$log" 2>&1
}

"$bin/autorec-synth" --users 3000 --items 1500 --density 0.03 --seed 5 --split-dir "$work/d" --split-seed 1 >/dev/null 2>&1 ||
  { echo "FAIL autorec-synth"; exit 1; }
# (On this data the bias model wins on validation, so the item-based run's refit is skipped and its test RMSE
# is the bias model's; its per-epoch losses and validation RMSEs are the network's. The user-based run has no
# validation part: its test RMSE is the network's.)
item=("$work/d/train.data" --test "$work/d/test.data" --hidden 32 --epochs 6 --batch 32 --threads 1 --device cpu
      --val-ratio 0.1 --refit --dropout 0.1)
user=("$work/d/train.data" --test "$work/d/test.data" --variant user --layers 24-12 --input-dropout 0.1 --epochs 5
      --batch 32 --threads 1 --device cpu)
# Low-rank data on which the network earns a share on validation, so that the refit runs: process 0 makes
# that choice and the others must follow it.
"$bin/autorec-synth" --users 1500 --items 600 --density 0.1 --seed 5 --rank 3 --noise 0.1 --split-dir "$work/r" \
  --split-seed 1 >/dev/null 2>&1 || { echo "FAIL autorec-synth"; exit 1; }
# (At --lr 0.01 the one- and many-process trajectories drift apart by 4e-5 relative after epoch 10 through
# float summation order alone, Adam amplifying it; at 0.005 they stay within 1.1e-7, measured.)
refit=("$work/r/train.data" --test "$work/r/test.data" --hidden 64 --epochs 30 --lr 0.005 --batch 32 --threads 1
       --device cpu --val-ratio 0.1 --refit)
# Full-batch Rprop, the paper's optimiser: each process steps its own rows.
rprop=("$work/r/train.data" --test "$work/r/test.data" --optimizer rprop --hidden 32 --epochs 8 --threads 1
       --device cpu --val-ratio 0)

# Per-epoch loss, validation RMSE and the summary's test RMSE of two --metrics files. The loss bound, 1e-5
# relative, against the largest difference measured over the cases below (2026-12-06, AMD EPYC, portable
# build, kernels chosen with AUTOREC_CPU): avx512 7.3e-7, avx2 8.2e-7, baseline 1.7e-6 (the refit case;
# the others stay under 2.2e-9).
same_metrics() {  # same_metrics ONE.jsonl MANY.jsonl
  /usr/bin/env python3 - "$1" "$2" <<'PY'
import json, sys
one, many = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
assert len(one) == len(many) and len(one) > 1, (len(one), len(many))
for a, b in zip(one[:-1], many[:-1]):
    for key in ("loss", "train_rmse", "val_rmse"):
        if a[key] is None and b[key] is None: continue
        assert abs(a[key] - b[key]) <= 1e-5 * abs(a[key]), (a["epoch"], key, a[key], b[key])
d = abs(one[-1]["test_rmse"] - many[-1]["test_rmse"])
assert d <= 0.001, (one[-1]["test_rmse"], many[-1]["test_rmse"])
print("     %d epochs, largest loss difference %.2g relative, test RMSE %.6f vs %.6f" % (len(one) - 1,
      max(abs(a["loss"] - b["loss"]) / a["loss"] for a, b in zip(one[:-1], many[:-1])), one[-1]["test_rmse"], many[-1]["test_rmse"]))
PY
}

# 1. item-based (validation, refit skipped, dropout), user-based (inner layers, input dropout), item-based
# with a refit that runs and item-based with rprop, on 1, 2, 3 processes.
for shape in item user refit rprop; do
  declare -n args=$shape
  name=$shape-based
  [ "$shape" = refit ] && name="item-based with a refit"
  [ "$shape" = rprop ] && name="item-based with rprop"
  "$bin/autorec-train" "${args[@]}" --metrics "$work/$shape-1.jsonl" -o "$work/$shape-1.fb" >"$work/$shape-1.log" 2>&1 ||
    { fail "$shape: one process"; cat "$work/$shape-1.log"; }
  for np in 2 3; do
    if ! run_np $np "$work/$shape-$np.log" "${args[@]}" --metrics "$work/$shape-$np.jsonl" -o "$work/$shape-$np.fb"; then
      fail "$shape: $np processes exited non-zero"; cat "$work/$shape-$np.log"; continue
    fi
    if [ "$shape" = refit ] && ! grep -q "^refit: 30 epochs" "$work/$shape-$np.log"; then
      fail "refit on $np processes: the refit did not run"; sed -n '/^refit/p' "$work/$shape-$np.log"
    fi
    if same_metrics "$work/$shape-1.jsonl" "$work/$shape-$np.jsonl"; then
      pass "$name on $np processes: losses and RMSEs as on one"
    else
      fail "$name on $np processes differs from one"
    fi
    verify=$("$bin/autorec-verify" "$work/$shape-$np.fb" "${args[2]}" 2>&1 | sed -n 's/^RMSE \([0-9.]*\).*/\1/p')
    if [ -n "$verify" ] && [ "$verify" = "$(rmse_of "$work/$shape-$np.log")" ]; then
      pass "$name on $np processes: autorec-verify reads the model file and finds RMSE $verify"
    else
      fail "$shape: autorec-verify '$verify' vs the run's '$(rmse_of "$work/$shape-$np.log")'"
    fi
  done
done
rows=$(grep -c "^rank [0-9]: users \[" "$work/item-3.log")
if grep -q "^distributed: 3 processes (MPI), users sharded" "$work/item-3.log" && [ "$rows" -eq 3 ] &&
  grep -q "^distributed: rank 0 sent" "$work/item-3.log" && [ "$(grep -c "^model: " "$work/item-3.log")" -eq 1 ]; then
  pass "rank 0 alone prints the sharding and the summary"
else
  fail "the sharding account"; cat "$work/item-3.log"
fi

# The pid of rank 1 of the run writing MODEL (launcher LAUNCHER) once its --metrics file METRICS has 3
# epochs; "" if the run ended first.
rank1_after_epoch_3() {  # rank1_after_epoch_3 LAUNCHER METRICS MODEL
  for ((i = 0; i < 12000; i++)); do
    [ -e "$2" ] && [ "$(wc -l <"$2")" -ge 3 ] && break
    kill -0 "$1" 2>/dev/null || break
    sleep 0.01
  done
  for pid in $(pgrep -f "$bin/autorec-train.*$3"); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && echo "$pid"
  done
}

# fault_run NAME SIGNAL ARGS...: the long run on 2 processes writing NAME.fb (ARGS added), SIGNAL sent to
# rank 1 after epoch 3, then up to 60 s for the launcher to end. Sets victim (rank 1's pid, "" if the run
# ended first), status (mpirun's exit), took (seconds from the signal) and left (processes of the run left).
fault_run() {
  local name=$1 signal=$2
  shift 2
  timeout 300 "${mpirun[@]}" -np 2 "$bin/autorec-train" "${long[@]}" -o "$work/$name.fb" "$@" \
    --metrics "$work/$name.jsonl" >"$work/$name.log" 2>&1 &
  local launcher=$!
  victim=$(rank1_after_epoch_3 $launcher "$work/$name.jsonl" "$name.fb")
  local start=$SECONDS
  [ -n "$victim" ] && kill "$signal" "$victim"
  for ((i = 0; i < 600; i++)); do kill -0 $launcher 2>/dev/null || break; sleep 0.1; done
  wait $launcher
  status=$?
  took=$((SECONDS - start))
  left=$(pgrep -f "$bin/autorec-train.*$name.fb" | wc -l)
}

# 2. SIGKILL to rank 1 after epoch 3 (seen in rank 0's --metrics file; under mpirun the console is a pty and
# rewrites its line): every rank ends (within 60 s of the kill), no model is written, and the last checkpoint
# resumes to the uninterrupted run's test RMSE.
long=("$work/d/train.data" --test "$work/d/test.data" --hidden 500 --epochs 30 --batch 16 --threads 1 --device cpu)
run_np 2 "$work/whole.log" "${long[@]}" -o "$work/whole.fb" || fail "uninterrupted 2-process run"
fault_run killed -KILL --checkpoint "$work/run.ckpt"
parts=$(cd "$work" && ls run.ckpt.train.e*.part*of2 2>/dev/null | wc -l)
if [ -n "$victim" ] && [ $status -ne 0 ] && [ "$left" -eq 0 ] && [ $took -le 60 ] && [ ! -e "$work/killed.fb" ] &&
  [ "$parts" -ge 2 ]; then
  pass "rank 1 killed after epoch $(wc -l <"$work/killed.jsonl"): every rank stopped in $took s (mpirun exit $status), no model written"
else
  fail "kill rank 1 (victim '${victim}', exit $status, $left left, $took s, $parts parts)"; tail -5 "$work/killed.log"
  pkill -9 -f "$bin/autorec-train.*killed.fb"
fi
for np in 2 3; do
  # (A copy of the checkpoint, manifest and parts, for each: a resumed run removes the parts it replaces.)
  mkdir -p "$work/copy-$np" && cp "$work"/run.ckpt* "$work/copy-$np/"
  if run_np $np "$work/resumed-$np.log" "${long[@]}" -o "$work/resumed-$np.fb" --checkpoint "$work/copy-$np/run.ckpt" --resume &&
    grep -q "^resumed from .* after epoch [1-9][0-9]*$" "$work/resumed-$np.log" &&
    awk -v a="$(rmse_of "$work/whole.log")" -v b="$(rmse_of "$work/resumed-$np.log")" \
      'BEGIN { d = a - b; exit !(a != "" && b != "" && d <= 0.001 && d >= -0.001) }'; then
    pass "resumed on $np processes: test RMSE $(rmse_of "$work/resumed-$np.log"), uninterrupted $(rmse_of "$work/whole.log")"
  else
    fail "resume on $np processes"; cat "$work/resumed-$np.log"
  fi
  # Checkpoints in parts: one per process beside the manifest, the last epoch's alone left, and the parts it
  # resumed from removed. (A part the killed run wrote after its last manifest is named by none: of the
  # 2-process run it is written over on resuming, of another it stays.)
  parts=$(cd "$work/copy-$np" && ls run.ckpt.*.part*of$np 2>/dev/null | tr '\n' ' ')
  from=$(sed -n 's/^resumed from .* after epoch \([0-9]*\)$/\1/p' "$work/resumed-$np.log")
  if [ "$parts" = "$(for ((r = 0; r < np; r++)); do printf 'run.ckpt.train.e30.part%sof%s ' $r $np; done)" ] &&
    [ -n "$from" ] && [ ! -e "$work/copy-$np/run.ckpt.train.e$from.part0of2" ] &&
    [ ! -e "$work/copy-$np/run.ckpt.train.e$from.part1of2" ]; then
    pass "resumed on $np processes: its checkpoint is the manifest and ${parts}(the epoch-$from parts removed)"
  else
    fail "the parts of the $np-process checkpoint: '$parts', resumed from epoch '$from'"; ls "$work/copy-$np"
  fi
done

# 3. SIGSTOP to rank 1 after epoch 3: it hangs rather than dies, so mpirun sees nothing; rank 0 gives up
# after --dist-timeout 3 s inside the sum it waits in, and its exit ends the run.
fault_run stopped -STOP --dist-timeout 3
if [ -n "$victim" ] && [ $status -ne 0 ] && [ "$left" -eq 0 ] && [ $took -le 30 ] && [ ! -e "$work/stopped.fb" ] &&
  grep -q "rank 0\]: error: no answer from the other processes for 3 s inside MPI_Allreduce" "$work/stopped.log"; then
  pass "rank 1 stopped after epoch $(wc -l <"$work/stopped.jsonl"): rank 0 gave up after 3 s, the run ended in $took s (mpirun exit $status)"
else
  fail "stop rank 1 (victim '${victim}', exit $status, $left left, $took s)"; tail -5 "$work/stopped.log"
fi
pkill -CONT -f "$bin/autorec-train.*stopped.fb"; pkill -9 -f "$bin/autorec-train.*stopped.fb"

# 4. A bad setting: every rank refuses it, the run ends with exit 2 and the message.
run_np 2 "$work/bad.log" "$work/d/train.data" --hidden 0
status=$?
if [ $status -eq 2 ] && grep -q "hidden" "$work/bad.log"; then
  pass "a bad setting ends the 2-process run with exit 2"
else
  fail "bad setting (exit $status)"; cat "$work/bad.log"
fi

echo "mpi: $passes passed, $fails failed"
[ $fails -eq 0 ]
