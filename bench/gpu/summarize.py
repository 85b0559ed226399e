#!/usr/bin/python3
"""summarize.py WORK MODE: reads what bench/gpu/run's phases left in WORK/metrics, writes WORK/metrics.json
(every figure of the run in one object) and prints the Markdown section that sets each of issue 15's targets
beside its measured figure, the peer and the ceilings measured in the same run."""
import glob, json, os, sys

work, mode = sys.argv[1], sys.argv[2]
m = os.path.join(work, "metrics")


def load(name):
    p = os.path.join(m, name)
    try:
        if name.endswith(".jsonl"):
            return [json.loads(l) for l in open(p) if l.strip().startswith("{")]
        return json.load(open(p))
    except (OSError, ValueError):
        return None


def epochs(rows):
    return [r for r in rows or [] if "epoch" in r and "summary" not in r and "seconds" in r]


metrics = {"mode": mode, "phases": {}}
for line in open(os.path.join(work, "results.txt")):
    name, rc = line.split()
    metrics["phases"][name] = int(rc)
for path in sorted(glob.glob(os.path.join(m, "*.json")) + glob.glob(os.path.join(m, "*.jsonl"))):
    metrics[os.path.basename(path)] = load(os.path.basename(path))
with open(os.path.join(work, "metrics.json"), "w") as f:
    json.dump(metrics, f, indent=1)

gpu = load("gpu_ceilings.json") or {}
fp32 = gpu.get("fp32_tflops")
copy = gpu.get("copy_tbps")
rows = []


def row(target, measured, beside, ok):
    verdict = "not measured" if ok is None else ("met" if ok else "missed")
    if mode == "rehearse":
        verdict = "rehearsal: CPU, small sizes, not a figure"
    rows.append(f"| {target} | {measured} | {beside} | {verdict} |")


tb = epochs(load("ml1m_textbook.jsonl"))
peer = (load("ml1m_peer.jsonl") or [{}])[-1]
cpu = epochs(load("ml1m_cpu.jsonl"))
if tb:
    best = min(e["seconds"] for e in tb)
    mean = sum(e["seconds"] for e in tb) / len(tb)
    flops = 10 * 900_000 * 500  # 5 multiply-adds (10 FLOPs) per stored rating and hidden unit, ML-1M's 90% side
    beside = [f"{flops / best / 1e9:.0f} GFLOP/s" + (f" = {flops / best / 1e12 / fp32 * 100:.1f}% of the fp32 GEMM rate ({fp32} TFLOP/s)" if fp32 else "")]
    if cpu:
        beside.append(f"CPU ({os.cpu_count()} cores) {min(e['seconds'] for e in cpu) * 1e3:.1f} ms")
    row("ML-1M epoch, textbook recipe, <= 5 ms", f"best {best * 1e3:.2f} ms, mean {mean * 1e3:.2f} ms", "; ".join(beside), best <= 0.005)
    if peer.get("s_per_epoch"):
        v = load("ml1m_textbook.verify.json") or {}
        row("ahead of the PyTorch GPU peer", f"{peer['s_per_epoch'] / mean:.1f}x its mean epoch ({peer['s_per_epoch'] * 1e3:.1f} ms); "
            f"test RMSE {v.get('rmse', float('nan')):.4f} vs {peer.get('test_rmse', float('nan')):.4f}",
            f"peer on {peer.get('device')}, GEMM {peer.get('gemm_gflops')} GFLOP/s", peer["s_per_epoch"] > mean)
    else:
        row("ahead of the PyTorch GPU peer", "peer not run", "", None)
else:
    row("ML-1M epoch, textbook recipe, <= 5 ms", "not run", "", None)
rec = load("reconstruct_cuda.json") or load("reconstruct_cpu.json")
if rec:
    row("all ML-1M columns reconstructed <= 10 ms", f"{rec['reconstruct_all_s'] * 1e3:.2f} ms ({rec['backend']}), "
        f"one column {rec['reconstruct_column_s'] * 1e6:.1f} us", f"{rec['reconstruct_gflops']:.0f} GFLOP/s"
        + (f" of {fp32 * 1e3:.0f}" if fp32 else ""), rec["reconstruct_all_s"] <= 0.010 and rec["backend"] == "cuda")
else:
    row("all ML-1M columns reconstructed <= 10 ms", "not run", "", None)
nf_lines = load("netflix_epoch.jsonl") or []
nf = next((j for j in reversed(nf_lines) if "best_epoch_s" in j), None)
nf_epochs = [j for j in nf_lines if "epoch" in j and "best_epoch_s" not in j]
if nf is None and nf_epochs:  # cut short after some epochs: their figures still count
    best = min(nf_epochs, key=lambda e: e["seconds"])
    nf = {"best_epoch_s": best["seconds"], "best_epoch_host_s": best["host_seconds"], "backend": best["backend"],
          "train_ratings": best["train_ratings"], "items": 17770, "users": 480189, "hidden": 500,
          "best_epoch_gflops": 10 * best["train_ratings"] * 500 / best["seconds"] / 1e9}
if nf:
    bytes_adam = -(-nf["items"] // 256) * 2 * nf["users"] * nf["hidden"] * 4 * 4 * 2
    floor = f"; dense Adam sweep alone {bytes_adam / (copy * 1e12) * 1e3:.0f} ms at the measured {copy} TB/s" if copy else ""
    row("Netflix-scale epoch <= 1 s", f"best {nf['best_epoch_s']:.3f} s ({nf['backend']}, {nf['train_ratings']} ratings, host "
        f"{nf['best_epoch_host_s']:.3f} s of it)", f"{nf['best_epoch_gflops']:.0f} GFLOP/s{floor}",
        nf["best_epoch_s"] <= 1.0 and nf["backend"] == "cuda")
else:
    row("Netflix-scale epoch <= 1 s", "not run", "", None)

print("\n## Targets (issue 15)\n")
print("| target | measured | beside it (same run) | verdict |")
print("|---|---|---|---|")
print("\n".join(rows))
if gpu:
    print(f"\nCeilings measured in this run: {json.dumps(gpu)}")
cpu_h = load("cpu_ceilings.json")
if cpu_h:
    print(f"CPU: {cpu_h.get('cpu')}, {cpu_h.get('gemm_gflops', 0):.0f} GFLOP/s Eigen GEMM, {cpu_h.get('triad_gbps', 0):.0f} GB/s triad at {cpu_h.get('threads')} threads")
