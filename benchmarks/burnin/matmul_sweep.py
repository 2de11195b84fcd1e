"""Best achievable bf16 torch.matmul on this GPU: a shape sweep (mamf-finder style), to hold the burn-in's
sustained GEMM figure against. Warm-up before timing (no warm-up inflates nothing but the noise), CUDA
events around completed work, the best median per shape reported.

    python benchmarks/burnin/matmul_sweep.py --out sweep.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

SHAPES = [(m, n, k) for m in (4096, 8192, 16384) for n in (4096, 8192, 16384) for k in (4096, 8192, 16384)]


def measure(torch, m: int, n: int, k: int, warmup: int, iters: int) -> float:
    a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(k, n, device="cuda", dtype=torch.bfloat16)
    out = torch.empty(m, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(warmup):
        torch.matmul(a, b, out=out)
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        torch.matmul(a, b, out=out)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1000)
    return 2.0 * m * n * k / statistics.median(times) / 1e12


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device: the sweep needs a GPU", file=sys.stderr)
        return 2
    rows = [{"m": m, "n": n, "k": k, "tflops": measure(torch, m, n, k, args.warmup, args.iters)} for m, n, k in SHAPES]
    best = max(rows, key=lambda r: r["tflops"])
    result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda,
              "warmup": args.warmup, "iters": args.iters, "shapes": rows, "best": best,
              "square_8192": next(r for r in rows if (r["m"], r["n"], r["k"]) == (8192, 8192, 8192))}
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2, sort_keys=True)
    print(f"best {best['tflops']:.1f} TFLOPS at {best['m']}x{best['n']}x{best['k']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
