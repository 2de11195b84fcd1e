"""Phase 1, compute: sustained GEMM throughput with steady-state detection, plus optional dtypes.

bf16 (fp32 on the CPU) n x n x n GEMMs into a preallocated output, on randn inputs (constant data draws less
power and flatters the figure), timed over batches of completed work with at most two batches in flight.
The loop runs at least `min_s` and stops at steady state or at `max_s`; cold throughput is the first
window, hot the last, and a drop between them is reported. Inside the loop, gpu-burn style, every batch's
result is compared on the device with the first one (same inputs, same kernel: the bits must not change), so
an intermittent fault under load and heat is caught where a short SDC phase would miss it.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from aifactory.burnin.phases.device import Device, run_batches
from aifactory.burnin.stats import is_steady, window

MAX_SERIES_POINTS = 240


def run(dev: Device, params: dict[str, Any], temperature: Any) -> dict[str, Any]:
    """`temperature()` returns the device's temperature in C or None (no NVML)."""
    torch = dev.torch
    if "oom" in dev.faults:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 128.00 GiB (injected fault)")
    if "hang" in dev.faults:
        while True:  # the parent kills this worker when the phase budget runs out
            time.sleep(3600)
    main_dtype = torch.bfloat16 if dev.is_cuda else torch.float32
    result = _sustained(dev, params, main_dtype, temperature)
    result["dtype"] = "bf16" if dev.is_cuda else "fp32"
    result["extra"] = {name: _short(dev, params, name) for name in params.get("extra_dtypes", [])}
    return result


def _inputs(dev: Device, n: int, dtype: Any, seed: int) -> tuple[Any, Any, Any]:
    torch = dev.torch
    gen = torch.Generator(device=dev.tdev).manual_seed(seed)
    a = torch.randn(n, n, device=dev.tdev, dtype=dtype, generator=gen)
    b = torch.randn(n, n, device=dev.tdev, dtype=dtype, generator=gen)
    return a, b, torch.empty(n, n, device=dev.tdev, dtype=dtype)


def _sustained(dev: Device, params: dict[str, Any], dtype: Any, temperature: Any) -> dict[str, Any]:
    torch = dev.torch
    n, batch = int(params["n"]), int(params["batch"])
    a, b, out = _inputs(dev, n, dtype, seed=1000 + dev.index)
    flops = 2.0 * n**3 * batch
    torch.matmul(a, b, out=out)  # warm-up: library selection and clocks ramping up
    torch.matmul(a, b, out=out)
    dev.sync()
    first = out.clone()
    differs = torch.empty(n, n, device=dev.tdev, dtype=torch.bool)
    mismatched = torch.zeros((), device=dev.tdev, dtype=torch.int64)
    compared = [0]
    # Injected fault: a slow device does seven wasted GEMMs for every one that counts.
    wasted = 7 if "slow" in dev.faults else 0

    def compare() -> None:
        """Queued behind the batch's last GEMM: no synchronisation, the count is read once at the end."""
        if "sdc" in dev.faults and compared[0] == 2:  # injected fault: one flipped bit in one result under load
            out.view(-1)[11:12].view(torch.int16 if out.element_size() == 2 else torch.int32).bitwise_xor_(1)
        torch.ne(out, first, out=differs)
        mismatched.add_(differs.any().to(torch.int64))
        compared[0] += 1

    def step() -> None:
        for _ in range(1 + wasted):
            torch.matmul(a, b, out=out)

    tput: list[tuple[float, float]] = []
    temps: list[tuple[float, float]] = []
    t0 = time.perf_counter()
    steady_at: list[float] = []

    def keep_going(series: list[tuple[float, float]]) -> bool:
        t, secs = series[-1]
        tput.append((t, flops / secs / 1e12))
        temp = temperature()
        if temp is not None:
            temps.append((time.perf_counter() - t0, float(temp)))
        elapsed = time.perf_counter() - t0
        if elapsed >= params["max_s"]:
            return False
        steady = is_steady(tput, temps, params["tput_window_s"], params["temp_window_s"], params["max_variation"])
        if steady and not steady_at:
            steady_at.append(elapsed)
        return not (steady and elapsed >= params["min_s"])

    run_batches(dev, step, batch, keep_going, on_batch=compare)
    loop = {"compared": compared[0], "mismatched_batches": int(mismatched.item())}
    if "nan" in dev.faults:  # injected fault: a NaN reaches the inputs of the final GEMM (timing untouched)
        a[0, 0] = float("nan")
        torch.matmul(a, b, out=out)
    finite = bool(torch.isfinite(out).all().item())
    return {**_summarise(tput, temps, steady_at, params, n, batch, finite), "compare": loop}


def _summarise(
    tput: list[tuple[float, float]],
    temps: list[tuple[float, float]],
    steady_at: list[float],
    params: dict[str, Any],
    n: int,
    batch: int,
    finite: bool,
) -> dict[str, Any]:
    win = float(params["tput_window_s"])
    cold_pts = [v for t, v in tput if t <= tput[0][0] + win] or [tput[0][1]]
    hot_pts = [v for _, v in window(tput, win)]
    cold, hot = statistics.median(cold_pts), statistics.median(hot_pts)
    step = max(1, len(tput) // MAX_SERIES_POINTS)
    return {
        "n": n,
        "batch": batch,
        "batches": len(tput),
        "duration_s": round(tput[-1][0], 3),
        "tflops_cold": cold,
        "tflops_hot": hot,
        "tflops_sustained": hot,
        "tflops_best_batch": max(v for _, v in tput),
        "drop_fraction": (cold - hot) / cold if cold > 0 else 0.0,
        "steady": bool(steady_at),
        "steady_after_s": round(steady_at[0], 3) if steady_at else None,
        "temperature_tracked": bool(temps),
        "finite": finite,
        "series": [[round(t, 3), v] for t, v in tput[::step]],
    }


def _short(dev: Device, params: dict[str, Any], name: str) -> dict[str, Any]:
    """A short fixed run of another dtype; fp8 uses scaled matmul on inputs scaled into its range."""
    torch = dev.torch
    n = int(params["n"])
    reps = 3 if dev.is_cuda else 2
    if name == "fp8":
        return _fp8(dev, n, reps)
    dtype = {"tf32": torch.float32, "fp32": torch.float32, "fp16": torch.float16}[name]
    if name == "fp16" and not dev.is_cuda:
        return {"status": "skipped", "reason": "fp16 GEMM is only measured on CUDA"}
    with _fp32_precision(torch, "tf32" if name == "tf32" else "ieee"):
        a, b, out = _inputs(dev, n, dtype, seed=2000 + dev.index)
        torch.matmul(a, b, out=out)
        secs = dev.timed(lambda: torch.matmul(a, b, out=out), reps)
    return {
        "status": "ok",
        "tflops": 2.0 * n**3 * reps / secs / 1e12,
        "finite": bool(torch.isfinite(out).all()),
    }


class _fp32_precision:
    """fp32 matmul precision for one measurement: torch >= 2.9's `fp32_precision` ("tf32" | "ieee") where it
    exists (the `allow_tf32` flag is deprecated there), the legacy flag otherwise; restored afterwards."""

    def __init__(self, torch: Any, mode: str) -> None:
        self.m, self.mode = torch.backends.cuda.matmul, mode
        self.modern = isinstance(getattr(self.m, "fp32_precision", None), str)
        self.saved: Any = None

    def __enter__(self) -> None:
        if self.modern:
            self.saved, self.m.fp32_precision = self.m.fp32_precision, self.mode
        else:
            self.saved, self.m.allow_tf32 = self.m.allow_tf32, self.mode == "tf32"

    def __exit__(self, *exc: object) -> None:
        if self.modern:
            self.m.fp32_precision = self.saved
        else:
            self.m.allow_tf32 = self.saved


def _fp8(dev: Device, n: int, reps: int) -> dict[str, Any]:
    torch = dev.torch
    if not dev.is_cuda or torch.cuda.get_device_capability(dev.index) < (8, 9):
        return {"status": "skipped", "reason": "fp8 needs CUDA compute capability 8.9 or newer"}
    fp8 = torch.float8_e4m3fn
    limit = torch.finfo(fp8).max
    a32, b32, _ = _inputs(dev, n, torch.float32, seed=3000 + dev.index)
    # Scale each input so its largest magnitude maps onto fp8's range: unscaled data saturates and
    # would inflate the figure with meaningless work.
    sa, sb = a32.abs().max() / limit, b32.abs().max() / limit
    a = (a32 / sa).to(fp8)
    b = (b32 / sb).to(fp8).t().contiguous().t()  # scaled_mm wants the second operand column-major
    scale_a, scale_b = sa.float().reshape(()), sb.float().reshape(())

    def mm() -> Any:
        return torch._scaled_mm(a, b, scale_a=scale_a, scale_b=scale_b, out_dtype=torch.bfloat16)

    result = mm()
    secs = dev.timed(mm, reps)
    return {"status": "ok", "tflops": 2.0 * n**3 * reps / secs / 1e12, "finite": bool(torch.isfinite(result).all())}
