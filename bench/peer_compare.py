#!/usr/bin/python3
"""Side-by-side run of autorec-train and the PyTorch peers (shared/peers/: torch_autorec.py, the dense textbook
model, and torch_sparse_autorec.py, the same recipe on observed entries) on the reference 90/10 splits
(shared/bench/make_split.py), same thread count, one after the other in one invocation.

Usage: bench/peer_compare.py [--ml100k DIR] [--ml1m FILE] [--seeds 1 2 3] [--ml1m-seeds 1]
                             [--threads 2] [--peer-epochs 25] [--peers torch-dense ...] [--no-peer]
                             [--json OUT] [--markdown OUT] [--recipe textbook|default] [--train-flags '--variant user']
Paths default to $AUTOREC_ML100K_DIR and $AUTOREC_ML1M_FILE; a data set without a path is skipped (and said
so). Prints the machine (`autorec-bench --hardware`) and one markdown table: seconds per epoch, test RMSE (from
autorec-verify), and the speed ratio next to the GEMM rate the peer measured. A peer whose GEMM ran below 20
GFLOP/s (a misconfigured BLAS: run scripts/bench-setup) gets no ratio, and the script exits 1 after writing.
"""
import argparse, json, os, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import PEERS, ROOT, find_shared, machine, machine_line, peer, publish, ratio, ratio_text, refused, run  # noqa: E402


def ours(bindir, split, threads, recipe="textbook", extra=()):
    model = os.path.join(split, "model.fb")
    metrics = os.path.join(split, "metrics.jsonl")
    t = time.perf_counter()
    run([os.path.join(bindir, "autorec-train"), os.path.join(split, "train.data"), "--recipe", recipe, *extra, "--test",
         os.path.join(split, "test.data"), "-o", model, "--threads", str(threads), "--device", "cpu", "-q",
         "--metrics", metrics])
    wall = time.perf_counter() - t  # the whole autorec-train run: reading, training, writing the model
    lines = [json.loads(l) for l in open(metrics)]
    epochs = [l for l in lines if "epoch" in l]
    summary = lines[-1]
    verify = json.loads(run([os.path.join(bindir, "autorec-verify"), model, os.path.join(split, "test.data"),
                             "--json"]).stdout)
    return {"s_per_epoch": sum(e["seconds"] for e in epochs) / len(epochs), "rmse": verify["rmse"],
            "train_rmse_printed": summary.get("test_rmse"), "epochs": len(epochs),
            "train_wall_s": wall, "model_bytes": os.path.getsize(model)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ml100k", default=os.environ.get("AUTOREC_ML100K_DIR", ""))
    ap.add_argument("--ml1m", default=os.environ.get("AUTOREC_ML1M_FILE", ""))
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--ml1m-seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peer-epochs", type=int, default=25)
    ap.add_argument("--peers", nargs="+", choices=list(PEERS), default=list(PEERS),
                    help="the peers to run (default: all: dense, sparse with each decoder)")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--recipe", default="textbook", help="autorec-train --recipe (the peers run the textbook recipe)")
    ap.add_argument("--train-flags", default="", help="more autorec-train flags, e.g. '--variant user'")
    ap.add_argument("--bindir", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    a = ap.parse_args()
    shared = find_shared()
    peers = [] if a.no_peer else a.peers
    m = machine(a.bindir, a.threads)
    print(f"machine: {machine_line(m)}", file=sys.stderr, flush=True)
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
                row = {"data": name, "seed": seed, "ours": ours(a.bindir, split, a.threads, a.recipe, a.train_flags.split()),
                       "peers": []}
                for pname in peers:
                    p = peer(shared, pname, split, a.threads, a.peer_epochs)
                    p["speedup"] = ratio(p["s_per_epoch"], row["ours"]["s_per_epoch"], p)
                    row["peers"].append(p)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    header = ["data", "seed", "peer", "autorec s/epoch", "peer s/epoch", "speed-up (peer's GEMM rate)",
              "autorec RMSE", "peer RMSE"]
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        o = r["ours"]
        for p in r["peers"] or [None]:
            md.append(f"| {r['data']} | {r['seed']} | " + (
                f"{p['peer']} | {o['s_per_epoch']:.4f} | {p['s_per_epoch']:.3f} | {ratio_text(p['speedup'])} | "
                f"{o['rmse']:.4f} | {p['rmse']:.4f}" + (f" ({p['epochs']} epochs)" if p['epochs'] != 25 else "") + " |"
                if p else f"- | {o['s_per_epoch']:.4f} | - | - | {o['rmse']:.4f} | - |"))
    for name in sorted({r["data"] for r in rows}):
        rs = [r for r in rows if r["data"] == name]
        mean = sum(r["ours"]["rmse"] for r in rs) / len(rs)
        for pname in peers or [None]:
            ps = [p["rmse"] for r in rs for p in r["peers"] if p["peer"] == pname]
            md.append(f"| {name} | mean | {pname or '-'} | | | | {mean:.4f} | "
                      + (f"{sum(ps) / len(ps):.4f} |" if ps else "- |"))
    blas = sorted({p["blas"] for r in rows for p in r["peers"]})
    text = ("\n".join(md) + f"\n\nMachine: {machine_line(m)}.\n"
            + (f"Peer BLAS: {'; '.join(blas)}.\n" if blas else ""))
    publish(text, a.markdown)
    if a.json:
        json.dump({"machine": m, "rows": rows}, open(a.json, "w"), indent=1)
    if refused([p["speedup"] for r in rows for p in r["peers"]]):
        sys.exit(1)


if __name__ == "__main__":
    main()
