"""Phase 2, silent data corruption: bit-exact repeat of a fixed-seed GEMM, plus an fp64 spot check.

Each worker hashes every result; the parent compares the hashes with the worker's own first result and
with its peers of the same model and software stack (a majority vote names the odd one out). A sample of
rows is recomputed in fp64 and must agree within the rounding of the compute dtype.
"""

from __future__ import annotations

import ctypes
import hashlib
from collections import Counter
from typing import Any

from aifactory.burnin.phases.device import Device

SEED = 20240611
# Allowed |error| per element, relative to (|A| @ |B|): a few units in the last place of the output dtype.
TOLERANCE = {"bf16": 2.0**-6, "fp32": 2.0**-18}


def digest(dev: Device, tensor: Any) -> str:
    """SHA-256 of the tensor's raw bytes."""
    host = tensor.detach().cpu().contiguous()
    # Read the bytes straight from the tensor's memory: no numpy needed, and no per-element Python loop.
    raw = ctypes.string_at(host.data_ptr(), host.numel() * host.element_size())
    return hashlib.sha256(raw).hexdigest()


def run(dev: Device, params: dict[str, Any]) -> dict[str, Any]:
    torch = dev.torch
    n, repeats = int(params["n"]), int(params["repeats"])
    name = "bf16" if dev.is_cuda else "fp32"
    dtype = torch.bfloat16 if dev.is_cuda else torch.float32
    if dev.is_cuda:
        torch.use_deterministic_algorithms(True, warn_only=True)
    # Inputs come from a CPU generator so every device starts from identical bits.
    gen = torch.Generator().manual_seed(SEED)
    a = torch.randn(n, n, generator=gen).to(dtype).to(dev.tdev)
    b = torch.randn(n, n, generator=gen).to(dtype).to(dev.tdev)
    out = torch.empty(n, n, dtype=dtype, device=dev.tdev)
    hashes = []
    for rep in range(repeats):
        torch.matmul(a, b, out=out)
        if "sdc" in dev.faults and rep >= 1:
            _flip_bit(dev, out)
        hashes.append(digest(dev, out))
    majority = Counter(hashes).most_common(1)[0][0]
    return {
        "dtype": name,
        "n": n,
        "repeats": repeats,
        "first_hash": hashes[0],
        "hash": majority,
        "self_mismatches": sum(h != hashes[0] for h in hashes),
        "fp64": _fp64_check(dev, a, b, out, int(params["fp64_rows"]), TOLERANCE[name]),
    }


def _flip_bit(dev: Device, out: Any) -> None:
    """The injected fault: one low mantissa bit of one element, the kind of error nothing else notices."""
    torch = dev.torch
    ints = out.view(torch.int16 if out.element_size() == 2 else torch.int32)
    ints.view(-1)[7] ^= 1


def _fp64_check(dev: Device, a: Any, b: Any, out: Any, rows: int, tol: float) -> dict[str, Any]:
    torch = dev.torch
    n = a.shape[0]
    idx = torch.linspace(0, n - 1, steps=min(rows, n)).long().to(dev.tdev)
    a64, b64 = a[idx].double(), b.double()
    ref = a64 @ b64
    scale = a64.abs() @ b64.abs()
    err = (out[idx].double() - ref).abs()
    bad = err > tol * scale + 1e-30
    worst = float((err / (scale + 1e-30)).max().item())
    nonfinite = int((~torch.isfinite(out[idx])).sum().item())
    return {
        "rows": int(idx.numel()),
        "bad_elements": int(bad.sum().item()) + nonfinite,
        "worst_rel_error": worst,
    }
