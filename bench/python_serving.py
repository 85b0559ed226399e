#!/usr/bin/env python3
"""The Python package's serving speed against the C++ library on the same work, in one run (issue 18):

    bench/python_serving.py --ml1m ../shared/data/ml-1m/ratings_dense.tsv.zst [--bin build/bin] [--markdown OUT]

Trains the default recipe on the reference seed-1 split of ML-1M (make_split.py; --epochs to shorten), then
on that model: model.predict on 1,000,000 random (user, item) id pairs from numpy arrays against
`autorec-bench --pairs` (Model::predict_batch over the same pairs by dense index, one thread; the Python
side also looks the ids up), predict_indices on the same indices, and recommend_many(every user, k=10)
against the C++ loop of recommend() over every user, on one thread and on all cores. Best of --repeat each.
The Python package is imported from the build (BIN/../python).
"""
import argparse, json, os, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, find_shared, machine, machine_line, publish, run  # noqa: E402


def best(repeat, f):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ml1m", required=True)
    p.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    p.add_argument("--pairs", type=int, default=1_000_000)
    p.add_argument("--epochs", type=int, default=0, help="epochs of the model (0: the default recipe's)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--markdown")
    p.add_argument("--json")
    a = p.parse_args()
    bindir = os.path.abspath(a.bin)
    sys.path.insert(0, os.path.join(os.path.dirname(bindir), "python"))
    import numpy as np
    import autorec
    shared = find_shared()
    work = tempfile.mkdtemp(prefix="python-serving-")
    run([sys.executable, os.path.join(shared, "bench", "make_split.py"), a.ml1m, work, "--seed", "1"])
    model_path = os.path.join(work, "model.fb")
    flags = ["--seed", "1", "--threads", str(a.threads), "-o", model_path, "--quiet"] + (["--epochs", str(a.epochs)] if a.epochs else [])
    run([os.path.join(bindir, "autorec-train"), os.path.join(work, "train.data"), *flags])
    model = autorec.Model.load(model_path, device="cpu")

    rng = np.random.default_rng(1)
    users = rng.integers(0, model.num_users, a.pairs, dtype=np.uint32)
    items = rng.integers(0, model.num_items, a.pairs, dtype=np.uint32)
    pairs_path = os.path.join(work, "pairs.u32")
    np.stack([users, items], axis=1).astype("<u4").tofile(pairs_path)
    cpp = json.loads(run([os.path.join(bindir, "autorec-bench"), model_path, "--pairs", pairs_path, "--threads",
                          str(a.threads), "--repeat", str(a.repeat), "--json", "--device", "cpu"]).stdout)
    user_ids, item_ids = model.user_ids[users], model.item_ids[items]
    ours = {
        "predict_ids_s": best(a.repeat, lambda: model.predict(user_ids, item_ids)),
        "predict_indices_s": best(a.repeat, lambda: model.predict_indices(users, items)),
        "recommend_many_1thread_s": best(a.repeat, lambda: model.recommend_many(model.user_ids, 10, threads=1)),
        "recommend_many_s": best(a.repeat, lambda: model.recommend_many(model.user_ids, 10, threads=a.threads)),
    }
    # The same answers as the library's: predictions of the pairs summed as autorec-bench sums them.
    check = float(np.sum(model.predict_indices(users, items).astype(np.float64)))
    agree = abs(check - cpp["predict_checksum"]) <= 1e-6 * abs(cpp["predict_checksum"])
    m = machine(bindir, a.threads)
    rows = [("predict, 1M (user, item) pairs, 1 thread: ids from numpy", ours["predict_ids_s"], cpp["predict_batch_s"]),
            ("predict_indices, the same pairs as dense indices", ours["predict_indices_s"], cpp["predict_batch_s"]),
            (f"recommend_many, top-10 of all {model.num_users} users, 1 thread", ours["recommend_many_1thread_s"],
             cpp["recommend_all_1thread_s"]),
            (f"recommend_many, top-10 of all users, {a.threads} threads", ours["recommend_many_s"], cpp["recommend_all_s"])]
    lines = ["| call | Python | C++ loop | Python / C++ |", "|---|---|---|---|"]
    for name, py_s, cpp_s in rows:
        lines.append(f"| {name} | {py_s * 1e3:.1f} ms | {cpp_s * 1e3:.1f} ms | {py_s / cpp_s:.2f} |")
    lines += ["", f"Model: ML-1M seed-1 split, default recipe{f', {a.epochs} epochs' if a.epochs else ''}, "
                  f"{model.num_users} users x {model.num_items} items; predictions agree with the library's: {agree}.",
              f"Machine: {machine_line(m)}."]
    publish("\n".join(lines) + "\n", a.markdown)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": m, "python": ours, "cpp": cpp, "agree": agree}, f, indent=1)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
