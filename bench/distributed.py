#!/usr/bin/env python3
"""Row-sharded training over MPI on this machine (issue 20), and what it implies at scale:

    bench/distributed.py --ml1m ../shared/data/ml-1m/ratings_dense.tsv.zst [--seed 1] [--epochs 5]
                         [--bin build/bin] [--markdown OUT] [--json OUT]

Measured, on the reference 90/10 split of ML-1M (make_split.py --seed S), hidden 500, the default recipe
for --epochs epochs on the CPU: one process at 1 thread, one at 2 threads, and `mpirun -np 2` at 1 thread
each (this machine's 2 cores either way). For each: seconds per epoch (autorec-train --metrics), the peak
resident memory of every process (/usr/bin/time), the test RMSE; for the MPI run, the largest per-epoch
loss difference from the 1-thread run, the bytes rank 0 handed to MPI per epoch and the seconds it spent in
those calls (autorec-train's own "distributed:" line).

Then the model at P = 1, 2, 4, 8 for Netflix's shape and a 50M-user shape (hidden 500, batch 256, fp32,
Adam): per-process memory of the trainer's state (6 floats per row and hidden unit: V, W and their two
moments; 12 bytes per stored rating: row, value and its index), bytes each process sends per epoch (two
all-reduces of batch x hidden floats per batch, ring all-reduce: 2 (P-1)/P of the message), and the epoch
time as compute / P + communication, with compute from the measured Netflix-shape CPU epoch in
docs/BENCHMARKS.md and the H200 floor there, and the links' datasheet rates (stated in the table).
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, find_shared, machine, machine_line, publish, run  # noqa: E402

HIDDEN, BATCH = 500, 256
SHAPES = {  # rows (users), columns (items), training ratings
    "Netflix (480,189 users x 17,770 items, 90M ratings)": (480_189, 17_770, 89_851_376),
    "50M users x 17,770 items, 100 ratings per user (5G ratings)": (50_000_000, 17_770, 5_000_000_000),
}
# Per-epoch compute at P = 1 for the Netflix shape: the CPU figure measured (docs/BENCHMARKS.md, 2 threads) and
# the H200's bandwidth floor (same page); other shapes scale it by ratings x hidden + rows x hidden x batches.
NETFLIX_CPU_EPOCH_S, NETFLIX_H200_FLOOR_S = 65.3, 0.23
LINKS = {  # bandwidth per direction (bytes/s) and latency per ring step (s): datasheet figures, not measured here
    "H200 NVLink (NCCL)": (450e9, 10e-6),
    "CPU nodes, 100 Gb/s": (12.5e9, 5e-6),
}


def timed_train(bindir, args, log_path, np_=0):
    """autorec-train ARGS (under mpirun -np NP when NP > 0), each process under /usr/bin/time."""
    time_cmd = ["/usr/bin/time", "-f", "maxrss_kb %M"]
    cmd = time_cmd + [os.path.join(bindir, "autorec-train")] + args
    if np_:
        cmd = [shutil.which("mpirun") or "mpirun", "--oversubscribe", "-np", str(np_)] + \
              (["--allow-run-as-root"] if os.geteuid() == 0 else []) + cmd
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    open(log_path, "w").write(p.stdout + p.stderr)
    if p.returncode:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return p.stdout + p.stderr


def measure(bindir, split, epochs, tmp):
    base = [os.path.join(split, "train.data"), "--test", os.path.join(split, "test.data"), "--hidden", str(HIDDEN),
            "--epochs", str(epochs), "--device", "cpu"]
    runs = {}
    for name, threads, np_ in (("1 process, 1 thread", 1, 0), ("1 process, 2 threads", 2, 0), ("mpirun -np 2, 1 thread each", 1, 2)):
        metrics = os.path.join(tmp, f"m{threads}{np_}.jsonl")
        out = timed_train(bindir, base + ["--threads", str(threads), "--metrics", metrics, "-o", os.path.join(tmp, "m.fb")],
                          os.path.join(tmp, f"log{threads}{np_}.txt"), np_)
        lines = [json.loads(x) for x in open(metrics)]
        epochs_ = [x for x in lines if "epoch" in x]
        r = {"epoch_s": [x["seconds"] for x in epochs_], "loss": [x["loss"] for x in epochs_],
             "test_rmse": lines[-1]["test_rmse"], "maxrss_mb": [int(k) / 1024 for k in re.findall(r"maxrss_kb (\d+)", out)]}
        m = re.search(r"distributed: rank 0 sent ([0-9.]+) MB .*\(([0-9.]+) MB per epoch\) and spent ([0-9.]+) s .*"
                      r"\(([0-9.]+) s per epoch of ([0-9.]+) s\)", out)
        if m:
            r.update(sent_mb_per_epoch=float(m.group(2)), comm_s_per_epoch=float(m.group(4)))
        r["sharding"] = [x for x in out.splitlines() if x.startswith("rank ")]
        runs[name] = r
    one, mpi = runs["1 process, 1 thread"], runs["mpirun -np 2, 1 thread each"]
    mpi["max_loss_rel_diff"] = max(abs(a - b) / a for a, b in zip(one["loss"], mpi["loss"]))
    return runs


def allreduce_times(bindir):
    """One sum of batch x hidden floats across 2 processes of this machine (autorec-allreduce under mpirun)."""
    cmd = [shutil.which("mpirun") or "mpirun", "--oversubscribe", "-np", "2"] + \
          (["--allow-run-as-root"] if os.geteuid() == 0 else []) + \
          [os.path.join(bindir, "autorec-allreduce"), "--floats", f"{64 * HIDDEN},{BATCH * HIDDEN}", "--repeats", "500"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]


def allreduce_text(times):
    nrows, ncols, nnz = SHAPES[next(iter(SHAPES))]
    batches = -(-ncols // BATCH)
    t = next(x for x in times if x["floats"] == BATCH * HIDDEN)
    sizes = "; ".join(f"{x['bytes'] / 1e6:.3f} MB: {x['median_s'] * 1e6:.0f} us median, {x['p90_s'] * 1e6:.0f} us p90"
                      for x in times)
    epoch = NETFLIX_CPU_EPOCH_S / 2 + 2 * batches * t["median_s"]
    return (f"Measured here, one sum across 2 processes of this machine (`mpirun -np 2 autorec-allreduce`, MpiWorld over "
            f"shared memory, {t['repeats']} calls after as many untimed): {sizes}. With that figure for the link, the "
            f"Netflix shape at P = 2 would take {epoch:.2f} s per epoch on two such processes "
            f"({2 * batches * t['median_s']:.3f} s of it in {2 * batches} sums of {t['bytes'] / 1e6:.3f} MB).")


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def measured_table(runs, epochs):
    lines = [f"| run (ML-1M, hidden {HIDDEN}, {epochs} epochs) | s per epoch (median) | peak memory per process | test RMSE | "
             "MPI: sent per epoch, s in MPI per epoch | loss vs 1 process |", "|---|---|---|---|---|---|"]
    for name, r in runs.items():
        mpi = (f"{r['sent_mb_per_epoch']:.1f} MB, {r['comm_s_per_epoch']:.2f} s" if "sent_mb_per_epoch" in r else "")
        diff = f"{r['max_loss_rel_diff']:.1e} relative at most" if "max_loss_rel_diff" in r else ""
        lines.append(f"| {name} | {median(r['epoch_s']):.2f} | {', '.join(f'{x:.0f} MB' for x in r['maxrss_mb'])} | "
                     f"{r['test_rmse']:.4f} | {mpi} | {diff} |")
    return "\n".join(lines)


def model_table():
    lines = ["| shape | P | trainer state per process | sent per process per epoch | epoch, H200s + NVLink | "
             "epoch, CPU nodes + 100 Gb/s |", "|---|---|---|---|---|---|"]
    nrows, ncols, nnz = SHAPES[next(iter(SHAPES))]
    batches0 = -(-ncols // BATCH)
    cost0 = nnz * HIDDEN + nrows * HIDDEN * batches0
    for name, (rows, cols, ratings) in SHAPES.items():
        batches = -(-cols // BATCH)
        scale = (ratings * HIDDEN + rows * HIDDEN * batches) / cost0
        for P in (1, 2, 4, 8):
            state = (rows / P) * 6 * HIDDEN * 4 + (ratings / P) * 12
            message = BATCH * HIDDEN * 4
            sent = 2 * batches * message * 2 * (P - 1) / P
            cells = []
            for compute_s, (bw, lat) in ((NETFLIX_H200_FLOOR_S * scale, LINKS["H200 NVLink (NCCL)"]),
                                         (NETFLIX_CPU_EPOCH_S * scale, LINKS["CPU nodes, 100 Gb/s"])):
                comm = 0.0 if P == 1 else 2 * batches * (2 * (P - 1) / P * message / bw + 2 * (P - 1) * lat)
                cells.append(f"{compute_s / P + comm:,.2f} s ({comm:.3f} s talking)")
            lines.append(f"| {name} | {P} | {state / 1e9:,.1f} GB | {sent / 1e6:,.0f} MB | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ml1m")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    p.add_argument("--markdown")
    p.add_argument("--json")
    a = p.parse_args()
    bindir, shared = os.path.abspath(a.bin), find_shared()
    m = machine(bindir, 2)
    text = [f"Machine: {machine_line(m)}", ""]
    result = {"machine": m}
    if a.ml1m:
        with tempfile.TemporaryDirectory() as tmp:
            split = os.path.join(tmp, "split")
            run([sys.executable, os.path.join(shared, "bench", "make_split.py"), a.ml1m, split, "--seed", str(a.seed)])
            result["runs"] = measure(bindir, split, a.epochs, tmp)
        text += [measured_table(result["runs"], a.epochs), ""]
        text += ["Sharding of the MPI run: " + "; ".join(result["runs"]["mpirun -np 2, 1 thread each"]["sharding"][:2]), ""]
    else:
        print("bench: no --ml1m: the measured table is skipped", file=sys.stderr)
    text += [model_table(), ""]
    result["allreduce"] = allreduce_times(bindir)
    text += [allreduce_text(result["allreduce"]), ""]
    publish("\n".join(text), a.markdown)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
