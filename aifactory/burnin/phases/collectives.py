"""Phase 5b, collectives: all_reduce and all_gather over a size sweep, integer-valued so sums are exact.

NCCL on CUDA, gloo on the CPU (which exercises the same code for real with local processes). Bus
bandwidth follows nccl-tests: all_reduce busbw = algbw x 2(n-1)/n, all_gather busbw = algbw x (n-1)/n,
where algbw = bytes / time and all_gather's bytes are its whole output.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from typing import Any

from aifactory.burnin.phases.device import Device

_MEMBERS: list[tuple[int, ...]] = [()]  # the membership of the group this worker is in, if any


def join_group(dev: Device, rank: int, members: list[int], address: str | None, timeout_s: float) -> None:
    """Be in a process group of exactly `members` (slots of the live workers). The parent sends a fresh
    `address` whenever the membership changed (a worker died): the old group is left and a new one formed,
    so the survivors still measure."""
    import torch.distributed as dist

    wanted = tuple(members)
    if dist.is_initialized() and _MEMBERS[0] == wanted:
        return
    if address is None:
        raise RuntimeError(f"no process group of {wanted} to join and no address to form one")
    leave_group()
    dist.init_process_group(
        backend="nccl" if dev.is_cuda else "gloo",
        init_method=address,
        rank=rank,
        world_size=len(wanted),
        timeout=timedelta(seconds=max(timeout_s, 10.0)),
        **({"device_id": dev.tdev} if dev.is_cuda else {}),
    )
    _MEMBERS[0] = wanted


def leave_group() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
    _MEMBERS[0] = ()


def sizes(min_bytes: int, max_bytes: int) -> list[int]:
    """Powers of four from min to max, always ending on max (the plateau the gate reads)."""
    out, s = [], int(min_bytes)
    while s < max_bytes:
        out.append(s)
        s *= 4
    out.append(int(max_bytes))
    return out


def run(dev: Device, params: dict[str, Any]) -> dict[str, Any]:
    import torch.distributed as dist

    world = dist.get_world_size()
    results: dict[str, list[dict[str, Any]]] = {"all_reduce": [], "all_gather": []}
    for size in sizes(int(params["min_bytes"]), int(params["max_bytes"])):
        results["all_reduce"].append(_all_reduce(dev, size, world, params))
        results["all_gather"].append(_all_gather(dev, size, world, params))
    return {
        "world_size": world,
        "backend": dist.get_backend(),
        "sweep": results,
        "plateau": {op: rows[-1] for op, rows in results.items()},
        "exact": all(r["exact"] for rows in results.values() for r in rows),
    }


def _timed_collective(dev: Device, fn: Any, warmup: int, iters: int) -> float:
    import torch.distributed as dist

    for _ in range(warmup):
        fn()
    dev.sync()
    dist.barrier()
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    dev.sync()
    return (time.perf_counter() - start) / iters


def _all_reduce(dev: Device, size: int, world: int, params: dict[str, Any]) -> dict[str, Any]:
    import torch.distributed as dist

    torch = dev.torch
    rank = dist.get_rank()
    x = torch.full((size // 4,), float(rank + 1), device=dev.tdev)
    secs = _timed_collective(dev, lambda: dist.all_reduce(x), int(params["warmup"]), int(params["iters"]))
    x.fill_(float(rank + 1))
    dist.all_reduce(x)
    expected = float(world * (world + 1) // 2)  # small integers: exact in fp32 whatever the order
    algbw = size / secs / 1e9
    return {
        "bytes": size,
        "time_s": secs,
        "algbw_gbps": algbw,
        "busbw_gbps": algbw * 2 * (world - 1) / world,
        "exact": bool((x == expected).all().item()),
    }


def _all_gather(dev: Device, size: int, world: int, params: dict[str, Any]) -> dict[str, Any]:
    import torch.distributed as dist

    torch = dev.torch
    rank = dist.get_rank()
    per_rank = max(1, size // 4 // world)
    x = torch.full((per_rank,), float(rank + 1), device=dev.tdev)
    out = torch.empty(per_rank * world, device=dev.tdev)
    # Newer torch renamed the single-tensor all_gather; take whichever this version has.
    gather = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor
    secs = _timed_collective(dev, lambda: gather(out, x), int(params["warmup"]), int(params["iters"]))
    expected = torch.arange(1, world + 1, device=dev.tdev, dtype=out.dtype).repeat_interleave(per_rank)
    total = per_rank * world * 4
    algbw = total / secs / 1e9
    return {
        "bytes": total,
        "time_s": secs,
        "algbw_gbps": algbw,
        "busbw_gbps": algbw * (world - 1) / world,
        "exact": bool(torch.equal(out, expected)),
    }


def stress(dev: Device, params: dict[str, Any]) -> dict[str, Any]:
    """Whole-node stress: GEMMs, all_reduce and host-to-device copies together on every worker, to
    expose power-brake and thermal events that one load at a time never triggers."""
    import torch.distributed as dist

    torch = dev.torch
    n = int(params["n"])
    dtype = torch.bfloat16 if dev.is_cuda else torch.float32
    a = torch.randn(n, n, device=dev.tdev, dtype=dtype)
    b = torch.randn(n, n, device=dev.tdev, dtype=dtype)
    out = torch.empty(n, n, device=dev.tdev, dtype=dtype)
    world = dist.get_world_size() if dist.is_initialized() else 1
    comm = torch.ones(max(1, int(params["comm_bytes"]) // 4), device=dev.tdev)
    h2d = _h2d_pair(dev, int(params["h2d_bytes"]))
    # The copy runs on its own stream so it overlaps the GEMMs (on the default stream it would queue ahead of
    # them and the node would never see compute, communication and PCIe load at once).
    copy_stream = torch.cuda.Stream(device=dev.tdev) if h2d is not None else None
    gemm_s, gemms, rounds, exact, copies = [], 0, 0, True, 0
    copied: Any = None
    deadline = time.perf_counter() + float(params["seconds"])
    stop = torch.zeros(1, device=dev.tdev)
    while True:
        comm.fill_(1.0)
        work = dist.all_reduce(comm, async_op=True) if world > 1 else None
        if h2d is not None and copy_stream is not None and (copied is None or copied.query()):
            # A new copy only once the last one finished: the copy engine stays busy, the queue never grows.
            with torch.cuda.stream(copy_stream):
                h2d[1].copy_(h2d[0], non_blocking=True)
                copied = torch.cuda.Event()
                copied.record(copy_stream)
            copies += 1
        gemm_s.append(dev.timed(lambda: torch.matmul(a, b, out=out), 4))
        gemms += 4
        if work is not None:
            work.wait()
            exact = exact and bool((comm == float(world)).all().item())
        rounds += 1
        # Every rank must issue the same collectives: all of them stop once any one is past its deadline.
        stop.fill_(1.0 if time.perf_counter() >= deadline else 0.0)
        if world > 1:
            dist.all_reduce(stop, op=dist.ReduceOp.MAX)
        if stop.item() > 0:
            break
    dev.sync()
    tflops = [2.0 * n**3 * 4 / s / 1e12 for s in gemm_s]
    return {
        "seconds": float(params["seconds"]),
        "rounds": rounds,
        "gemms": gemms,
        "h2d_copies": copies,
        "world_size": world,
        "tflops_median": statistics.median(tflops),
        "collectives_exact": exact,
        "finite": bool(torch.isfinite(out).all().item()),
    }


def _h2d_pair(dev: Device, size: int) -> tuple[Any, Any] | None:
    if not dev.is_cuda or size <= 0:
        return None
    torch = dev.torch
    return (
        torch.empty(size, dtype=torch.uint8, pin_memory=True),
        torch.empty(size, dtype=torch.uint8, device=dev.tdev),
    )
