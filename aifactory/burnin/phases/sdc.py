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
# Allowed |error| per element against the fp64 product of the very same (already rounded) inputs. Two terms:
# rounding the fp32 accumulator to the output dtype (at most one ulp of the result: 2^-7 |ref| for bf16's 8
# significant bits, 2^-23 |ref| for fp32), and the fp32 accumulation itself, a few fp32 ulps of the magnitude
# sum |A| @ |B| (2^-14 x scale covers n = 8192 with a wide margin; the classic bound n x 2^-24 is a worst case
# that real blocked GEMMs never approach). Bf16 reduced-precision reductions are switched off for this phase,
# so the accumulation really is fp32. A sign flip of any element bigger than ~2^-13 x scale is caught.
TOLERANCE = {"bf16": (2.0**-7, 2.0**-14), "fp32": (2.0**-22, 2.0**-18)}  # (x |ref|, x |A| @ |B|)


class _DeterministicGemm:
    """Deterministic algorithms and full-precision bf16 reductions for the phase, the previous settings
    restored afterwards: left on, deterministic mode makes every later `torch.empty` fill its memory (NaN,
    INT64_MAX, 0xFF) and slows the phases that follow."""

    def __init__(self, torch: Any, enabled: bool = True) -> None:
        self.torch, self.enabled = torch, enabled
        self.saved: tuple[Any, ...] = ()

    def __enter__(self) -> None:
        if not self.enabled:  # CPU GEMMs are deterministic as they are (and the switch imports torch._dynamo)
            return
        t = self.torch
        self.saved = (
            t.are_deterministic_algorithms_enabled(),
            t.is_deterministic_algorithms_warn_only_enabled(),
            t.backends.cuda.matmul.allow_bf16_reduced_precision_reduction,
        )
        t.use_deterministic_algorithms(True, warn_only=True)
        t.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False

    def __exit__(self, *exc: object) -> None:
        if not self.enabled:
            return
        t = self.torch
        t.use_deterministic_algorithms(self.saved[0], warn_only=self.saved[1])
        t.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = self.saved[2]


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
    with _DeterministicGemm(torch, enabled=dev.is_cuda):
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
        fp64 = _fp64_check(dev, a, b, out, int(params["fp64_rows"]), TOLERANCE[name])
    majority = Counter(hashes).most_common(1)[0][0]
    return {
        "dtype": name,
        "n": n,
        "repeats": repeats,
        "first_hash": hashes[0],
        "hash": majority,
        "self_mismatches": sum(h != hashes[0] for h in hashes),
        "fp64": fp64,
    }


def _flip_bit(dev: Device, out: Any) -> None:
    """The injected fault: one low mantissa bit of one element, the kind of error nothing else notices."""
    torch = dev.torch
    ints = out.view(torch.int16 if out.element_size() == 2 else torch.int32)
    ints.view(-1)[7] ^= 1


def _fp64_check(dev: Device, a: Any, b: Any, out: Any, rows: int, tol: tuple[float, float]) -> dict[str, Any]:
    torch = dev.torch
    n = a.shape[0]
    idx = torch.linspace(0, n - 1, steps=min(rows, n)).long().to(dev.tdev)
    a64, b64 = a[idx].double(), b.double()
    ref = a64 @ b64
    scale = a64.abs() @ b64.abs()
    err = (out[idx].double() - ref).abs()
    bound = tol[0] * ref.abs() + tol[1] * scale
    bad = ~(err <= bound)  # NaN compares false: a non-finite output is a bad element too
    return {
        "rows": int(idx.numel()),
        "bad_elements": int(bad.sum().item()),
        "worst_rel_error": float((err / (scale + 1e-30)).nan_to_num(float("inf")).max().item()),
        "worst_error_to_bound": float((err / (bound + 1e-30)).nan_to_num(float("inf")).max().item()),
        "tolerance": {"of_result": tol[0], "of_scale": tol[1]},
    }
