#!/usr/bin/env bash
# Regenerates the committed seed corpus with the project's own tools: tiny models of each kind the reader
# takes, and ratings files in each accepted format. Usage: tests/fuzz/make_corpus.sh BUILD_BIN_DIR
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$here/corpus/model" "$here/corpus/ratings"
"$bin/autorec-synth" --users 12 --items 9 --density 0.4 --seed 3 -o "$work/r.data"
train() { "$bin/autorec-train" "$work/r.data" -o "$here/corpus/model/$1.fb" --epochs 2 -q --device cpu "${@:2}" >/dev/null; }
train item --hidden 4                      # the default recipe: data this sparse validates itself (schema 4, baseline)
train plain --hidden 4 --recipe textbook   # plain ratings: schema 2
train offset --hidden 4 --recipe textbook --input-offset 3  # the input rule: schema 3
# Another scale (1-100): model units and, with a validation part, a baseline (schema 4).
awk -v OFS='\t' '{print $1, $2, 25 * ($3 - 1) + 1, $4}' "$work/r.data" > "$work/r100.data"
"$bin/autorec-train" "$work/r100.data" -o "$here/corpus/model/scaled.fb" --epochs 2 -q --device cpu --hidden 4 \
  --val-ratio 0.2 >/dev/null
train user --hidden 3 --variant user
train deep --layers 4-3:elu
train int8 --hidden 4 --dtype int8
train fp16 --hidden 4 --dtype fp16
# Each model's content too (the file after its 32-byte header, decompressed): fuzz-model packs inputs itself.
for f in "$here"/corpus/model/*.fb; do tail -c +33 "$f" | zstd -d -q -c > "${f%.fb}.content"; done
# Synthetic ratings in each accepted layout (tabs, '::', comma with a header line), named for what they are.
head -c 400 "$work/r.data" > "$here/corpus/ratings/synth-tabs.txt"
awk 'NR<=12 {print $1 "::" $2 "::" $3 "::0"}' "$work/r.data" > "$here/corpus/ratings/synth-colons.txt"
{ echo "user,item,rating,time"; awk 'NR<=12 {print $1 "," $2 "," $3 "," $4}' "$work/r.data"; } > "$here/corpus/ratings/synth-header.csv"
printf 'u1 i1 4.5\nu2 i1 3\r\nu1 i2 1\n' > "$here/corpus/ratings/strings.txt"
ls -l "$here/corpus/model" "$here/corpus/ratings"
