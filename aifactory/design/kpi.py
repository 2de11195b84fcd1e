"""Key figures: peak PFLOPS per precision and token throughput from sourced per-GPU catalogue figures."""

from __future__ import annotations

from typing import Any

from aifactory.catalog import Gpu

PRECISIONS = ("bf16", "fp16", "tf32", "fp8", "fp64")


def kpis(gpu: Gpu, gpus: int, it_w: float) -> dict[str, Any]:
    """Peak dense PFLOPS; tokens/s = GPUs x the catalogue's per-GPU inference figure; tokens per joule =
    tokens/s over the IT load (the MLPerf-derived figure at maximum power, as REFERENCE-DATA.md s6 does)."""
    out: dict[str, Any] = {
        f"peak_pflops_{p}": round(getattr(gpu, f"{p}_tflops") * gpus / 1e3, 3) for p in PRECISIONS
    }
    per_gpu = gpu.inference_tokens_per_s
    tokens = per_gpu * gpus if per_gpu is not None else None
    out["tokens_per_s"] = round(tokens, 1) if tokens is not None else None
    out["tokens_per_joule"] = round(tokens / it_w, 4) if tokens is not None and it_w > 0 else None
    out["sources"] = {
        k: v for k, v in sorted(gpu.sources.items()) if k in ("bf16_tflops", "inference_tokens_per_s")
    }
    return out
