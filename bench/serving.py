#!/usr/bin/python3
"""Serving figures of issue 6, at one thread: autorec's model file next to the PyTorch peer's model of the
same shape, in the same run.

Usage: bench/serving.py MODEL.fb [--repeat 7] [--json OUT]

MODEL.fb is an item-based model (the issue's is ML-1M, hidden 500). autorec's side is `autorec-bench
--threads 1`. The peer's side is the network of shared/peers/torch_autorec.py (Linear, Sigmoid, Linear) with
the model's dimensions, saved with torch.save, at torch.set_num_threads(1):
  load            torch.load of the state dict and load_state_dict into the module;
  one column      the forward pass of one dense column;
  predict         the same forward pass (the peer keeps no codes, so one rating costs one column);
  top-10          the forward pass of every item column (the peer has no cached item codes), then topk of
                  the user's row.
Each figure is the best of --repeat timed runs.
"""
import argparse, json, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_compare import ROOT, cpu_name, run  # noqa: E402

PEER = r"""
import sys, time, torch
rows, hidden, cols, repeat, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.set_num_threads(1)
def net():
    return torch.nn.Sequential(torch.nn.Linear(rows, hidden), torch.nn.Sigmoid(), torch.nn.Linear(hidden, rows))
torch.save(net().state_dict(), path)
def best(fn):
    out = []
    for _ in range(repeat):
        t = time.perf_counter(); fn(); out.append(time.perf_counter() - t)
    return min(out)
m = net()
load = best(lambda: m.load_state_dict(torch.load(path)))
col = torch.zeros(1, rows); col[0, :200] = 4.0
allc = torch.zeros(cols, rows)
with torch.no_grad():
    one = best(lambda: m(col))
    top = best(lambda: torch.topk(m(allc)[:, 17], 10))
print(load, one, one, top)
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", default="")
    ap.add_argument("--bindir", default=os.path.join(ROOT, "build", "bin"))
    a = ap.parse_args()
    if not os.path.isfile(a.model):
        sys.exit(f"serving.py: {a.model}: no such model file")
    info = json.loads(run([os.path.join(a.bindir, "autorec-inspect"), a.model, "--json"]).stdout)
    layers = info["layers"]
    rows, hidden = layers[0]["in"], layers[0]["out"]
    cols = info["items"] if info["variant"] == "item" else info["users"]
    ours = json.loads(run([os.path.join(a.bindir, "autorec-bench"), a.model, "--threads", "1", "--device", "cpu",
                           "--repeat", str(a.repeat), "--json"]).stdout)
    with tempfile.TemporaryDirectory() as tmp:
        out = run(["/usr/bin/python3", "-c", PEER, str(rows), str(hidden), str(cols), str(a.repeat),
                   os.path.join(tmp, "peer.pt")]).stdout.split()
    peer = dict(zip(["load_s", "column_s", "predict_s", "top10_s"], map(float, out)))
    mine = {"load_s": ours["load_s"], "column_s": ours["reconstruct_column_s"], "predict_s": ours["predict_s"],
            "top10_s": ours["top10_s"]}
    bounds = {"load_s": 0.1, "column_s": 0.3e-3, "predict_s": 1e-6, "top10_s": 1e-3}
    names = {"load_s": "model load", "column_s": "one full column", "predict_s": "predict (user, item)",
             "top10_s": "top-10 for a user"}
    print(f"machine: {cpu_name()}, 1 thread; model {a.model}: {rows} rows x {cols} columns, hidden {hidden}")
    print("| operation | autorec | PyTorch peer | peer / autorec | bound | met |")
    print("|---|---|---|---|---|---|")
    fmt = lambda s: f"{s * 1e3:.1f} ms" if s >= 1e-3 else f"{s * 1e6:.2f} us"
    for k in ["predict_s", "top10_s", "column_s", "load_s"]:
        print(f"| {names[k]} | {fmt(mine[k])} | {fmt(peer[k])} | {peer[k] / mine[k]:.3g}x | {fmt(bounds[k])} | "
              f"{'yes' if mine[k] <= bounds[k] else 'no'} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"model": a.model, "rows": rows, "cols": cols, "hidden": hidden, "autorec": mine, "peer": peer,
                       "bounds": bounds}, f, indent=1)


if __name__ == "__main__":
    main()
