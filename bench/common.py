"""What the benchmark scripts share: running the tools, the machine's description, the PyTorch peers of
../shared/peers/, and the rule that refuses a speed ratio against a misconfigured peer.

A peer on Debian's reference BLAS runs torch.mm at a few GFLOP/s, and a ratio against it says nothing about
autorec (issue 14), so every ratio carries the peer's measured GEMM rate and none is printed below
MIN_PEER_GFLOPS. scripts/bench-setup installs OpenBLAS and PyTorch.
"""
import json, os, platform, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIN_PEER_GFLOPS = 20.0
# The peers as they are in ../shared/peers/: name (as each prints it) -> script and flags. torch-sparse-dense
# is torch_sparse_autorec.py with its default decoder.
PEERS = {"torch-dense": ("torch_autorec.py", []),
         "torch-sparse-dense": ("torch_sparse_autorec.py", []),
         "torch-sparse-gather": ("torch_sparse_autorec.py", ["--decoder", "gather"])}


def find_shared():
    for base in (os.environ.get("AUTOREC_SHARED", ""), os.path.join(ROOT, "..", "shared")):
        if base and os.path.exists(os.path.join(base, "bench", "make_split.py")):
            return os.path.abspath(base)
    sys.exit("bench: cannot find shared/ (set AUTOREC_SHARED to the folder with bench/ and peers/)")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def _cpuinfo():
    info = {}
    try:
        for line in open("/proc/cpuinfo"):
            if ":" in line:
                k, v = (s.strip() for s in line.split(":", 1))
                info.setdefault(k, v)  # the first processor's entry
            elif info:
                break
    except OSError:
        pass
    return info


def _isa(flags):
    """The widest vector ISA and the extensions that change the speed of fp32/int8/bf16 products."""
    top = ("AVX-512" if "avx512f" in flags else "AVX2/FMA" if {"avx2", "fma"} <= flags else
           "AVX" if "avx" in flags else "SSE")
    extra = [n for f, n in [("avx512_vnni", "VNNI"), ("avx_vnni", "AVX-VNNI"), ("avx512_bf16", "BF16"),
                            ("avx512_fp16", "FP16"), ("amx_tile", "AMX")] if f in flags]
    return top + (f" ({', '.join(extra)})" if extra else "")


def _build(bindir):
    """How the binaries were built: -march=native or portable, build type, compiler."""
    cache, out = os.path.join(os.path.dirname(bindir), "CMakeCache.txt"), {}
    try:
        for line in open(cache):
            k, _, v = line.strip().partition("=")
            if k.split(":")[0] in ("AUTOREC_NATIVE", "CMAKE_BUILD_TYPE", "CMAKE_CXX_COMPILER"):
                out[k.split(":")[0]] = v
        out["compiler"] = run([out.pop("CMAKE_CXX_COMPILER"), "--version"]).stdout.splitlines()[0]
    except (OSError, KeyError, subprocess.CalledProcessError):
        pass
    return out


def machine(bindir, threads):
    """This machine: CPU, ISA, cores, memory, and what `autorec-bench --hardware` measures at `threads`
    (Eigen's fp32 matrix-multiply rate and the triad memory bandwidth)."""
    cpu = _cpuinfo()
    hw = json.loads(run([os.path.join(bindir, "autorec-bench"), "--hardware", "--threads", str(threads),
                         "--json"]).stdout)
    try:
        mem = int(open("/proc/meminfo").readline().split()[1]) / 2 ** 20
    except (OSError, ValueError, IndexError):
        mem = 0
    return {"cpu": cpu.get("model name", platform.processor() or "unknown"),
            "cpu_id": f"family {cpu.get('cpu family', '?')} model {cpu.get('model', '?')} stepping "
                      f"{cpu.get('stepping', '?')}",
            "isa": _isa(set(cpu.get("flags", "").split())), "cores": len(os.sched_getaffinity(0)),
            "memory_gib": round(mem, 1), "threads": hw["threads"], "gemm_gflops": hw["gemm_gflops"],
            "triad_gbps": hw["triad_gbps"], "build": _build(bindir), "build_isa": hw.get("build_isa", "?"),
            "kernel_level": hw.get("kernel_level", "?"),
            "date": time.strftime("%Y-%m-%d %H:%M")}


def machine_line(m):
    b = m["build"]
    build = ", ".join(x for x in [b.get("compiler"), b.get("CMAKE_BUILD_TYPE"),
                                  "-march=native" if b.get("AUTOREC_NATIVE") == "ON" else
                                  "portable (x86-64-v2, kernels chosen at run time)" if b.get("AUTOREC_NATIVE") else None,
                                  f"code for {m.get('build_isa', '?')}", f"kernels at {m.get('kernel_level', '?')}"] if x)
    threads = f"{m['threads']} thread" + ("s" if m["threads"] != 1 else "")
    return (f"{m['cpu']} ({m['cpu_id']}), {m['isa']}, {m['cores']} cores, {m['memory_gib']:.0f} GiB; "
            f"measured at {threads} by `autorec-bench --hardware`: {m['gemm_gflops']:.1f} GFLOP/s fp32 matrix "
            f"multiply (autorec's kernels), {m['triad_gbps']:.1f} GB/s memory bandwidth (triad); build: {build}; {m['date']}")


def peer(shared, name, split, threads, epochs):
    """One peer's run on a split: its summary line, which includes the GEMM rate it measured at start."""
    script, flags = PEERS[name]
    out = run(["/usr/bin/python3", os.path.join(shared, "peers", script), os.path.join(split, "train.data"),
               os.path.join(split, "test.data"), "--threads", str(threads), "--epochs", str(epochs), *flags]).stdout
    lines = [json.loads(l) for l in out.strip().splitlines()]
    s, each = lines[-1], sorted(l["epoch_s"] for l in lines[:-1])
    return {"peer": s["peer"], "s_per_epoch": s["s_per_epoch"], "s_per_epoch_median": each[len(each) // 2],
            "rmse": s["test_rmse"], "epochs": epochs, "gemm_gflops": s["gemm_gflops"], "blas": s["blas"]}


def ratio(peer_s, ours_s, p):
    """peer time / autorec time, or None when the peer's BLAS is too slow for the ratio to mean anything."""
    ok = p["gemm_gflops"] >= MIN_PEER_GFLOPS
    return {"value": peer_s / ours_s if ok else None, "peer": p["peer"], "peer_gemm_gflops": p["gemm_gflops"],
            "peer_blas": p["blas"]}


def ratio_text(r):
    g = r["peer_gemm_gflops"]
    if r["value"] is None:
        return f"n/a (peer GEMM {g:.1f} GFLOP/s < {MIN_PEER_GFLOPS:.0f}: misconfigured BLAS)"
    v = r["value"]
    return (f"{v:.0f}x" if v >= 100 else f"{v:.1f}x" if v >= 1 else f"{v:.2f}x") + f" (peer GEMM {g:.0f} GFLOP/s)"


def refused(ratios):
    """Says which ratios were refused, on stderr; true when any was (the caller then exits 1)."""
    bad = {r["peer"]: r for r in ratios if r["value"] is None}
    for r in bad.values():
        print(f"bench: refused a ratio against {r['peer']}: its GEMM ran at {r['peer_gemm_gflops']:.1f} GFLOP/s "
              f"(< {MIN_PEER_GFLOPS:.0f}; BLAS {r['peer_blas']}); run scripts/bench-setup", file=sys.stderr)
    return bool(bad)


def publish(text, markdown):
    """Prints a result table and writes it to the --markdown file when one is given."""
    print(text)
    if markdown:
        with open(markdown, "w") as f:
            f.write(text)
