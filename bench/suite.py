#!/usr/bin/python3
"""The benchmark suite: one invocation measures training, serving and model size on one data set, next to
the PyTorch peers and next to this machine's own limits, all in the same run.

Usage: bench/suite.py [--ml1m FILE] [--seed 1] [--threads 2] [--epochs 25] [--peer-epochs 5]
                      [--peers torch-dense torch-sparse-dense] [--no-peer] [--json OUT] [--markdown OUT]

The data path defaults to $AUTOREC_ML1M_FILE; without one the suite stops and says so. Steps:
  1. the machine: CPU, ISA, cores, and the matrix-multiply rate (Eigen, the library autorec computes with)
     and memory bandwidth (triad), both from `autorec-bench --hardware` at --threads;
  2. the reference split (shared/bench/make_split.py);
  3. autorec-train (hidden 500, textbook recipe): seconds per epoch, ratings/s, and the epoch's floor: the
     bytes it must move (the dense Adam step reads and writes p, m, v for every parameter once per batch) over
     the bandwidth, or its FLOPs (10 x ratings x hidden for the sparse products, plus Adam) over the
     matrix-multiply rate, whichever is larger;
  4. the model in fp32, fp16, bf16 and int8 (autorec-convert): file size, test RMSE (autorec-verify), load,
     reconstruction of every column (FLOP/s against the measured matrix-multiply rate), one column,
     predict and top-10 latency (autorec-bench);
  5. the peers (shared/peers/torch_autorec.py, dense; torch_sparse_autorec.py, observed entries only) on the
     same split and threads: median seconds per epoch over --peer-epochs epochs (bench/peer_compare.py runs
     the full 25 for accuracy), and the reconstruction of every column by the same network in PyTorch, from a
     dense input (the dense peer's forward) and from the sparse ratings (the sparse peer's encoder).
Every ratio carries the GEMM rate the peer's PyTorch measured; below 20 GFLOP/s (a misconfigured BLAS: run
scripts/bench-setup) no ratio is printed and the suite exits 1 after writing its outputs.
"""
import argparse, json, math, os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (MIN_PEER_GFLOPS, PEERS, ROOT, find_shared, machine, machine_line, peer, publish,  # noqa: E402
                    ratio, ratio_text, refused, run)

DTYPES = ["fp32", "fp16", "bf16", "int8"]


def tool(bindir, name, *args):
    return run([os.path.join(bindir, name), *map(str, args)]).stdout


def train(bindir, split, threads, epochs):
    model, metrics = os.path.join(split, "fp32.fb"), os.path.join(split, "metrics.jsonl")
    tool(bindir, "autorec-train", os.path.join(split, "train.data"), "--recipe", "textbook", "--test", os.path.join(split, "test.data"),
         "-o", model, "--threads", threads, "--epochs", epochs, "--device", "cpu", "-q", "--metrics", metrics)
    lines = [json.loads(l) for l in open(metrics)]
    seconds = sorted(l["seconds"] for l in lines if "epoch" in l)
    return model, {"s_per_epoch": seconds[len(seconds) // 2], "s_per_epoch_mean": sum(seconds) / len(seconds),
                   "ratings_per_s": lines[-1]["fit"] / seconds[len(seconds) // 2], "fit": lines[-1]["fit"]}


def epoch_floor(info, fit, batch, hw):
    """Bytes and FLOPs one epoch must move, and the time the machine needs for them."""
    rows, hidden, cols = info["rows"], info["hidden"], info["cols"]
    params = 2 * rows * hidden + hidden + rows
    steps = math.ceil(cols / batch)
    flops = 10 * fit * hidden + 10 * steps * params
    bytes_ = 24 * steps * params + 8 * fit
    t_bytes, t_flops = bytes_ / (hw["triad_gbps"] * 1e9), flops / (hw["gemm_gflops"] * 1e9)
    return {"gflop": flops / 1e9, "gbytes": bytes_ / 1e9, "t_bytes": t_bytes, "t_flops": t_flops,
            "floor_s": max(t_bytes, t_flops)}


# The peers' equivalent of reconstructing every column, best of 3: the dense forward pass over the whole matrix
# (torch_autorec.py's network), and the sparse peer's encoder on the stored ratings followed by the dense
# decoder. blas_setup is imported before torch, as the peers do, so the BLAS is the one they train with.
RECONSTRUCT = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import blas_setup, torch_sparse_autorec as sp
import numpy as np, torch
rows, hidden, cols, threads, train, min_gflops = *map(int, sys.argv[2:6]), sys.argv[6], float(sys.argv[7])
torch.set_num_threads(threads)
out = {"gemm_gflops": round(blas_setup.gemm_gflops(torch), 1), "blas": blas_setup.describe()}
if out["gemm_gflops"] >= min_gflops:  # on a misconfigured BLAS the dense forward alone takes minutes
    def best(fn):
        fn(); ts = []
        for _ in range(3):
            t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
        return min(ts)
    net = torch.nn.Sequential(torch.nn.Linear(rows, hidden), torch.nn.Sigmoid(), torch.nn.Linear(hidden, rows))
    u, i, r = sp.read(train)
    u, i = np.unique(u, return_inverse=True)[1], np.unique(i, return_inverse=True)[1]
    x = torch.sparse_coo_tensor(torch.from_numpy(np.stack([i, u])), torch.from_numpy(r), (cols, rows)).coalesce()
    enc, dec, zeros = net[0], net[2], torch.zeros(cols, rows)
    with torch.no_grad():
        out["dense_s"] = best(lambda: net(zeros))
        code = lambda: torch.sigmoid(torch.sparse.mm(x, enc.weight.t()) + enc.bias)
        out["sparse_s"] = best(lambda: torch.addmm(dec.bias, code(), dec.weight.t()))
print(json.dumps(out))
"""


def torch_reconstruction(shared, rows, cols, hidden, threads, train):
    return json.loads(run(["/usr/bin/python3", "-c", RECONSTRUCT, os.path.join(shared, "peers"), str(rows),
                           str(hidden), str(cols), str(threads), train, str(MIN_PEER_GFLOPS)]).stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ml1m", default=os.environ.get("AUTOREC_ML1M_FILE", ""))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--peer-epochs", type=int, default=5)
    ap.add_argument("--peers", nargs="+", choices=list(PEERS), default=["torch-dense", "torch-sparse-dense"])
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--bindir", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    a = ap.parse_args()
    if not a.ml1m:
        sys.exit("suite: skipped: no data (--ml1m FILE or AUTOREC_ML1M_FILE)")
    shared = find_shared()
    t_start = time.time()
    hw = machine(a.bindir, a.threads)
    out = {"machine": hw, "threads": a.threads, "data": a.ml1m, "seed": a.seed}
    print(f"machine: {machine_line(hw)}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as split:
        run(["/usr/bin/python3", os.path.join(shared, "bench", "make_split.py"), a.ml1m, split, "--seed", str(a.seed)])
        model, tr = train(a.bindir, split, a.threads, a.epochs)
        info = json.loads(tool(a.bindir, "autorec-inspect", model, "--json"))
        cols = info["items"] if info["variant"].startswith("item") else info["users"]
        dims = {"rows": info["layers"][0]["in"], "hidden": info["layers"][0]["out"], "cols": cols}
        tr["floor"] = epoch_floor(dims, tr["fit"], info["hyperparameters"]["batch_size"], hw)
        tr["x_floor"] = tr["s_per_epoch"] / tr["floor"]["floor_s"]
        out["training"] = tr
        print(f"training: {json.dumps(tr)}", file=sys.stderr, flush=True)
        models = {}
        for d in DTYPES:
            path = model if d == "fp32" else os.path.join(split, f"{d}.fb")
            if d != "fp32":
                tool(a.bindir, "autorec-convert", model, path, "--dtype", d)
            v = json.loads(tool(a.bindir, "autorec-verify", path, os.path.join(split, "test.data"), "--json"))
            b = json.loads(tool(a.bindir, "autorec-bench", path, "--device", "cpu", "--threads", a.threads, "--json"))
            models[d] = {"bytes": os.path.getsize(path), "rmse": v["rmse"], **{k: b[k] for k in (
                "load_s", "reconstruct_all_s", "reconstruct_gflops", "reconstruct_column_s", "predict_s", "top10_s")}}
            print(f"{d}: {json.dumps(models[d])}", file=sys.stderr, flush=True)
        out["models"] = models
        peers, rec = [], None
        for name in [] if a.no_peer else a.peers:
            p = peer(shared, name, split, a.threads, a.peer_epochs)
            p["speedup"] = ratio(p["s_per_epoch_median"], tr["s_per_epoch"], p)
            peers.append(p)
            print(f"peer: {json.dumps(p)}", file=sys.stderr, flush=True)
        if peers:
            rec = torch_reconstruction(shared, dims["rows"], dims["cols"], dims["hidden"], a.threads,
                                       os.path.join(split, "train.data"))
            rec["peer"] = "torch (reconstruction)"
            for k in ("dense", "sparse"):
                rec[f"{k}_ratio"] = ratio(rec.get(f"{k}_s", 0), models["fp32"]["reconstruct_all_s"], rec)
            print(f"peer reconstruction: {json.dumps(rec)}", file=sys.stderr, flush=True)
        out["peers"], out["peer_reconstruction"] = peers, rec
    out["suite_s"] = time.time() - t_start

    f32, fl = models["fp32"], tr["floor"]
    lines = [f"Machine: {machine_line(hw)}. Data: {os.path.basename(a.ml1m)}, make_split.py seed {a.seed}, "
             f"hidden 500, textbook recipe. Suite time {out['suite_s']:.0f} s.", "",
             "| figure | autorec | peer | autorec vs peer (peer's GEMM rate) | autorec vs machine limit |",
             "|---|---|---|---|---|"]
    first = peers[0] if peers else None
    lines.append(f"| training, s/epoch (median of {a.epochs}) | {tr['s_per_epoch']:.3f} | "
                 + (f"{first['peer']}: {first['s_per_epoch_median']:.3f} (median of {a.peer_epochs}) | "
                    f"{ratio_text(first['speedup'])} | " if first else "- | - | ")
                 + f"{tr['x_floor']:.2f}x the floor of {fl['floor_s'] * 1e3:.0f} ms ({fl['gbytes']:.2f} GB at the "
                 f"bandwidth: {fl['t_bytes'] * 1e3:.0f} ms; {fl['gflop']:.1f} GFLOP at the matmul rate: "
                 f"{fl['t_flops'] * 1e3:.0f} ms) |")
    for p in peers[1:]:
        lines.append(f"| training, s/epoch | | {p['peer']}: {p['s_per_epoch_median']:.3f} (median of "
                     f"{a.peer_epochs}) | {ratio_text(p['speedup'])} | |")
    lines.append(f"| training, ratings/s | {tr['ratings_per_s'] / 1e6:.2f} M | | | "
                 f"{fl['gbytes'] / tr['s_per_epoch']:.1f} GB/s and {fl['gflop'] / tr['s_per_epoch']:.1f} GFLOP/s of the "
                 f"floor's bytes and FLOPs achieved |")
    ms = lambda k: f"{rec[k] * 1e3:.0f} ms" if k in rec else "not timed"
    lines.append(f"| reconstruct all {dims['cols']} columns | {f32['reconstruct_all_s'] * 1e3:.0f} ms | "
                 + (f"{ms('dense_s')} (dense forward) | {ratio_text(rec['dense_ratio'])} | " if rec else "- | - | ")
                 + f"{f32['reconstruct_gflops']:.1f} GFLOP/s = {100 * f32['reconstruct_gflops'] / hw['gemm_gflops']:.0f}% of the matmul rate |")
    if rec:
        lines.append(f"| reconstruct all {dims['cols']} columns | | {ms('sparse_s')} (sparse encoder, dense decoder) | "
                     f"{ratio_text(rec['sparse_ratio'])} | |")
    lines.append(f"| one column | {f32['reconstruct_column_s'] * 1e6:.0f} us | | | |")
    lines.append(f"| predict | {f32['predict_s'] * 1e6:.2f} us | | | |")
    lines.append(f"| top-10 for a user | {f32['top10_s'] * 1e6:.0f} us | | | |")
    lines.append(f"| model load | {f32['load_s'] * 1e3:.0f} ms | | | |")
    for p in peers:
        lines.append(f"| test RMSE | {f32['rmse']:.4f} ({a.epochs} epochs) | {p['peer']}: {p['rmse']:.4f} "
                     f"({a.peer_epochs} epochs) | | |")
    lines += ["", "| weights | file bytes | vs fp32 | test RMSE | change | load | reconstruct all | one column | predict | top-10 |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for d, m in models.items():
        lines.append(f"| {d} | {m['bytes']:,} | {100 * m['bytes'] / f32['bytes']:.1f}% | {m['rmse']:.6f} | "
                     f"{m['rmse'] - f32['rmse']:+.6f} | {m['load_s'] * 1e3:.0f} ms | {m['reconstruct_all_s'] * 1e3:.0f} ms | "
                     f"{m['reconstruct_column_s'] * 1e6:.0f} us | {m['predict_s'] * 1e6:.2f} us | {m['top10_s'] * 1e6:.0f} us |")
    blas = sorted({p["blas"] for p in peers + ([rec] if rec else [])})
    if blas:
        lines += ["", f"Peer BLAS: {'; '.join(blas)}."]
    text = "\n".join(lines) + "\n"
    publish(text, a.markdown)
    if a.json:
        json.dump(out, open(a.json, "w"), indent=1)
    if refused([p["speedup"] for p in peers] + ([rec["dense_ratio"], rec["sparse_ratio"]] if rec else [])):
        sys.exit(1)


if __name__ == "__main__":
    main()
