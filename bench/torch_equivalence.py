#!/usr/bin/python3
"""Checks that autorec's sparse trainer computes exactly what the dense PyTorch textbook model computes.

PyTorch is given autorec's own initial weights and epoch orders (reimplemented below from
infer/include/autorec/math.hpp and train/src/trainer.cpp), trains with dropout off for the same epochs, and the
test RMSE of both (clamped, over test ratings whose user and item were seen in training) is compared with the
one autorec-verify-style figure computed from autorec's model file.

Usage: bench/torch_equivalence.py TRAIN TEST [--epochs 25] [--seed 1] [--bindir build/bin]
Needs Debian's python3-torch and python3-numpy. Prints both RMSEs and their difference.
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np
import torch

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def splitmix64(x):
    x = (x + GOLDEN) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def normals(seed, n):  # normal_from_counter
    out = np.empty(n, dtype=np.float32)
    for c in range(n):
        k = splitmix64(seed ^ splitmix64(c))
        u1 = ((splitmix64(k) >> 11) + 1) * 2.0 ** -53
        u2 = ((splitmix64((k + 1) & MASK) >> 11) + 1) * 2.0 ** -53
        out[c] = np.sqrt(-2 * np.log(u1)) * np.cos(6.283185307179586 * u2)
    return out


def epoch_order(seed, epoch, n):
    p, s = list(range(n)), (splitmix64(seed ^ 0x5F3759DF) + epoch) & MASK
    for i in range(n, 1, -1):
        j = splitmix64((s * GOLDEN + i) & MASK) % i
        p[i - 1], p[j] = p[j], p[i - 1]
    return p


def read(path):
    return [(int(a[0]), int(a[1]), float(a[2])) for a in (l.split() for l in open(path)) if len(a) >= 3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train"); ap.add_argument("test")
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--bindir", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin"))
    a = ap.parse_args()
    torch.set_num_threads(2)
    tr, te = read(a.train), read(a.test)
    users = sorted({u for u, _, _ in tr}); items = sorted({i for _, i, _ in tr})
    ui = {u: k for k, u in enumerate(users)}; ii = {i: k for k, i in enumerate(items)}
    U, H = len(users), a.hidden
    R = torch.zeros(len(items), U)
    for u, i, r in tr: R[ii[i], ui[u]] = r
    V = 0.01 * normals(splitmix64(a.seed ^ 0x1111), U * H).reshape(U, H)
    W = 0.01 * normals(splitmix64(a.seed ^ 0x2222), U * H).reshape(U, H)
    enc, dec = torch.nn.Linear(U, H), torch.nn.Linear(H, U)
    with torch.no_grad():
        enc.weight.copy_(torch.from_numpy(V.T.copy())); enc.bias.zero_()
        dec.weight.copy_(torch.from_numpy(W)); dec.bias.zero_()
    net = torch.nn.Sequential(enc, torch.nn.Sigmoid(), dec)
    opt = torch.optim.Adam(net.parameters(), lr=0.002, weight_decay=1e-5)
    for ep in range(1, a.epochs + 1):
        perm = epoch_order(a.seed, ep, len(items))
        for s in range(0, len(items), 256):
            x = R[perm[s:s + 256]]
            loss = 0.5 * ((net(x) * torch.sign(x) - x) ** 2).mean()
            opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        P = net(R).clamp(1, 5)
    seen = [(ui[u], ii[i], r) for u, i, r in te if u in ui and i in ii]
    torch_rmse = float(np.sqrt(np.mean([(float(P[i, u]) - r) ** 2 for u, i, r in seen])))

    with tempfile.TemporaryDirectory() as tmp:
        seen_file = os.path.join(tmp, "seen.data")
        with open(seen_file, "w") as f:
            for u, i, r in te:
                if u in ui and i in ii:
                    f.write(f"{u}\t{i}\t{r}\n")
        model = os.path.join(tmp, "m.fb")
        subprocess.run([os.path.join(a.bindir, "autorec-train"), a.train, "--recipe", "textbook", "-o", model, "--dropout", "0", "--seed",
                        str(a.seed), "--epochs", str(a.epochs), "--hidden", str(H), "-q"], check=True,
                       capture_output=True)
        out = subprocess.run([os.path.join(a.bindir, "autorec-verify"), model, seen_file, "--json"], check=True,
                             capture_output=True, text=True).stdout
        import json
        ours = json.loads(out)["rmse"]
    print(f"test ratings with seen ids: {len(seen)}; epochs {a.epochs}; dropout off")
    print(f"pytorch (autorec's init and order): {torch_rmse:.7f}")
    print(f"autorec:                            {ours:.7f}")
    print(f"difference: {abs(torch_rmse - ours):.2e}")
    sys.exit(0 if abs(torch_rmse - ours) < 1e-4 else 1)


if __name__ == "__main__":
    main()
