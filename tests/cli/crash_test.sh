#!/usr/bin/env bash
# Training that survives (issue 7): kill -9 in the middle of training, then --resume, ends at the RMSE of an
# uninterrupted run (also inside a --refit); kill -9 in the middle of a model write leaves the previous file
# loadable; a failing write (a full disk, simulated with the file-size limit) is reported and leaves the
# previous model and checkpoint intact; a diverging run stops; a run too big for memory stops before it starts.
set -u
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
passes=0
pass() { echo "ok   $1"; passes=$((passes + 1)); }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
rmse_of() { sed -n 's/^test RMSE \([0-9.]*\).*/\1/p' "$1"; }

"$bin/autorec-synth" --users 3000 --items 1500 --density 0.03 --seed 5 --split-dir "$work/d" --split-seed 1 >/dev/null 2>&1
common=("$bin/autorec-train" "$work/d/train.data" --test "$work/d/test.data" --hidden 100 --threads 2 --device cpu)
train=("${common[@]}" --epochs 14)

# Waits (up to 120 s) until the log of a background run shows `pattern`, then kills it with SIGKILL.
kill_when() {  # kill_when PID LOG PATTERN
  local i
  for ((i = 0; i < 12000; i++)); do
    grep -q -- "$3" "$2" 2>/dev/null && break
    kill -0 "$1" 2>/dev/null || break
    sleep 0.01
  done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

# 1. kill -9 during the epochs, then --resume.
"${train[@]}" -o "$work/whole.fb" >"$work/whole.log" 2>&1 || fail "uninterrupted run"
"${train[@]}" -o "$work/resumed.fb" --checkpoint "$work/run.ckpt" --checkpoint-every 2 >"$work/killed.log" 2>&1 &
kill_when $! "$work/killed.log" "^epoch   7/"
if [ -e "$work/resumed.fb" ]; then fail "killed run wrote a model"; fi
"${train[@]}" -o "$work/resumed.fb" --checkpoint "$work/run.ckpt" --checkpoint-every 2 --resume >"$work/resumed.log" 2>&1 \
  || { fail "resume exited non-zero"; cat "$work/resumed.log"; }
a=$(rmse_of "$work/whole.log") b=$(rmse_of "$work/resumed.log")
after=$(sed -n 's/^resumed from .* after epoch \([0-9]*\)$/\1/p' "$work/resumed.log")
echo "     uninterrupted $a, killed in epoch 7 or 8 and resumed after epoch ${after:-?}: $b"
if [ -n "$a" ] && [ -n "$b" ] && [ -n "$after" ] && [ "$after" -ge 2 ] && [ "$after" -lt 14 ] &&
  awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; exit !(d <= 0.002 && d >= -0.002) }'; then
  pass "kill -9 then --resume: same test RMSE within 0.002"
else
  fail "kill -9 then --resume"; cat "$work/resumed.log"
fi

# 2. The same inside --refit: killed during the second run, resumed from its checkpoint without redoing the first.
refit=("${common[@]}" --val-ratio 0.1 --refit --epochs 8)
"${refit[@]}" -o "$work/refit-whole.fb" >"$work/refit-whole.log" 2>&1 || fail "uninterrupted refit run"
"${refit[@]}" -o "$work/refit.fb" --checkpoint "$work/refit.ckpt" >"$work/refit-killed.log" 2>&1 &
# The refit's epoch lines are the ones without a val_rmse.
kill_when $! "$work/refit-killed.log" "^epoch   3/.*train_rmse [0-9.]*  [0-9.]* s "
"${refit[@]}" -o "$work/refit.fb" --checkpoint "$work/refit.ckpt" --resume >"$work/refit-resumed.log" 2>&1 \
  || { fail "refit resume exited non-zero"; cat "$work/refit-resumed.log"; }
a=$(rmse_of "$work/refit-whole.log") b=$(rmse_of "$work/refit-resumed.log")
if [ -n "$a" ] && [ "$a" = "$b" ] && grep -q "^resumed from" "$work/refit-resumed.log" &&
  ! grep -q "val_rmse" "$work/refit-resumed.log"; then
  pass "kill -9 in a refit then --resume: test RMSE $a both ways, the first run not repeated"
else
  fail "refit resume ($a vs $b)"; cat "$work/refit-resumed.log"
fi

# 3. kill -9 while a model file is being written: the previous file stays whole. The kill is sent as soon as
# the temporary file appears; a left-over temporary file shows it landed mid-write.
big=("$bin/autorec-train" "$work/d/train.data" --hidden 500 --epochs 1 --threads 2 --device cpu --zstd-level 1)
"${big[@]}" -o "$work/prev.fb" >/dev/null 2>&1 || fail "big model"
sum=$(sha256sum <"$work/prev.fb")
mid_write=0
for attempt in 1 2 3 4 5; do
  "${big[@]}" --seed $((attempt + 1)) -o "$work/prev.fb" >/dev/null 2>&1 &
  pid=$!
  shopt -s nullglob
  while kill -0 $pid 2>/dev/null; do
    tmp=("$work"/.prev.fb.tmp.*)
    [ ${#tmp[@]} -gt 0 ] && { kill -9 $pid; break; }
  done
  wait $pid 2>/dev/null
  tmp=("$work"/.prev.fb.tmp.*)
  shopt -u nullglob
  if [ ${#tmp[@]} -gt 0 ]; then
    mid_write=$((mid_write + 1))
    rm -f "${tmp[@]}"
    [ "$(sha256sum <"$work/prev.fb")" = "$sum" ] || fail "previous model changed by a killed write"
  else
    sum=$(sha256sum <"$work/prev.fb")  # the write finished first: the new file is the one to keep whole
  fi
  [ $mid_write -ge 2 ] && break
done
if [ $mid_write -ge 1 ] && "$bin/autorec-inspect" "$work/prev.fb" >/dev/null 2>&1; then
  pass "kill -9 during a model write ($mid_write of $attempt kills landed mid-write): previous file loads"
else
  fail "kill -9 during a model write (mid-write kills: $mid_write)"
fi

# 4. A write that fails (EFBIG under `ulimit -f`, as ENOSPC would on a full disk): reported, previous files
# intact, no temporary file left. SIGXFSZ is ignored so the write call returns the error.
cp "$work/prev.fb" "$work/keep.fb"
cp "$work/run.ckpt" "$work/keep.ckpt"
small=("$bin/autorec-train" "$work/d/train.data" --hidden 100 --epochs 2 --threads 2 --device cpu)
(trap '' XFSZ; ulimit -f 64; exec "${small[@]}" -o "$work/keep.fb") >"$work/full.log" 2>&1
code=$?
if [ $code -eq 1 ] && grep -q "keep.fb: write failed: File too large (the previous file, if any, is untouched)" "$work/full.log" &&
  cmp -s "$work/keep.fb" "$work/prev.fb" && [ -z "$(ls -A "$work" | grep '^\.keep')" ]; then
  pass "failed model write: exit 1, reported, previous model intact"
else
  fail "failed model write (exit $code)"; cat "$work/full.log"
fi
(trap '' XFSZ; ulimit -f 64; exec "${small[@]}" -o "$work/other.fb" --checkpoint "$work/keep.ckpt") >"$work/full.log" 2>&1
code=$?
if [ $code -eq 1 ] && grep -q "keep.ckpt: write failed" "$work/full.log" && cmp -s "$work/keep.ckpt" "$work/run.ckpt" &&
  [ ! -e "$work/other.fb" ]; then
  pass "failed checkpoint write: exit 1, reported, previous checkpoint intact, no model"
else
  fail "failed checkpoint write (exit $code)"; cat "$work/full.log"
fi

# 5. A run that diverges stops with a clear error, keeps the last good checkpoint and writes no model.
"${small[@]}" -o "$work/div.fb" --lr 1e30 --checkpoint "$work/keep.ckpt" >"$work/div.log" 2>&1
code=$?
if [ $code -eq 1 ] && grep -q "epoch 1: training diverged: loss NaN" "$work/div.log" && [ ! -e "$work/div.fb" ] &&
  cmp -s "$work/keep.ckpt" "$work/run.ckpt"; then
  pass "diverging run: exit 1, named epoch, no model, checkpoint untouched"
else
  fail "diverging run (exit $code)"; cat "$work/div.log"
fi

# 6. A run too large for any machine (16 layers of 65536) stops before allocating, saying what it needs.
layers=65536$(printf -- '-65536%.0s' {1..15})
"$bin/autorec-train" "$work/d/train.data" --layers "$layers" -o "$work/huge.fb" >"$work/huge.log" 2>&1
code=$?
if [ $code -eq 1 ] && grep -q "training needs about [0-9]* MiB of memory (.*parameters.*), more than the [0-9]* MiB available" "$work/huge.log"; then
  pass "memory estimate refuses a run that cannot fit"
else
  fail "memory estimate (exit $code)"; cat "$work/huge.log"
fi

echo "$passes checks passed, $fails failed"
[ $fails -eq 0 ]
