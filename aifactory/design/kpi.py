"""Key figures: peak PFLOPS per precision and token throughput from sourced per-GPU catalogue figures."""

from __future__ import annotations

from typing import Any

from aifactory.catalog import Gpu

PRECISIONS = ("bf16", "fp16", "tf32", "fp8", "fp64")


def kpis(gpu: Gpu, gpus: int, it_w: float, node_max_w: float) -> dict[str, Any]:
    """Peak dense PFLOPS; tokens/s = GPUs x the catalogue's per-GPU inference figure; tokens per joule twice,
    each labelled: over the nodes' maximum power (`node_max_w`: nodes x catalogue maximum, as MLPerf-based
    figures are quoted, REFERENCE-DATA.md s6: DGX H100 2.40 at 10.2 kW) and over the whole IT load (nodes,
    NICs and optics, switches, management). `tokens_per_joule` is the IT-load figure, kept for schema 1."""
    out: dict[str, Any] = {
        f"peak_pflops_{p}": round(getattr(gpu, f"{p}_tflops") * gpus / 1e3, 3) for p in PRECISIONS
    }
    per_gpu = gpu.inference_tokens_per_s
    tokens = per_gpu * gpus if per_gpu is not None else None
    out["tokens_per_s"] = round(tokens, 1) if tokens is not None else None
    out["tokens_per_joule"] = round(tokens / it_w, 4) if tokens is not None and it_w > 0 else None
    out["tokens_per_joule_it_load"] = out["tokens_per_joule"]
    out["tokens_per_joule_node_max_power"] = (
        round(tokens / node_max_w, 4) if tokens is not None and node_max_w > 0 else None
    )
    out["sources"] = {
        k: v for k, v in sorted(gpu.sources.items()) if k in ("bf16_tflops", "inference_tokens_per_s")
    }
    return out
