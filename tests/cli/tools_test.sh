#!/usr/bin/env bash
# The tools end to end on synthetic data: exit codes, and autorec-verify reproducing the trainer's test RMSE.
set -u
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
passes=0
check() {  # check NAME EXPECTED_EXIT COMMAND...
  local name=$1 want=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL $name: exit $got, expected $want"; cat "$work/out" "$work/err"; fails=$((fails + 1))
  else
    echo "ok   $name (exit $got)"; passes=$((passes + 1))
  fi
}

check synth 0 "$bin/autorec-synth" --users 300 --items 200 --density 0.1 --seed 4 -o "$work/all.data"
# autorec-synth --split-dir writes the same two sides as autorec-split of the whole set.
check synth-split 0 "$bin/autorec-synth" --users 300 --items 200 --density 0.1 --seed 4 --split-dir "$work/s" --split-seed 3
check split 0 "$bin/autorec-split" "$work/all.data" "$work/r" --seed 3
for side in train test; do
  if cmp -s <(cut -f1-3 "$work/s/$side.data" | sort) <(cut -f1-3 "$work/r/$side.data" | sort) && [ -s "$work/r/$side.data" ]; then
    echo "ok   synth-split $side side equals autorec-split"; passes=$((passes + 1))
  else
    echo "FAIL synth-split $side side differs from autorec-split"; fails=$((fails + 1))
  fi
done
head -n 4000 "$work/all.data" > "$work/train.data"
tail -n +4001 "$work/all.data" > "$work/test.data"
check train 0 "$bin/autorec-train" "$work/train.data" --test "$work/test.data" -o "$work/m.fb" \
  --hidden 32 --epochs 10 --batch 32 --metrics "$work/metrics.jsonl"
check verify 0 "$bin/autorec-verify" "$work/m.fb" "$work/test.data" --json
cp "$work/out" "$work/verify.json"
check inspect 0 "$bin/autorec-inspect" "$work/m.fb" --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["fold_in"]["new_user"].startswith("decoder row") and j["loaded_bytes_estimate"] > j["parameters"] * 4 and j["code_size"] == 32 else 1)' "$work/out" \
  && { echo "ok   inspect shows fold-in, code size and loaded memory"; passes=$((passes + 1)); } || { echo "FAIL inspect fields"; fails=$((fails + 1)); }
# autorec-recommend: a known user, a new user folded in from a ratings file, titles, and bad input.
check recommend 0 "$bin/autorec-recommend" "$work/m.fb" --user 1 -k 5 --json
cp "$work/out" "$work/rec.json"
awk '$1 == 1 {print $2 "\t" $3}' "$work/train.data" > "$work/new.ratings"
check recommend-fold-in 0 "$bin/autorec-recommend" "$work/m.fb" --ratings "$work/new.ratings" -k 5 --json
cp "$work/out" "$work/fold.json"
printf '1|Caf\xe9 (1995)|01-Jan-1995||http://x|0|1\n2|Two (1996)|01-Jan-1996\n' > "$work/u.item"  # latin-1, as u.item
check recommend-titles 0 "$bin/autorec-recommend" "$work/m.fb" --user 1 -k 1000 --include-rated --items "$work/u.item" --json
cp "$work/out" "$work/titles.json"
if python3 - "$work/rec.json" "$work/fold.json" "$work/titles.json" "$work/new.ratings" <<'PY'; then passes=$((passes + 1)); else fails=$((fails + 1)); fi
import json, sys
rec, fold, titles = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:4])
rated = {l.split()[0] for l in open(sys.argv[4]) if l.strip()}
ok = True
for name, j in (("recommend", rec), ("fold-in", fold)):
    r = j["recommendations"]
    ratings = [x["rating"] for x in r]
    good = (len(r) == 5 and [x["rank"] for x in r] == [1, 2, 3, 4, 5] and ratings == sorted(ratings, reverse=True)
            and not rated & {x["item"] for x in r})
    print(("ok   " if good else "FAIL ") + name + ": 5 ranked items, none the user rated")
    ok &= good
by_item = {x["item"]: x.get("title") for x in titles["recommendations"]}
good = fold["rated"] == len(rated) and by_item.get("1") == "Caf\u00e9 (1995)" and by_item.get("3", "missing") is None
print(("ok   " if good else "FAIL ") + "fold-in counted its ratings; latin-1 titles in UTF-8, null without one", by_item.get("1"))
sys.exit(0 if ok and good else 1)
PY
# Without a validation part the model has no ranking rule: --rank-by rating gives the same list; ranking
# metrics come for every k asked, for the four rankings (this test file's users are mostly unseen: counted).
check recommend-rank-by-rating 0 "$bin/autorec-recommend" "$work/m.fb" --user 1 -k 5 --rank-by rating --json
cp "$work/out" "$work/rec-rating.json"
check recommend-rank-by-bad 2 "$bin/autorec-recommend" "$work/m.fb" --user 1 --rank-by popularity
check verify-top-k 0 "$bin/autorec-verify" "$work/m.fb" "$work/test.data" --top-k 5,10 --json
python3 - "$work/rec.json" "$work/rec-rating.json" "$work/out" <<'PY' && { echo "ok   rank-by and verify --top-k"; passes=$((passes + 1)); } || { echo "FAIL rank-by or verify --top-k"; fails=$((fails + 1)); }
import json, sys
rule, rating, verify = (json.load(open(p)) for p in sys.argv[1:4])
items = lambda j: [x["item"] for x in j["recommendations"]]
at = verify["ranking"]["at"]
ok = (rule["rank_by"] == "rule" and rule["ranking_weight"] == 0 and rating["rank_by"] == "rating"
      and items(rule) == items(rating) and sorted(at) == ["10", "5"] and verify["ranking"]["users"] > 0
      and all(set(at[k]) == {"autorec", "autorec_rating", "popularity", "random"} for k in at)
      and at["10"]["autorec"] == at["10"]["autorec_rating"] and verify["ranking"]["unseen_user_ratings"] > 0)
if not ok:
    print(rule["rank_by"], rule["ranking_weight"], rating["rank_by"], items(rule), items(rating), sorted(at), verify["ranking"])
sys.exit(0 if ok else 1)
PY
printf '1::One (1995)::Drama\n' > "$work/movies.dat"
check recommend-movies-dat 0 "$bin/autorec-recommend" "$work/m.fb" --user 1 -k 1000 --include-rated --items "$work/movies.dat"
grep -q "One (1995)" "$work/out" || { echo "FAIL movies.dat title not shown"; fails=$((fails + 1)); }
check recommend-unknown-user 2 "$bin/autorec-recommend" "$work/m.fb" --user 999999
grep -q "'999999'" "$work/err" || { echo "FAIL message lacks the user id"; fails=$((fails + 1)); }
printf '1\t4\n2\tfive\n' > "$work/bad.ratings"
check recommend-bad-rating 2 "$bin/autorec-recommend" "$work/m.fb" --ratings "$work/bad.ratings"
grep -q "bad.ratings:2: rating 'five'" "$work/err" || { echo "FAIL message lacks file:line:value"; fails=$((fails + 1)); }
printf '1\t4\n999999\t4\n' > "$work/unknown-item.ratings"
check recommend-unknown-item 2 "$bin/autorec-recommend" "$work/m.fb" --ratings "$work/unknown-item.ratings"
grep -q "unknown-item.ratings:2: item '999999'" "$work/err" || { echo "FAIL message lacks the item"; fails=$((fails + 1)); }
printf '1\t4\n1\t5\n' > "$work/twice.ratings"
check recommend-item-twice 2 "$bin/autorec-recommend" "$work/m.fb" --ratings "$work/twice.ratings"
printf '# nothing\n' > "$work/empty.ratings"
check recommend-no-ratings 2 "$bin/autorec-recommend" "$work/m.fb" --ratings "$work/empty.ratings"
check recommend-missing-ratings-file 2 "$bin/autorec-recommend" "$work/m.fb" --ratings "$work/none.ratings"
check recommend-bad-items-file 2 "$bin/autorec-recommend" "$work/m.fb" --user 1 --items "$work/new.ratings"
check recommend-user-and-ratings 2 "$bin/autorec-recommend" "$work/m.fb" --user 1 --ratings "$work/new.ratings"
check recommend-neither 2 "$bin/autorec-recommend" "$work/m.fb"
check recommend-not-a-model 2 "$bin/autorec-recommend" "$work/test.data" --user 1
check verify-max-rmse-fails 1 "$bin/autorec-verify" "$work/m.fb" "$work/test.data" --max-rmse 0.01
check verify-max-rmse-passes 0 "$bin/autorec-verify" "$work/m.fb" "$work/test.data" --max-rmse 5
check verify-missing-model 2 "$bin/autorec-verify" "$work/none.fb" "$work/test.data"
head -c 100 "$work/m.fb" > "$work/trunc.fb"
check verify-truncated-model 2 "$bin/autorec-verify" "$work/trunc.fb" "$work/test.data"
check verify-not-a-model 2 "$bin/autorec-verify" "$work/test.data" "$work/test.data"
printf '1\t2\t3\n1\t3\tfour\n' > "$work/bad.data"
check verify-bad-test-data 2 "$bin/autorec-verify" "$work/m.fb" "$work/bad.data"
grep -q "bad.data:2:" "$work/err" || { echo "FAIL message lacks file:line"; fails=$((fails + 1)); }
check train-bad-data 2 "$bin/autorec-train" "$work/bad.data" -o "$work/never.fb"
[ ! -e "$work/never.fb" ] || { echo "FAIL a model was written from bad data"; fails=$((fails + 1)); }
# Malformed inputs (the table in docs/DATA.md): bad data exits 2 naming FILE:LINE: and the value; odd but
# valid data is accepted, and whatever was resolved or skipped is reported.
says() {  # says NAME FILE TEXT: FILE (the last command's out or err) contains TEXT
  if grep -qF -- "$3" "$work/$2"; then
    echo "ok   $1 says: $3"; passes=$((passes + 1))
  else
    echo "FAIL $1: $2 lacks: $3"; cat "$work/out" "$work/err"; fails=$((fails + 1))
  fi
}
# AUTOREC_CPU: a level that is not one is said on stderr and the tool goes on at the best level; a level
# this CPU has is followed without a word.
AUTOREC_CPU=avx9000 check cpu-level-unknown 0 "$bin/autorec-inspect" "$work/m.fb"
says cpu-level-unknown err "autorec-inspect: notice: AUTOREC_CPU='avx9000' is not a level (baseline, avx2, avx512); using "
AUTOREC_CPU=baseline check cpu-level-baseline 0 "$bin/autorec-verify" "$work/m.fb" "$work/test.data"
if grep -q notice "$work/err"; then echo "FAIL AUTOREC_CPU=baseline gave a notice"; fails=$((fails + 1)); else echo "ok   AUTOREC_CPU=baseline is followed silently"; passes=$((passes + 1)); fi
: > "$work/empty.data"
check train-empty-file 2 "$bin/autorec-train" "$work/empty.data" -o "$work/never.fb"
says train-empty-file err "empty.data: no ratings found (0 lines)"
check verify-empty-file 2 "$bin/autorec-verify" "$work/m.fb" "$work/empty.data"
printf 'userId,movieId,rating,timestamp\n' > "$work/header.csv"
check train-header-only 2 "$bin/autorec-train" "$work/header.csv" -o "$work/never.fb"
says train-header-only err "header.csv: no ratings found (1 line, a header only)"
printf '\xef\xbb\xbfuser,item,rating\r\n1,1,4\r\n1,2,3\r\n2,1,5\r\n' > "$work/bom.csv"
check train-bom-header-crlf 0 "$bin/autorec-train" "$work/bom.csv" -o "$work/bom.fb" --hidden 4 --epochs 1
says train-bom-header-crlf out "3 ratings, 2 users, 2 items"
printf '1\t1\t4\n1\t2\t7\n' > "$work/scale.data"
check train-outside-scale 2 "$bin/autorec-train" "$work/scale.data" -o "$work/never.fb" --rating-min 1 --rating-max 5
says train-outside-scale err "scale.data:2: field rating: '7' is outside the rating scale [1, 5]"
check train-inverted-scale 2 "$bin/autorec-train" "$work/train.data" -o "$work/never.fb" --rating-min 5 --rating-max 1
says train-inverted-scale err "rating scale [5, 1]: the minimum must be finite and not above the maximum"
printf '1 1 4\n1 2 inf\n' > "$work/inf.data"
check train-inf 2 "$bin/autorec-train" "$work/inf.data" -o "$work/never.fb"
says train-inf err "inf.data:2: field rating: 'inf' is not finite"
printf '1 1 4\n1 2\n' > "$work/short.data"
check train-missing-field 2 "$bin/autorec-train" "$work/short.data" -o "$work/never.fb"
says train-missing-field err "short.data:2: expected user, item and rating fields, found 2"
gzip -c "$work/train.data" > "$work/train.data.gz"
check train-gzip 2 "$bin/autorec-train" "$work/train.data.gz" -o "$work/never.fb"
says train-gzip err "train.data.gz: is gzip-compressed"
zstd -q -c "$work/test.data" > "$work/test.data.zst"
check verify-zst 0 "$bin/autorec-verify" "$work/m.fb" "$work/test.data.zst"
head -c $(($(wc -c < "$work/test.data.zst") / 2)) "$work/test.data.zst" > "$work/trunc.data.zst"
check verify-truncated-zst 2 "$bin/autorec-verify" "$work/m.fb" "$work/trunc.data.zst"
says verify-truncated-zst err "trunc.data.zst: zstd stream is truncated"
check train-directory 2 "$bin/autorec-train" "$work" -o "$work/never.fb"
says train-directory err "is a directory"
[ ! -e "$work/never.fb" ] || { echo "FAIL a model was written from bad data"; fails=$((fails + 1)); }
# Duplicates: kept by --duplicates (last by default) and counted; --duplicates error names both lines.
{ cat "$work/train.data"; head -n 5 "$work/train.data"; } > "$work/dups.data"
check train-duplicates 0 "$bin/autorec-train" "$work/dups.data" -o "$work/dups.fb" --hidden 4 --epochs 1
says train-duplicates err "5 duplicate (user, item) pairs, resolved by --duplicates last"
check train-duplicates-error 2 "$bin/autorec-train" "$work/dups.data" -o "$work/never.fb" --duplicates error
says train-duplicates-error err "dups.data:4001: duplicate rating of user"
# A bad line stops training unless --skip-bad-lines, which says how many it skipped.
{ head -n 100 "$work/train.data"; printf '1\t2\tfour\n'; } > "$work/one-bad.data"
check train-bad-line 2 "$bin/autorec-train" "$work/one-bad.data" -o "$work/never.fb"
says train-bad-line err "one-bad.data:101: field rating: 'four' is not a number"
check train-skip-bad-lines 0 "$bin/autorec-train" "$work/one-bad.data" -o "$work/skip.fb" --hidden 4 --epochs 1 --skip-bad-lines
says train-skip-bad-lines err "skipped 1 malformed lines of"
# One user, or one item: nothing in the format forbids it, so it trains and serves what it saw.
awk '$1 == 1' "$work/train.data" > "$work/one-user.data"
awk '$2 == 1' "$work/train.data" > "$work/one-item.data"
for one in one-user one-item; do
  check "train-$one" 0 "$bin/autorec-train" "$work/$one.data" -o "$work/$one.fb" --hidden 4 --epochs 2
  check "verify-$one" 0 "$bin/autorec-verify" "$work/$one.fb" "$work/$one.data" --json
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["count"] == int(sys.argv[2]) and j["cold_start"] == 0 else 1)' \
    "$work/out" "$(wc -l < "$work/$one.data")" && { echo "ok   $one data set scored in full"; passes=$((passes + 1)); } \
    || { echo "FAIL $one data set"; cat "$work/out"; fails=$((fails + 1)); }
done
# Negative and 20-digit ids (beyond int64: kept as text) survive the model file: every rating is found again.
awk 'NR <= 1000 {print "-" $1 "\t12345678901234567" $2 "\t" $3}' "$work/train.data" > "$work/ids.data"
check train-odd-ids 0 "$bin/autorec-train" "$work/ids.data" -o "$work/ids.fb" --hidden 4 --epochs 1
check verify-odd-ids 0 "$bin/autorec-verify" "$work/ids.fb" "$work/ids.data" --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["count"] == 1000 and j["cold_start"] == 0 else 1)' "$work/out" \
  && { echo "ok   negative and 20-digit ids found in the model"; passes=$((passes + 1)); } || { echo "FAIL odd ids"; cat "$work/out"; fails=$((fails + 1)); }
# A test file of cold starts only: every rating scored by the fallback rule and counted, a finite RMSE, a warning.
awk '{print $1 + 100000 "\t" $2 + 100000 "\t" $3}' "$work/test.data" > "$work/cold.data"
check verify-cold-only 0 "$bin/autorec-verify" "$work/m.fb" "$work/cold.data" --json
says verify-cold-only err "test ratings of $work/cold.data are cold starts"
python3 -c 'import json,math,sys; j=json.load(open(sys.argv[1])); n=int(sys.argv[2]); sys.exit(0 if j["count"] == n == j["cold_start"] and j["model_scored"] == 0 and math.isfinite(j["rmse"]) else 1)' \
  "$work/out" "$(wc -l < "$work/cold.data")" && { echo "ok   cold-only test file: all counted as cold starts, finite RMSE"; passes=$((passes + 1)); } \
  || { echo "FAIL cold-only test file"; cat "$work/out"; fails=$((fails + 1)); }
check train-cold-only-test 0 "$bin/autorec-train" "$work/one-user.data" -o "$work/cold.fb" --hidden 4 --epochs 1 --test "$work/cold.data"
says train-cold-only-test out "cold-start $(wc -l < "$work/cold.data")"
check convert-int8 0 "$bin/autorec-convert" "$work/m.fb" "$work/m8.fb" --dtype int8
check verify-int8 0 "$bin/autorec-verify" "$work/m8.fb" "$work/test.data" --max-rmse 5
check convert-bad-dtype 2 "$bin/autorec-convert" "$work/m.fb" "$work/m9.fb" --dtype int4
check convert-not-a-model 2 "$bin/autorec-convert" "$work/test.data" "$work/m9.fb" --dtype fp16
[ ! -e "$work/m9.fb" ] || { echo "FAIL convert wrote a file from bad input"; fails=$((fails + 1)); }
check train-fp16 0 "$bin/autorec-train" "$work/train.data" -o "$work/m16.fb" --hidden 16 --epochs 2 --dtype fp16
check tune 0 "$bin/autorec-tune" "$work/train.data" --grid hidden=8,16 dropout=0 --epochs 4 --patience 2 --out "$work/tune"
if [ "$(wc -l < "$work/tune/results.csv")" -eq 3 ] && grep -q "<polyline" "$work/tune/curves.svg" && grep -q "best: validation RMSE" "$work/out"; then
  echo "ok   tune wrote results.csv (2 configurations), curves.svg and the best configuration"; passes=$((passes + 1))
else
  echo "FAIL tune outputs"; cat "$work/tune/results.csv" "$work/out"; fails=$((fails + 1))
fi
check tune-bad-grid 2 "$bin/autorec-tune" "$work/train.data" --grid hidden
# Recipes: the default is AdamW with a cosine schedule, textbook the published Adam recipe; flags override.
check train-default-recipe 0 "$bin/autorec-train" "$work/train.data" -o "$work/rd.fb" --hidden 8 --epochs 3
check train-nan-input-norm 2 "$bin/autorec-train" "$work/train.data" -o "$work/nan.fb" --hidden 8 --epochs 1 --input-norm nan
check train-nan-input-offset 2 "$bin/autorec-train" "$work/train.data" -o "$work/nan.fb" --hidden 8 --epochs 1 --input-offset nan
check inspect-default-recipe 0 "$bin/autorec-inspect" "$work/rd.fb" --json
cp "$work/out" "$work/rd.json"
check train-textbook-recipe 0 "$bin/autorec-train" "$work/train.data" -o "$work/rt.fb" --hidden 8 --epochs 3 --recipe textbook --lr 0.001
check inspect-textbook-recipe 0 "$bin/autorec-inspect" "$work/rt.fb" --json
if python3 - "$work/rd.json" "$work/out" <<'PY'; then passes=$((passes + 1)); else fails=$((fails + 1)); fi
import json, sys
dm, tm = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
d, t = dm["hyperparameters"], tm["hyperparameters"]
ok = (d["recipe"] == "default" and d["optimizer"] == "adamw" and d["lr_schedule"] == "cosine" and d["epochs"] == 3
      and d["weight_decay"] == 0 and not d["decay_biases"] and d["input_offset"] == 0 and d["input_norm"] == 0.5
      and dm["input"]["offset"] == 0 and dm["input"]["norm_power"] == 0.5 and dm["input"]["norm_count"] > 1
      and dm["schema_version"] == 3
      and t["recipe"] == "textbook" and t["optimizer"] == "adam" and t["lr_schedule"] == "constant"
      and abs(t["weight_decay"] - 1e-5) < 1e-12 and t["decay_biases"] and t["learning_rate"] == 0.001
      and t["input_offset"] == 0 and t["input_norm"] == 0 and tm["input"]["offset"] == 0
      and tm["input"]["norm_power"] == 0 and tm["schema_version"] == 2)
print("recipes recorded:", d, t, sep="\n") if not ok else print("ok   recipes recorded in the model")
sys.exit(0 if ok else 1)
PY
check train-refit 0 "$bin/autorec-train" "$work/train.data" -o "$work/rf.fb" --hidden 8 --epochs 6 --val-ratio 0.2 --refit \
  --metrics "$work/rf.jsonl"
if python3 - "$work/rf.jsonl" <<'PY'; then passes=$((passes + 1)); else fails=$((fails + 1)); fi
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
summary = rows[-1]
ok = summary["val"] == 0 and summary["fit"] == 4000 and summary["epochs_run"] <= 6
print("ok   refit trains on all 4000 training ratings" if ok else f"FAIL refit summary {summary}")
sys.exit(0 if ok else 1)
PY
check train-refit-needs-validation 2 "$bin/autorec-train" "$work/train.data" -o "$work/rf2.fb" --refit
check train-refit-needs-some-validation 2 "$bin/autorec-train" "$work/train.data" -o "$work/rf2.fb" --refit --val-ratio 0
# Deeper networks: --layers SIZE[:ACTIVATION[:DROPOUT]],... writes every layer into the model.
check train-layers 0 "$bin/autorec-train" "$work/train.data" -o "$work/deep.fb" --layers 12,6:elu:0.1,12:selu --epochs 2
check inspect-layers 0 "$bin/autorec-inspect" "$work/deep.fb" --json
if python3 - "$work/out" <<'PY'; then passes=$((passes + 1)); else fails=$((fails + 1)); fi
import json, sys
layers = json.load(open(sys.argv[1]))["layers"]
want = [(12, "sigmoid"), (6, "elu"), (12, "selu"), (None, "identity")]
ok = len(layers) == 4 and all((w is None or l["out"] == w) and l["activation"] == a for l, (w, a) in zip(layers, want))
ok = ok and abs(layers[1]["dropout"] - 0.1) < 1e-6 and layers[3]["in"] == 12
print("ok   --layers recorded in the model" if ok else f"FAIL --layers: {layers}")
sys.exit(0 if ok else 1)
PY
check verify-layers 0 "$bin/autorec-verify" "$work/deep.fb" "$work/test.data" --max-rmse 5
check train-bad-layers 2 "$bin/autorec-train" "$work/train.data" -o "$work/never.fb" --layers 12,6:swish
check train-layers-and-hidden 2 "$bin/autorec-train" "$work/train.data" -o "$work/never.fb" --layers 12 --hidden 8
check train-layers-rprop 2 "$bin/autorec-train" "$work/train.data" -o "$work/never.fb" --layers 12,6 --optimizer rprop
check train-bad-recipe 2 "$bin/autorec-train" "$work/train.data" --recipe best
check train-bad-flag 2 "$bin/autorec-train" "$work/train.data" --hidden 0

# Other scales and sparse data: a 1-100 set of 2 ratings per item makes the default recipe validate itself
# and keep a baseline; the file computes in units with 1 and 100 at 1 and 5; verify --baseline reports both
# baselines. (How the model compares with them is bench/sparse_table.py's business, on larger sets.)
check synth-bad-scale 2 "$bin/autorec-synth" --rating-min 5 --rating-max 1 -o "$work/never.data"
check synth-half-stars 0 "$bin/autorec-synth" --users 100 --items 80 --rating-min 0.5 --rating-max 5 --rating-step 0.5 \
  --shape movielens -o "$work/half.data"
cut -f3 "$work/half.data" | sort -u | tr '\n' ' ' | grep -qx '0.5 1 1.5 2 2.5 3 3.5 4 4.5 5 ' \
  && { echo "ok   synth half stars use the 0.5 grid"; passes=$((passes + 1)); } || { echo "FAIL synth half-star values"; fails=$((fails + 1)); }
check synth-sparse 0 "$bin/autorec-synth" --users 500 --items 500 --ratings 1200 --min-user-ratings 0 --rating-min 1 \
  --rating-max 100 --shape movielens --split-dir "$work/sparse"
check train-sparse 0 "$bin/autorec-train" "$work/sparse/train.data" -o "$work/sparse.fb" --hidden 16 --epochs 5
grep -q "^sparse data" "$work/out" && grep -q "^baseline: the bias model's share" "$work/out" \
  && { echo "ok   train-sparse validates itself and chooses the baseline's share"; passes=$((passes + 1)); } \
  || { echo "FAIL train-sparse output"; cat "$work/out"; fails=$((fails + 1)); }
check train-refit-without-validation 2 "$bin/autorec-train" "$work/train.data" -o "$work/never.fb" --recipe textbook --refit
check train-sparse-refit 0 "$bin/autorec-train" "$work/sparse/train.data" -o "$work/sparse-refit.fb" --hidden 16 --epochs 5 --refit
check inspect-sparse 0 "$bin/autorec-inspect" "$work/sparse.fb" --json
cp "$work/out" "$work/sparse-inspect.json"
check verify-baseline 0 "$bin/autorec-verify" "$work/sparse.fb" "$work/sparse/test.data" --baseline --json
python3 - "$work/sparse-inspect.json" "$work/out" <<'PY' && passes=$((passes + 1)) || fails=$((fails + 1))
import json, sys
info, verify = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ok = (info["schema_version"] == 4 and info["units"]["unit"] == 99 / 4 and info["units"]["origin"] == 1 - 99 / 4
      and 0 <= info["baseline"]["weight"] <= 1 and verify["baseline"]["global_mean"]["rmse"] > 0
      and verify["baseline"]["bias"]["rmse"] > 0 and verify["baseline"]["bias"]["user_reg"] in (1, 2, 5, 10, 20, 50, 100))
print(("ok  " if ok else "FAIL"), "sparse 1-100 model: units", info["units"], "baseline", info["baseline"], "RMSE",
      verify["rmse"], "bias model", verify["baseline"]["bias"]["rmse"], "global mean", verify["baseline"]["global_mean"]["rmse"])
sys.exit(0 if ok else 1)
PY

# autorec-verify must reproduce the trainer's own test RMSE to 1e-6.
if python3 - "$work/metrics.jsonl" "$work/verify.json" <<'PY'; then passes=$((passes + 1)); else fails=$((fails + 1)); fi
import json, sys
summary = [json.loads(l) for l in open(sys.argv[1]) if '"summary"' in l][-1]
verify = json.load(open(sys.argv[2]))
d = abs(summary["test_rmse"] - verify["rmse"])
print(f"train test_rmse {summary['test_rmse']:.9f} verify rmse {verify['rmse']:.9f} diff {d:.2e}")
sys.exit(0 if d <= 1e-6 and summary["test_count"] == verify["count"] else 1)
PY
# Ids that are not UTF-8 (Latin-1 or binary) are printed with their bad bytes as \xHH, never a crash.
python3 - "$work/latin1.data" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    for u in range(1, 31):
        for i in range(1, 21):
            if (u * 7 + i * 3) % 4:
                f.write(b"u%d\xff\t%s\t%d\n" % (u, ("caf\xe9-%d" % i).encode("latin-1"), 1 + (u + i) % 5))
PY
check train-latin1 0 "$bin/autorec-train" "$work/latin1.data" -o "$work/latin1.fb" --hidden 8 --epochs 2 -q
check inspect-latin1 0 "$bin/autorec-inspect" "$work/latin1.fb" --json
grep -qF 'u10\\xFF' "$work/out" && grep -qF 'caf\\xE9-1' "$work/out" \
  && { echo "ok   inspect --json escapes bytes that are not UTF-8"; passes=$((passes + 1)); } || { echo "FAIL inspect escapes"; cat "$work/out"; fails=$((fails + 1)); }
check inspect-latin1-text 0 "$bin/autorec-inspect" "$work/latin1.fb"
check recommend-latin1 0 "$bin/autorec-recommend" "$work/latin1.fb" --user "$(printf 'u1\xff')" -k 3 --json
grep -qF 'caf\\xE9-' "$work/out" \
  && { echo "ok   recommend --json escapes item ids"; passes=$((passes + 1)); } || { echo "FAIL recommend escapes"; cat "$work/out"; fails=$((fails + 1)); }
# Progress (issue 17): in a pipe one line per epoch; on a terminal (script(1) gives the tool one) the epochs
# of a stage rewrite one line, which ends with the stage's total; --quiet prints the summary only.
check progress-pipe 0 "$bin/autorec-train" "$work/train.data" -o "$work/p.fb" --hidden 8 --epochs 4 --threads 1
pipe_epochs=$(grep -c '^epoch ' "$work/out")
check progress-quiet 0 "$bin/autorec-train" "$work/train.data" -o "$work/p.fb" --hidden 8 --epochs 4 --threads 1 --quiet
quiet_lines=$(grep -c . "$work/out"); quiet_epochs=$(grep -c 'epoch ' "$work/out" | head -1)
if command -v script >/dev/null; then
  script -qec "'$bin/autorec-train' '$work/train.data' -o '$work/p.fb' --hidden 8 --epochs 4 --threads 1" /dev/null > "$work/tty" 2>&1
  tty_lines=$(tr -d '\r' < "$work/tty" | grep -c 'train epoch ')  # every rewrite of the one line sits on one text line
  rewrites=$(grep -o $'\r\e\[K' "$work/tty" | wc -l)
else
  tty_lines=1 rewrites=4; echo "skip progress on a terminal: no script(1)"
fi
if [ "$pipe_epochs" -eq 4 ] && [ "$quiet_epochs" -eq 1 ] && [ "$quiet_lines" -le 3 ] && [ "$tty_lines" -eq 1 ] && [ "$rewrites" -eq 4 ]; then
  echo "ok   progress: 4 epoch lines in a pipe, one rewritten line on a terminal, summary only with --quiet"; passes=$((passes + 1))
else
  echo "FAIL progress: pipe $pipe_epochs epoch lines, quiet $quiet_lines lines ($quiet_epochs with 'epoch '), terminal $tty_lines lines, $rewrites rewrites"
  fails=$((fails + 1))
fi
echo "$passes checks passed, $fails failed"
[ "$fails" -eq 0 ]
