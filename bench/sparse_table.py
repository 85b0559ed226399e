#!/usr/bin/python3
"""The sparse-data table of docs/RESULTS.md: the default recipe against the simple baselines on small, sparse
synthetic sets (3,000 users x 3,000 items; 5k, 25k and 130k ratings; 1-5 stars, half stars 0.5-5 and 1-100),
every figure a test RMSE from autorec-verify on the split autorec-synth writes (split seed 1, 10% test).

Usage: bench/sparse_table.py [--bin build/bin] [--seed 1] [--threads 2] [--out DIR] [--json OUT] [--markdown OUT]

For each cell: autorec-synth --shape movielens (MovieLens 100K's shares of stars, mapped onto the scale),
autorec-train with the default recipe and nothing else, autorec-verify --baseline --json (the global mean and
the user + item bias model, both fitted from the ratings the model file stores), autorec-inspect --json (the
bias model's share in the model's answers). Exits 1 when the default recipe is worse than the bias model in
any cell. Where the bias model answers alone (share 1) the two RMSEs agree up to the float rounding of the
biases the model file stores (below a relative 1e-8 measured), so "worse" means by more than a relative 1e-6.
"""
import argparse, json, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = [5000, 25000, 130000]
SCALES = [("1-5", 1, 5, 1), ("0.5-5", 0.5, 5, 0.5), ("1-100", 1, 100, 1)]


def run(cmd):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True).stdout


def cell(bindir, work, ratings, scale, seed, threads):
    name, lo, hi, step = scale
    d = os.path.join(work, f"n{ratings}_{name}_s{seed}")
    tool = lambda t: os.path.join(bindir, t)  # noqa: E731
    run([tool("autorec-synth"), "--users", 3000, "--items", 3000, "--ratings", ratings, "--min-user-ratings", 0,
         "--shape", "movielens", "--rating-min", lo, "--rating-max", hi, "--rating-step", step, "--seed", seed,
         "--split-dir", d])
    model = os.path.join(d, "model.fb")
    run([tool("autorec-train"), os.path.join(d, "train.data"), "-o", model, "--threads", threads, "--seed", seed, "-q"])
    v = json.loads(run([tool("autorec-verify"), model, os.path.join(d, "test.data"), "--baseline", "--json"]))
    info = json.loads(run([tool("autorec-inspect"), model, "--json"]))
    train_lines = sum(1 for _ in open(os.path.join(d, "train.data")))
    return {"ratings": ratings, "scale": name, "seed": seed, "train_ratings": train_lines, "test_ratings": v["count"],
            "cold_start": v["cold_start"], "default_rmse": v["rmse"], "bias_rmse": v["baseline"]["bias"]["rmse"],
            "global_mean_rmse": v["baseline"]["global_mean"]["rmse"],
            "bias_share": (info.get("baseline") or {}).get("weight")}  # None: no baseline, the network alone


def share(r):
    return "none (network alone)" if r["bias_share"] is None else f"{r['bias_share']:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None, help="folder for the data sets and models (default: a temporary one)")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    a = ap.parse_args()
    work = a.out or tempfile.mkdtemp(prefix="autorec-sparse-")
    rows = []
    for ratings in SIZES:
        for scale in SCALES:
            rows.append(cell(a.bin, work, ratings, scale, a.seed, a.threads))
            r = rows[-1]
            print(f"{ratings} ratings, {scale[0]}: default {r['default_rmse']:.4f}, bias model {r['bias_rmse']:.4f}, "
                  f"global mean {r['global_mean_rmse']:.4f} (bias share {share(r)})", file=sys.stderr)
    lines = ["| ratings (train / test) | scale | default recipe | user + item biases | global mean | default / biases | "
             "bias model's share |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['ratings']:,} ({r['train_ratings']:,} / {r['test_ratings']:,}) | {r['scale']} | "
                     f"{r['default_rmse']:.4f} | {r['bias_rmse']:.4f} | {r['global_mean_rmse']:.4f} | "
                     f"{r['default_rmse'] / r['bias_rmse']:.4f} | {share(r)} |")
    table = "\n".join(lines)
    print(table)
    if a.markdown:
        open(a.markdown, "w").write(table + "\n")
    if a.json:
        json.dump(rows, open(a.json, "w"), indent=1)
    worse = [r for r in rows if r["default_rmse"] > r["bias_rmse"] * (1 + 1e-6)]
    if worse:
        print(f"sparse_table: the default recipe is worse than the bias model in {len(worse)} cells", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
