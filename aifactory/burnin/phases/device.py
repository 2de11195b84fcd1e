"""What a phase needs from its device: tensors in the right place, and timing of completed work.

On CUDA, work is timed with CUDA events (completed work, never queued work); on the CPU with the calling
thread's CPU time around synchronous calls (each CPU worker computes on one thread), so workers sharing
cores with each other or with other jobs still report comparable figures. Both expose the same small
interface so every phase runs unchanged on either.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

InjectedFaults = tuple[str, ...]


class DeviceMissing(RuntimeError):
    """The worker's device does not exist or cannot be opened."""


@dataclass
class Device:
    """One worker's device. `index` is the CUDA ordinal (or the CPU worker number)."""

    kind: str  # "cuda" or "cpu"
    index: int
    faults: InjectedFaults = ()
    torch: Any = field(default=None, repr=False)

    @property
    def is_cuda(self) -> bool:
        return self.kind == "cuda"

    @property
    def tdev(self) -> Any:
        return self.torch.device("cuda", self.index) if self.is_cuda else self.torch.device("cpu")

    def sync(self) -> None:
        if self.is_cuda:
            self.torch.cuda.synchronize(self.index)

    def stamp(self) -> Any:
        """A recorded point in the device's work stream."""
        if self.is_cuda:
            ev = self.torch.cuda.Event(enable_timing=True)
            ev.record()
            return ev
        return time.thread_time()

    def wait(self, mark: Any) -> None:
        if self.is_cuda:
            mark.synchronize()

    def seconds(self, start: Any, end: Any) -> float:
        """Seconds between two completed stamps."""
        if self.is_cuda:
            return float(start.elapsed_time(end)) / 1000.0
        return float(end - start)

    def timed(self, fn: Callable[[], Any], reps: int = 1) -> float:
        """Seconds for `reps` calls of `fn`, measured on the device."""
        start = self.stamp()
        for _ in range(reps):
            fn()
        end = self.stamp()
        self.wait(end)
        return self.seconds(start, end)


def open_device(kind: str, index: int, faults: InjectedFaults) -> Device:
    """Bind this process to its device; raise DeviceMissing when it is not there."""
    import torch

    if "missing" in faults:
        raise DeviceMissing(f"{kind}:{index} cannot be opened (injected fault)")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise DeviceMissing("CUDA is not available in this worker")
        if index >= torch.cuda.device_count():
            raise DeviceMissing(f"cuda:{index} does not exist ({torch.cuda.device_count()} devices visible)")
        torch.cuda.set_device(index)
    else:
        # One thread per CPU worker: the workers share the cores the way GPUs share nothing.
        torch.set_num_threads(1)
    return Device(kind, index, faults, torch)


def run_batches(
    dev: Device,
    step: Callable[[], Any],
    batch: int,
    keep_going: Callable[[list[tuple[float, float]]], bool],
    on_batch: Callable[[], None] | None = None,
) -> list[tuple[float, float]]:
    """Run `step` in batches of `batch` calls with at most two batches in flight; returns, per completed
    batch, (seconds since the start at completion, batch seconds); `keep_going(series)` says when to stop."""
    t0 = time.perf_counter()
    pending: deque[tuple[Any, Any]] = deque()
    series: list[tuple[float, float]] = []
    while True:
        start = dev.stamp()
        for _ in range(batch):
            step()
        pending.append((start, dev.stamp()))
        if on_batch is not None:
            on_batch()
        if len(pending) < 2 and dev.is_cuda:
            continue
        s, e = pending.popleft()
        dev.wait(e)
        series.append((time.perf_counter() - t0, dev.seconds(s, e)))
        if not keep_going(series):
            break
    for _, e in pending:  # drain: never leave work queued behind the phase's back
        dev.wait(e)
    return series
