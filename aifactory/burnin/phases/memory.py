"""Phase 3, memory: triad bandwidth and an integrity pass over most of free memory.

Triad `a = b + s*c` is one kernel that reads two arrays and writes one, so it moves 3 x N x 4 bytes;
a same-dtype copy would go through the copy engine and under-report. The integrity pass fills memory with
address-seeded patterns (each word's expected value derives from its own index) and verifies every word.
"""

from __future__ import annotations

import statistics
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
    torch.add(b, c, alpha=3.0, out=a)  # warm-up
    times = [dev.timed(lambda: torch.add(b, c, alpha=3.0, out=a)) for _ in range(int(params["triad_reps"]))]
    median = statistics.median(times)
    moved = 3 * n * 4
    return {
        "bytes_per_array": n * 4,
        "reps": len(times),
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
    mismatches = 0
    for seed in (0x5A5A5A5A, -1):  # second pass inverts every bit of the first pattern
        for k, chunk in enumerate(chunks):
            _pattern(dev, k * words_per_chunk, seed, out=chunk)
        for k, chunk in enumerate(chunks):
            _pattern(dev, k * words_per_chunk, seed, out=scratch)
            mismatches += int((chunk != scratch).sum().item())
    tested = len(chunks) * words_per_chunk * 8
    del chunks, scratch
    return {"bytes_tested": tested, "passes": 2, "mismatched_words": mismatches}


def _pattern(dev: Device, first_word: int, seed: int, out: Any) -> None:
    torch = dev.torch
    torch.arange(first_word, first_word + out.numel(), dtype=torch.int64, device=dev.tdev, out=out)
    out.mul_(GOLDEN).bitwise_xor_(seed)


def _budget_bytes(dev: Device, params: dict[str, Any]) -> int:
    if dev.is_cuda:
        free, _ = dev.torch.cuda.mem_get_info(dev.index)
        return int(free * float(params["integrity_fraction"]))
    return int(params.get("integrity_bytes", 1 << 22))
