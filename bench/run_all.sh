#!/usr/bin/env bash
# Re-measures every speed and serving figure that README.md and docs/BENCHMARKS.md quote, in one run on one
# machine, with both PyTorch peers (dense, and sparse with each decoder), so that every ratio in those pages
# comes from the same invocation. Run it on a quiet machine:
#
#   scripts/bench-setup && scripts/build && bench/run_all.sh [OUT]
#
# OUT (default out/bench-DATE) receives each step's JSON, markdown and log, and times.tsv (wall seconds per
# step). THREADS (default 2, the thread count the pages quote), AUTOREC_ML100K_DIR and AUTOREC_ML1M_FILE
# (default: ../shared/data) choose the run; NETFLIX=0 skips the Netflix-scale CPU pipeline (about 4 GB of
# temporary files under TMPDIR and 10+ GiB of memory). MovieLens splits go to a temporary folder that is
# deleted at the end, never to OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/bench-$(date +%F)}
threads=${THREADS:-2}
ml100k=${AUTOREC_ML100K_DIR:-../shared/data/ml-100k}
ml1m=${AUTOREC_ML1M_FILE:-../shared/data/ml-1m/ratings_dense.tsv.zst}
bin=build/bin
py=/usr/bin/python3  # Debian's, the one with python3-torch (a pyenv python3 on PATH may lack it)
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$bin/autorec-train" ] || { echo "run_all: no $bin/autorec-train: run scripts/build first" >&2; exit 2; }

# Fail in seconds, not after the first ten minutes, when the peers' BLAS would refuse every ratio.
"$py" -c "
import sys; sys.path.insert(0, '../shared/peers')
import blas_setup, torch
torch.set_num_threads($threads); g = blas_setup.gemm_gflops(torch)
print(f'run_all: peer GEMM {g:.1f} GFLOP/s at $threads threads ({blas_setup.describe()})')
sys.exit(0 if g >= 20 else 'run_all: peer GEMM below 20 GFLOP/s: run scripts/bench-setup')"

start=$SECONDS
: > "$out/times.tsv"
step() {  # step NAME COMMAND...: runs it, logs its output, records its wall time
  local name=$1 t=$SECONDS; shift
  echo "run_all: $name ($((SECONDS - start)) s so far)"
  if ! "$@" > "$out/$name.log" 2>&1; then
    echo "run_all: $name failed; see $out/$name.log" >&2; tail -5 "$out/$name.log" >&2; exit 1
  fi
  printf '%s\t%d\n' "$name" $((SECONDS - t)) >> "$out/times.tsv"
}

step hardware "$bin/autorec-bench" --hardware --threads "$threads" --json
# README's results table, BENCHMARKS' issue-2 table: textbook recipe, 25 epochs on both sides.
step peer_compare bench/peer_compare.py --ml100k "$ml100k" --ml1m "$ml1m" --seeds 1 2 3 --ml1m-seeds 1 \
    --threads "$threads" --json "$out/peer_compare.json" --markdown "$out/peer_compare.md"
# README's "under a minute per ML-1M model": the default recipe's whole autorec-train run (train_wall_s).
step default_ml1m bench/peer_compare.py --ml1m "$ml1m" --ml1m-seeds 1 --no-peer --recipe default \
    --threads "$threads" --json "$out/default_ml1m.json" --markdown "$out/default_ml1m.md"
# BENCHMARKS' issue-4 suite and README's suite paragraph.
step suite bench/suite.py --ml1m "$ml1m" --threads "$threads" --json "$out/suite.json" --markdown "$out/suite.md"
# BENCHMARKS' issue-6 serving table and README's serving paragraph: 8 runs, medians.
step serving_model "$py" ../shared/bench/make_split.py "$ml1m" "$tmp/ml1m-s1" --seed 1
step serving_train "$bin/autorec-train" "$tmp/ml1m-s1/train.data" --recipe textbook --test "$tmp/ml1m-s1/test.data" \
    -o "$tmp/m1m-codes.fb" --threads "$threads" --device cpu
step serving bench/serving.py "$tmp/m1m-codes.fb" --runs 8 --json "$out/serving.json" --markdown "$out/serving.md"
rm -rf "$tmp/ml1m-s1"
# BENCHMARKS' issue-18 table: the Python package against the library's loops.
step python_serving "$py" bench/python_serving.py --ml1m "$ml1m" --bin "$bin" --threads "$threads" \
    --json "$out/python_serving.json" --markdown "$out/python_serving.md"
# RESULTS' ranking tables and BENCHMARKS' ranking timing (issue 19).
step ranking "$py" bench/ranking.py --ml100k "$ml100k/u.data" --ml1m "$ml1m" --bin "$bin" --threads "$threads" \
    --json "$out/ranking.json" --markdown "$out/ranking.md"
# BENCHMARKS' distributed-training table and model (issue 20): needs the MPI build (scripts/setup installs OpenMPI).
step distributed "$py" bench/distributed.py --ml1m "$ml1m" --bin "$bin" --json "$out/distributed.json" \
    --markdown "$out/distributed.md"
# BENCHMARKS' issue-16 table: the default (dispatched) build against an AUTOREC_NATIVE=ON build of this source.
AUTOREC_BUILD_DIR=build-native AUTOREC_BUILD_TARGET= scripts/build -DAUTOREC_NATIVE=ON -DAUTOREC_CUDA=OFF \
  -DAUTOREC_INSTALL=OFF -DAUTOREC_BUILD_TESTS=OFF > "$out/dispatch_build.log" 2>&1
step dispatch bench/dispatch_vs_native.py --ml1m "$ml1m" --threads "$threads" --rounds 11 --epochs 5 \
    --json "$out/dispatch.json" --markdown "$out/dispatch.md"
# BENCHMARKS' Netflix-scale CPU table: each command's wall time is its row (times.tsv), the logs have the rest.
if [ "${NETFLIX:-1}" != 0 ]; then
  step netflix_synth "$bin/autorec-synth" --users 480189 --items 17770 --density 0.0117 --seed 1 --split-dir "$tmp/nf"
  step netflix_train "$bin/autorec-train" "$tmp/nf/train.data" --recipe textbook --epochs 1 --threads "$threads" \
      -o "$tmp/nf.fb" --device cpu
  ls -l "$tmp/nf.fb" >> "$out/netflix_train.log"
  step netflix_verify "$bin/autorec-verify" "$tmp/nf.fb" "$tmp/nf/test.data"
fi
echo "run_all: done in $((SECONDS - start)) s; results in $out (times.tsv, *.md, *.json, *.log)"
