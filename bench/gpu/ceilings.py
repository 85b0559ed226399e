#!/usr/bin/python3
"""The ceilings a GPU figure is read against, measured in the same run (bench/gpu/run, phase ceilings):
fp32 matrix-multiply rate with TF32 off (autorec's kernels compute in fp32), the same with TF32 on, and the
device-to-device copy bandwidth counting bytes read and written. Each rate is the best of several timed
repetitions after a warm-up. Prints one JSON object. --device cpu measures the same on the CPU (rehearsal)."""
import argparse, json, time

import torch


def timed(fn, sync, reps):
    fn(); sync()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter(); fn(); sync()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    a = ap.parse_args()
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    n = 8192 if cuda else 1024
    x = torch.randn(n, n, device=dev); y = torch.randn(n, n, device=dev)
    out = {"device": torch.cuda.get_device_name() if cuda else "cpu", "torch": torch.__version__}
    for tf32 in (False, True) if cuda else (False,):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        s = timed(lambda: torch.mm(x, y), sync, 5)
        out["tf32_tflops" if tf32 else "fp32_tflops"] = round(2 * n ** 3 / s / 1e12, 2)
    torch.backends.cuda.matmul.allow_tf32 = False
    src = torch.empty((1 << 30) if cuda else (1 << 25), dtype=torch.uint8, device=dev); dst = torch.empty_like(src)
    s = timed(lambda: dst.copy_(src), sync, 10)
    out["copy_tbps"] = round(2 * src.numel() / s / 1e12, 3)
    if cuda:
        p = torch.cuda.get_device_properties(0)
        out.update(multiprocessors=p.multi_processor_count, memory_gib=round(p.total_memory / 2 ** 30, 1))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
