#!/usr/bin/env python3
"""Top-10 ranking of autorec against popularity and random on MovieLens (issue 19), and how long the ranking
evaluation of every user takes:

    bench/ranking.py --ml100k ../shared/data/ml-100k/u.data --ml1m ../shared/data/ml-1m/ratings_dense.tsv.zst
                     [--seeds 1 2 3] [--bin build/bin] [--threads 2] [--markdown OUT] [--json OUT]

For each data set and seed: the reference 90/10 split (make_split.py --seed S), autorec-train with a
validation part (--val-ratio 0.1 --refit --seed S: the ranking rule is chosen on it, then the model is
refitted on all the training ratings), and autorec-verify --top-k 10 on the test part. Prints the per-seed
rows and the mean over the seeds for autorec's stored rule, its predicted rating alone, popularity and
random, and the seconds the ranking evaluation took (the autorec-verify report's own timing).
"""
import argparse, json, os, statistics, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, find_shared, machine, machine_line, publish, run  # noqa: E402

RANKERS = ("autorec", "autorec_rating", "popularity", "random")
METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "mrr", "coverage")


def one(bindir, shared, ratings, seed, threads, tmp):
    split = os.path.join(tmp, f"split{seed}")
    run([sys.executable, os.path.join(shared, "bench", "make_split.py"), ratings, split, "--seed", str(seed)])
    model = os.path.join(tmp, f"m{seed}.fb")
    log = run([os.path.join(bindir, "autorec-train"), os.path.join(split, "train.data"), "-o", model, "--seed", str(seed),
               "--threads", str(threads), "--val-ratio", "0.1", "--refit", "--device", "cpu"]).stdout
    rule = next((line for line in log.splitlines() if line.startswith("ranking rule:")), "")
    report = json.loads(run([os.path.join(bindir, "autorec-verify"), model, os.path.join(split, "test.data"), "--json",
                             "--top-k", "10", "--threads", str(threads)]).stdout)
    return {"seed": seed, "rmse": report["rmse"], "rule": rule, "ranking": report["ranking"]}


def table(name, rows):
    lines = [f"**{name}** (seeds {', '.join(str(r['seed']) for r in rows)}; mean over the seeds, @10)", "",
             "| ranking | " + " | ".join(METRICS) + " |", "|---|" + "---|" * len(METRICS)]
    for ranker in RANKERS:
        means = [statistics.mean(r["ranking"]["at"]["10"][ranker][m] for r in rows) for m in METRICS]
        lines.append(f"| {ranker} | " + " | ".join(f"{v:.4f}" for v in means) + " |")
    lines += ["", "| seed | test RMSE | NDCG@10 autorec / rating / popularity | Recall@10 autorec / popularity | users | "
              "ranking evaluation |", "|---|---|---|---|---|---|"]
    for r in rows:
        at = r["ranking"]["at"]["10"]
        lines.append(f"| {r['seed']} | {r['rmse']:.4f} | {at['autorec']['ndcg']:.4f} / {at['autorec_rating']['ndcg']:.4f} / "
                     f"{at['popularity']['ndcg']:.4f} | {at['autorec']['recall']:.4f} / {at['popularity']['recall']:.4f} | "
                     f"{r['ranking']['users']} | {r['ranking']['seconds']:.2f} s |")
    lines += [""] + [f"- seed {r['seed']}: {r['rule']}" for r in rows] + [""]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ml100k")
    p.add_argument("--ml1m")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--markdown")
    p.add_argument("--json")
    a = p.parse_args()
    bindir, shared = os.path.abspath(a.bin), find_shared()
    m = machine(bindir, a.threads)
    results, text = {"machine": m}, [f"Machine: {machine_line(m)}", ""]
    for name, ratings in (("ML-100K", a.ml100k), ("ML-1M", a.ml1m)):
        if not ratings:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            rows = [one(bindir, shared, ratings, s, a.threads, tmp) for s in a.seeds]
        results[name] = rows
        text.append(table(name, rows))
    publish("\n".join(text), a.markdown)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
