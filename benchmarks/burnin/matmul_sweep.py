"""Peak achievable bf16 torch.matmul on this device: a shape sweep (mamf-finder style) to hold the burn-in's
sustained GEMM figure against. Warm-up before timing (library selection, clocks ramping up), then CUDA events
around each of `iters` completed calls; the median per shape, and the best shape. This is the peak (cold, short,
best of many shapes); the burn-in's compute phase reports the sustained figure (one shape, hot, minutes long).
They are reported side by side and never mixed.

    PYTHONPATH=. python3 benchmarks/burnin/matmul_sweep.py --out sweep.json [--device cpu --sizes 64,128]

Needs only torch; runs on the CPU with small sizes (the figures then say nothing about a GPU).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

SIZES = (4096, 8192, 16384)


def shapes(sizes: tuple[int, ...]) -> list[tuple[int, int, int]]:
    return [(m, n, k) for m in sizes for n in sizes for k in sizes]


def measure(torch: Any, device: str, m: int, n: int, k: int, warmup: int, iters: int) -> float:
    """TFLOPS of the median of `iters` timed calls after `warmup` untimed ones."""
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    a = torch.randn(m, k, device=device, dtype=dtype)
    b = torch.randn(k, n, device=device, dtype=dtype)
    out = torch.empty(m, n, device=device, dtype=dtype)
    for _ in range(warmup):
        torch.matmul(a, b, out=out)
    times = []
    for _ in range(iters):
        if device == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            torch.matmul(a, b, out=out)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1000)
        else:
            t = time.perf_counter()
            torch.matmul(a, b, out=out)
            times.append(time.perf_counter() - t)
    return 2.0 * m * n * k / statistics.median(times) / 1e12


def sweep(torch: Any, device: str, sizes: tuple[int, ...], warmup: int, iters: int) -> dict[str, Any]:
    rows = [{"m": m, "n": n, "k": k, "tflops": measure(torch, device, m, n, k, warmup, iters)}
            for m, n, k in shapes(sizes)]
    best = max(rows, key=lambda r: r["tflops"])
    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    return {"device": name, "dtype": "bf16" if device == "cuda" else "fp32", "torch": torch.__version__,
            "cuda": torch.version.cuda, "warmup": warmup, "iters": iters, "shapes": rows, "best": best}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)))
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: pass --device cpu for a dry run", file=sys.stderr)
        return 2
    result = sweep(torch, args.device, tuple(int(s) for s in args.sizes.split(",")), args.warmup, args.iters)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2, sort_keys=True)
    best = result["best"]
    print(f"best {best['tflops']:.1f} TFLOPS at {best['m']}x{best['n']}x{best['k']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
