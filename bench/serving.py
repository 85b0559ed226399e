#!/usr/bin/python3
"""Serving figures of issue 6, at one thread: autorec's model file next to the PyTorch peers' models of the
same shape, in the same run.

Usage: bench/serving.py MODEL.fb [--repeat 7] [--runs 1] [--json OUT] [--markdown OUT]

MODEL.fb is an item-based model (the issue's is ML-1M, hidden 500). autorec's side is `autorec-bench
--threads 1`. The peers' side is the network of shared/peers/torch_autorec.py (Linear, Sigmoid, Linear) with
the model's dimensions, saved with torch.save, at torch.set_num_threads(1), with blas_setup imported before
torch as the peers do:
  load            torch.load of the state dict and load_state_dict into the module;
  one column      the forward pass of one column with 200 ratings;
  predict         the same forward pass (the peers keep no codes, so one rating costs one column);
  top-10          the forward pass of every item column (the peers have no cached item codes), then topk of
                  the user's row.
"dense" feeds the dense column(s), as torch_autorec.py does; "sparse" feeds the ratings as a sparse tensor to
the encoder, as torch_sparse_autorec.py does (top-10: as many random ratings as the model stores), then the
dense decoder. Each figure is the best of --repeat timed runs; with --runs N both sides are measured N times in
turn and the table shows the median (autorec: and the range, and how many runs met the bound). Every ratio
carries the GEMM rate the peers' PyTorch measured at one thread; below 20 GFLOP/s (a misconfigured BLAS: run
scripts/bench-setup) none is printed and the script exits 1 after writing its outputs.
"""
import argparse, json, os, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (MIN_PEER_GFLOPS, ROOT, find_shared, machine, machine_line, publish, ratio,  # noqa: E402
                    ratio_text, refused, run)

PEER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import blas_setup  # before torch: it picks OpenBLAS's kernel
import torch
rows, hidden, cols, nnz, repeat = map(int, sys.argv[2:7])
path, min_gflops = sys.argv[7], float(sys.argv[8])
torch.set_num_threads(1)
out = {"gemm_gflops": round(blas_setup.gemm_gflops(torch), 1), "blas": blas_setup.describe()}
if out["gemm_gflops"] < min_gflops:  # no figure would be printed, and top-10 alone would take minutes
    print(json.dumps(out)); sys.exit(0)
def net():
    return torch.nn.Sequential(torch.nn.Linear(rows, hidden), torch.nn.Sigmoid(), torch.nn.Linear(hidden, rows))
torch.save(net().state_dict(), path)
def best(fn):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return min(ts)
m = net()
enc, dec = m[0], m[2]
def sparse_forward(x):
    return torch.addmm(dec.bias, torch.sigmoid(torch.sparse.mm(x, enc.weight.t()) + enc.bias), dec.weight.t())
out["load_s"] = best(lambda: m.load_state_dict(torch.load(path)))
col = torch.zeros(1, rows); col[0, :200] = 4.0
allc = torch.zeros(cols, rows)
g = torch.Generator().manual_seed(0)
col_sp = col.to_sparse()
idx = torch.stack([torch.randint(cols, (nnz,), generator=g), torch.randint(rows, (nnz,), generator=g)])
all_sp = torch.sparse_coo_tensor(idx, torch.full((nnz,), 4.0), (cols, rows)).coalesce()
with torch.no_grad():
    out["dense"] = {"column_s": best(lambda: m(col)), "top10_s": best(lambda: torch.topk(m(allc)[:, 17], 10))}
    out["sparse"] = {"column_s": best(lambda: sparse_forward(col_sp)),
                     "top10_s": best(lambda: torch.topk(sparse_forward(all_sp)[:, 17], 10))}
for k in ("dense", "sparse"):
    out[k].update(predict_s=out[k]["column_s"], load_s=out["load_s"])
print(json.dumps(out))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--runs", type=int, default=1, help="measure both sides this many times; report medians")
    ap.add_argument("--json", default="")
    ap.add_argument("--markdown", default="")
    ap.add_argument("--bindir", default=os.path.join(ROOT, "build", "bin"))
    a = ap.parse_args()
    if not os.path.isfile(a.model):
        sys.exit(f"serving.py: {a.model}: no such model file")
    shared = find_shared()
    m = machine(a.bindir, 1)
    info = json.loads(run([os.path.join(a.bindir, "autorec-inspect"), a.model, "--json"]).stdout)
    layers = info["layers"]
    rows, hidden = layers[0]["in"], layers[0]["out"]
    cols = info["items"] if info["variant"] == "item" else info["users"]
    mines, peers = [], []
    for _ in range(a.runs):
        ours = json.loads(run([os.path.join(a.bindir, "autorec-bench"), a.model, "--threads", "1", "--device", "cpu",
                               "--repeat", str(a.repeat), "--json"]).stdout)
        mines.append({"load_s": ours["load_s"], "column_s": ours["reconstruct_column_s"],
                      "predict_s": ours["predict_s"], "top10_s": ours["top10_s"]})
        with tempfile.TemporaryDirectory() as tmp:
            peers.append(json.loads(run(["/usr/bin/python3", "-c", PEER, os.path.join(shared, "peers"), str(rows),
                                         str(hidden), str(cols), str(info["observations"]), str(a.repeat),
                                         os.path.join(tmp, "peer.pt"), str(MIN_PEER_GFLOPS)]).stdout))
        print(f"run {len(mines)}: autorec {json.dumps(mines[-1])} peer {json.dumps(peers[-1])}", file=sys.stderr,
              flush=True)
    med = lambda xs: sorted(xs)[len(xs) // 2]
    mine = {op: med([r[op] for r in mines]) for op in mines[0]}
    # One GEMM rate stands for all runs: the lowest, so that one misconfigured run refuses every ratio.
    peer = {"gemm_gflops": min(r["gemm_gflops"] for r in peers), "blas": peers[0]["blas"]}
    for k in ("dense", "sparse"):
        if all(k in r for r in peers):
            peer[k] = {op: med([r[k][op] for r in peers]) for op in peers[0][k]}
    bounds = {"load_s": 0.1, "column_s": 0.3e-3, "predict_s": 1e-6, "top10_s": 1e-3}
    names = {"load_s": "model load", "column_s": "one full column", "predict_s": "predict (user, item)",
             "top10_s": "top-10 for a user"}
    kinds = ("dense", "sparse")
    p = {"peer": "torch (serving)", "gemm_gflops": peer["gemm_gflops"], "blas": peer["blas"]}
    ratios = {k: {op: ratio(peer[k][op], mine[op], p) if k in peer else ratio(0, 1, p) for op in mine} for k in kinds}
    fmt = lambda s: f"{s * 1e3:.1f} ms" if s >= 1e-3 else f"{s * 1e6:.2f} us"
    lines = [f"Machine: {machine_line(m)}. Model {a.model}: {rows} rows x {cols} columns, hidden {hidden}, "
             f"1 thread; {a.runs} run{'s' if a.runs != 1 else ''}" + (", medians" if a.runs > 1 else "") + ".", "",
             "| operation | autorec | peer, dense input | dense / autorec (peer's GEMM rate) | peer, sparse input | "
             "sparse / autorec (peer's GEMM rate) | bound | met |", "|---|---|---|---|---|---|---|---|"]
    for op in ["predict_s", "top10_s", "column_s", "load_s"]:
        cells = [f"{fmt(peer[k][op]) if k in peer else 'not timed'} | {ratio_text(ratios[k][op])}" for k in kinds]
        xs = [r[op] for r in mines]
        spread = f" ({fmt(min(xs))}–{fmt(max(xs))})" if a.runs > 1 else ""
        met = sum(x <= bounds[op] for x in xs)
        lines.append(f"| {names[op]} | {fmt(mine[op])}{spread} | {' | '.join(cells)} | {fmt(bounds[op])} | "
                     + (f"{met} of {a.runs} |" if a.runs > 1 else f"{'yes' if met else 'no'} |"))
    lines += ["", f"Peer BLAS: {peer['blas']}; GEMM {peer['gemm_gflops']:.1f} GFLOP/s at 1 thread."]
    text = "\n".join(lines) + "\n"
    publish(text, a.markdown)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": m, "model": a.model, "rows": rows, "cols": cols, "hidden": hidden, "autorec": mine,
                       "peer": peer, "ratios": ratios, "bounds": bounds, "runs": {"autorec": mines, "peer": peers}},
                      f, indent=1)
    if refused([r for k in kinds for r in ratios[k].values()]):
        sys.exit(1)


if __name__ == "__main__":
    main()
