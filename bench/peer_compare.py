#!/usr/bin/python3
"""Side-by-side run of autorec-train and the PyTorch peer (shared/peers/torch_autorec.py) on the reference
90/10 splits (shared/bench/make_split.py), same thread count, one after the other in one invocation.

Usage: bench/peer_compare.py [--ml100k DIR] [--ml1m FILE] [--seeds 1 2 3] [--ml1m-seeds 1]
                             [--threads 2] [--peer-epochs 25] [--no-peer] [--json OUT] [--markdown OUT]
                             [--recipe textbook|default] [--train-flags '--variant user']
Paths default to $AUTOREC_ML100K_DIR and $AUTOREC_ML1M_FILE; a data set without a path is skipped (and said
so). Prints one markdown table: seconds per epoch, test RMSE (from autorec-verify), and the speed ratio.
"""
import argparse, json, os, platform, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_shared():
    for base in (os.environ.get("AUTOREC_SHARED", ""), os.path.join(ROOT, "..", "shared")):
        if base and os.path.exists(os.path.join(base, "bench", "make_split.py")):
            return os.path.abspath(base)
    sys.exit("peer_compare: cannot find shared/ (set AUTOREC_SHARED to the folder with bench/ and peers/)")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ours(bindir, split, threads, recipe="textbook", extra=()):
    model = os.path.join(split, "model.fb")
    metrics = os.path.join(split, "metrics.jsonl")
    run([os.path.join(bindir, "autorec-train"), os.path.join(split, "train.data"), "--recipe", recipe, *extra, "--test",
         os.path.join(split, "test.data"), "-o", model, "--threads", str(threads), "--device", "cpu", "-q",
         "--metrics", metrics])
    lines = [json.loads(l) for l in open(metrics)]
    epochs = [l for l in lines if "epoch" in l]
    summary = lines[-1]
    verify = json.loads(run([os.path.join(bindir, "autorec-verify"), model, os.path.join(split, "test.data"),
                             "--json"]).stdout)
    return {"s_per_epoch": sum(e["seconds"] for e in epochs) / len(epochs), "rmse": verify["rmse"],
            "train_rmse_printed": summary.get("test_rmse"), "epochs": len(epochs),
            "model_bytes": os.path.getsize(model)}


def peer(shared, split, threads, epochs):
    out = run(["/usr/bin/python3", os.path.join(shared, "peers", "torch_autorec.py"),
               os.path.join(split, "train.data"), os.path.join(split, "test.data"), "--threads", str(threads),
               "--epochs", str(epochs)]).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    return {"s_per_epoch": summary["s_per_epoch"], "rmse": summary["test_rmse"], "epochs": epochs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ml100k", default=os.environ.get("AUTOREC_ML100K_DIR", ""))
    ap.add_argument("--ml1m", default=os.environ.get("AUTOREC_ML1M_FILE", ""))
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--ml1m-seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peer-epochs", type=int, default=25)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--recipe", default="textbook", help="autorec-train --recipe (the peer runs the textbook recipe)")
    ap.add_argument("--train-flags", default="", help="more autorec-train flags, e.g. '--variant user'")
    ap.add_argument("--bindir", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    a = ap.parse_args()
    shared = find_shared()
    sets = []
    if a.ml100k:
        sets.append(("ML-100K", os.path.join(a.ml100k, "u.data"), a.seeds))
    else:
        print("skipped: ML-100K (no --ml100k / AUTOREC_ML100K_DIR)", file=sys.stderr)
    if a.ml1m:
        sets.append(("ML-1M", a.ml1m, a.ml1m_seeds))
    else:
        print("skipped: ML-1M (no --ml1m / AUTOREC_ML1M_FILE)", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path, seeds in sets:
            for seed in seeds:
                split = os.path.join(tmp, f"{name}-{seed}")
                run(["/usr/bin/python3", os.path.join(shared, "bench", "make_split.py"), path, split, "--seed",
                     str(seed)])
                row = {"data": name, "seed": seed, "ours": ours(a.bindir, split, a.threads, a.recipe, a.train_flags.split())}
                if not a.no_peer:
                    row["peer"] = peer(shared, split, a.threads, a.peer_epochs)
                    row["speedup"] = row["peer"]["s_per_epoch"] / row["ours"]["s_per_epoch"]
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    header = ["data", "seed", "autorec s/epoch", "peer s/epoch", "speed-up", "autorec RMSE", "peer RMSE"]
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        p = r.get("peer")
        md.append(f"| {r['data']} | {r['seed']} | {r['ours']['s_per_epoch']:.4f} | "
                  f"{p['s_per_epoch']:.3f} | {r['speedup']:.0f}x | " if p else
                  f"| {r['data']} | {r['seed']} | {r['ours']['s_per_epoch']:.4f} | - | - | ")
        md[-1] += f"{r['ours']['rmse']:.4f} | " + (f"{p['rmse']:.4f}" + (
            f" ({p['epochs']} epochs)" if p['epochs'] != 25 else "") + " |" if p else "- |")
    for name in sorted({r["data"] for r in rows}):
        rs = [r for r in rows if r["data"] == name]
        mean = sum(r["ours"]["rmse"] for r in rs) / len(rs)
        line = f"| {name} | mean | | | | {mean:.4f} | "
        ps = [r["peer"]["rmse"] for r in rs if "peer" in r]
        line += (f"{sum(ps) / len(ps):.4f} |" if ps else "- |")
        md.append(line)
    machine = f"{cpu_name()}, {os.cpu_count()} cores, threads {a.threads}"
    text = "\n".join(md) + f"\n\nMachine: {machine}. Date: {time.strftime('%Y-%m-%d')}.\n"
    print(text)
    if a.markdown:
        open(a.markdown, "w").write(text)
    if a.json:
        json.dump({"machine": machine, "rows": rows}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
