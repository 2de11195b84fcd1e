"""Phase 3, memory: triad bandwidth and an integrity pass over most of free memory.

Triad `a = b + s*c` is one kernel that reads two arrays and writes one, so it moves 3 x N x 4 bytes;
a same-dtype copy would go through the copy engine and under-report. One kernel takes well under a
millisecond on HBM, so each timed sample spans `triad_kernels` back-to-back kernels between one event pair.
The integrity pass fills memory with address-seeded patterns (each word's expected value derives from its own
index and the pass's seed) and verifies every word; passes repeat, each with a new seed and every other one
inverted, until `integrity_s` has passed (at least two), so intermittent cells get time to show.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from aifactory.burnin.phases.device import Device

GOLDEN = -7046029254386353131  # 0x9E3779B97F4A7C15 as a signed 64-bit integer (Fibonacci hashing)
CHUNK_BYTES = 256 << 20


def run(dev: Device, params: dict[str, Any]) -> dict[str, Any]:
    return {"triad": triad(dev, params), "integrity": integrity(dev, params)}


def triad(dev: Device, params: dict[str, Any]) -> dict[str, Any]:
    torch = dev.torch
    n = int(params["triad_bytes"]) // 4
    b = torch.rand(n, device=dev.tdev)
    c = torch.rand(n, device=dev.tdev)
    a = torch.empty(n, device=dev.tdev)
    kernels = int(params.get("triad_kernels", 1))
    torch.add(b, c, alpha=3.0, out=a)  # warm-up
    reps = int(params["triad_reps"])
    times = [dev.timed(lambda: torch.add(b, c, alpha=3.0, out=a), kernels) / kernels for _ in range(reps)]
    median = statistics.median(times)
    moved = 3 * n * 4
    return {
        "bytes_per_array": n * 4,
        "reps": len(times),
        "kernels_per_sample": kernels,
        "median_s": median,
        "gbps": moved / median / 1e9,
        "best_gbps": moved / min(times) / 1e9,
    }


def integrity(dev: Device, params: dict[str, Any]) -> dict[str, Any]:
    torch = dev.torch
    total = _budget_bytes(dev, params)
    words_per_chunk = max(1, min(CHUNK_BYTES, total) // 8)
    chunks = [
        torch.empty(words_per_chunk, dtype=torch.int64, device=dev.tdev)
        for _ in range(max(1, total // (words_per_chunk * 8)))
    ]
    scratch = torch.empty(words_per_chunk, dtype=torch.int64, device=dev.tdev)
    mismatches, passes = 0, 0
    bad = torch.zeros((), dtype=torch.int64, device=dev.tdev)
    start, seconds = time.perf_counter(), float(params.get("integrity_s", 0.0))
    while passes < 2 or time.perf_counter() - start < seconds:
        seed = _seed(passes)
        for k, chunk in enumerate(chunks):
            _pattern(dev, k * words_per_chunk, seed, out=chunk)
        for k, chunk in enumerate(chunks):
            _pattern(dev, k * words_per_chunk, seed, out=scratch)
            bad.add_((chunk != scratch).sum())
        mismatches = int(bad.item())  # one synchronisation per pass
        passes += 1
    tested = len(chunks) * words_per_chunk * 8
    del chunks, scratch
    return {
        "bytes_tested": tested,
        "passes": passes,
        "seconds": round(time.perf_counter() - start, 3),
        "mismatched_words": mismatches,
    }


def _seed(k: int) -> int:
    """Pass k's seed: a new pattern each pair of passes, the odd pass the bit inverse of the even one."""
    base = (0x5A5A5A5A + (k // 2) * 0x3C6EF372) & 0x7FFFFFFF
    return base if k % 2 == 0 else ~base


def _pattern(dev: Device, first_word: int, seed: int, out: Any) -> None:
    torch = dev.torch
    torch.arange(first_word, first_word + out.numel(), dtype=torch.int64, device=dev.tdev, out=out)
    out.mul_(GOLDEN).bitwise_xor_(seed)


def _budget_bytes(dev: Device, params: dict[str, Any]) -> int:
    if dev.is_cuda:
        free, _ = dev.torch.cuda.mem_get_info(dev.index)
        return int(free * float(params["integrity_fraction"]))
    return int(params.get("integrity_bytes", 1 << 22))
