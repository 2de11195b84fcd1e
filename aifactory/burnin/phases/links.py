"""Phases 4 and 5a: PCIe host<->device bandwidth and the GPU-to-GPU copy matrix (CUDA only).

PCIe uses pinned host buffers; H2D and D2H alone, then both at once on two streams; median of the reps.
The link's current generation and width are read while a transfer is in flight (idle links downshift).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from aifactory.burnin.phases.device import Device


def pcie(dev: Device, params: dict[str, Any], link_state: Any) -> dict[str, Any]:
    """`link_state()` returns {"gen": ..., "width": ..., "max_gen": ..., "max_width": ...} or None."""
    torch = dev.torch
    size = int(params["bytes"])
    reps = int(params["reps"])
    host_in = torch.empty(size, dtype=torch.uint8, pin_memory=True)
    host_out = torch.empty(size, dtype=torch.uint8, pin_memory=True)
    gpu_a = torch.empty(size, dtype=torch.uint8, device=dev.tdev)
    gpu_b = torch.empty(size, dtype=torch.uint8, device=dev.tdev)
    h2d = [dev.timed(lambda: gpu_a.copy_(host_in, non_blocking=True)) for _ in range(reps)]
    d2h = [dev.timed(lambda: host_out.copy_(gpu_b, non_blocking=True)) for _ in range(reps)]
    s1, s2 = torch.cuda.Stream(), torch.cuda.Stream()
    bidir, link = [], None
    for _ in range(reps):
        torch.cuda.synchronize(dev.index)
        start = time.perf_counter()
        with torch.cuda.stream(s1):
            gpu_a.copy_(host_in, non_blocking=True)
        with torch.cuda.stream(s2):
            host_out.copy_(gpu_b, non_blocking=True)
        link = link or link_state()  # read while both directions are busy
        torch.cuda.synchronize(dev.index)
        bidir.append(time.perf_counter() - start)
    return {
        "bytes": size,
        "h2d_gbps": size / statistics.median(h2d) / 1e9,
        "d2h_gbps": size / statistics.median(d2h) / 1e9,
        "bidir_gbps_per_direction": size / statistics.median(bidir) / 1e9,
        "link": link,
    }


def p2p(dev: Device, params: dict[str, Any]) -> dict[str, Any]:
    """Copies from this GPU to each other GPU of the run (`peers`, the `--devices` the parent chose, never
    every visible one): one way, GB/s, median of the reps, each timed with CUDA events on this device's
    stream around `copies` back-to-back copies (wall clock would add launch and synchronisation time)."""
    torch = dev.torch
    size, reps = int(params["bytes"]), int(params["reps"])
    copies = int(params.get("copies", 4))
    peers = [int(p) for p in params.get("peers", range(torch.cuda.device_count())) if int(p) != dev.index]
    src = torch.empty(size, dtype=torch.uint8, device=dev.tdev)
    row: dict[str, Any] = {}
    for peer in peers:
        dst = torch.empty(size, dtype=torch.uint8, device=torch.device("cuda", peer))
        dst.copy_(src)
        torch.cuda.synchronize(peer)
        times = [dev.timed(_copier(dst, src), copies) / copies for _ in range(reps)]
        torch.cuda.synchronize(peer)
        row[str(peer)] = {
            "gbps": size / statistics.median(times) / 1e9,
            "peer_access": bool(torch.cuda.can_device_access_peer(dev.index, peer)),
        }
    return {"bytes": size, "copies_per_sample": copies, "to": row}


def _copier(dst: Any, src: Any) -> Any:
    return lambda: dst.copy_(src, non_blocking=True)
