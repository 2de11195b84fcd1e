"""Multi-node pair tests: pairwise all_reduce between nodes, re-pairing suspects with known-good nodes.

One rank per node (Slurm `srun --ntasks-per-node=1`, or one pod per node). Rendezvous through the usual
torch.distributed environment: MASTER_ADDR, MASTER_PORT, and RANK / WORLD_SIZE (or SLURM_PROCID /
SLURM_NTASKS). NCCL on CUDA, gloo on the CPU, so the pairing logic runs for real with local processes.
"""

from __future__ import annotations

import os
import socket
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aifactory.burnin import REPORT_SCHEMA_VERSION, BurninInputError, inject
from aifactory.io import atomic_write_tree, dumps_json

Pair = tuple[int, int]
SLOW_PAIR = 0.85  # a pair below 0.85 x the median pair busbw is suspect (the floors' fail fraction)
DEFAULTS = {"cuda": (1 << 30, 20), "cpu": (1 << 16, 5)}  # bytes, timed iterations


def first_round(world: int) -> list[Pair]:
    """Neighbours paired: (0,1), (2,3), ...; an odd last rank pairs with rank 0 in a round of its own."""
    return [(i, i + 1) for i in range(0, world - 1, 2)]


def leftover(world: int) -> list[Pair]:
    return [(world - 1, 0)] if world % 2 and world > 1 else []


def suspects(results: dict[Pair, dict[str, Any]], floor: float | None) -> set[Pair]:
    """Pairs that failed: wrong sums, below the absolute floor, or below 0.85 x the median pair."""
    bw = [r["busbw_gbps"] for r in results.values()]
    # With two pairs there is no median to speak of; the faster pair is the yardstick.
    med = statistics.median(bw) if len(bw) >= 3 else max(bw) if len(bw) == 2 else None
    out = set()
    for pair, r in results.items():
        too_slow = (floor is not None and r["busbw_gbps"] < floor) or (med and r["busbw_gbps"] < SLOW_PAIR * med)
        if not r["exact"] or too_slow:
            out.add(pair)
    return out


def repair_rounds(bad_pairs: set[Pair], good_nodes: list[int]) -> list[list[Pair]]:
    """Each node of a suspect pair meets a known-good node; rounds hold disjoint pairs only."""
    rounds: list[list[Pair]] = []
    if not good_nodes:
        return rounds
    queue = sorted({n for p in bad_pairs for n in p})
    k = 0
    while queue:
        used: set[int] = set()
        this: list[Pair] = []
        rest = []
        for node in queue:
            partner = good_nodes[k % len(good_nodes)]
            if node in used or partner in used:
                rest.append(node)
                continue
            this.append((node, partner))
            used |= {node, partner}
            k += 1
        rounds.append(this)
        queue = rest
    return rounds


def classify(all_results: dict[Pair, dict[str, Any]], bad: set[Pair]) -> dict[str, list[int]]:
    """A node is bad when every pair it was in failed and one of those partners passed elsewhere."""
    nodes = sorted({n for p in all_results for n in p})
    passed = {n for p in all_results if p not in bad for n in p}
    bad_nodes: list[int] = []
    unresolved: list[int] = []
    for n in nodes:
        mine = [p for p in all_results if n in p]
        if mine and all(p in bad for p in mine):
            partners = {x for p in mine for x in p if x != n}
            (bad_nodes if partners & passed else unresolved).append(n)
    return {"bad_nodes": bad_nodes, "unresolved": [n for n in unresolved if n not in bad_nodes]}


def stragglers(times: list[float]) -> list[int]:
    """Ranks slower than median + 3 MAD (MAD floored at 1 % of the median, so identical peers stay quiet)."""
    if len(times) < 3:
        return []
    med = statistics.median(times)
    mad = max(statistics.median(abs(t - med) for t in times), 0.01 * med)
    return [i for i, t in enumerate(times) if t > med + 3 * mad]


def _env_int(*names: str) -> int | None:
    for n in names:
        if os.environ.get(n, "").isdigit():
            return int(os.environ[n])
    return None


class PairTest:
    """The distributed part; every rank runs the same code and takes the same decisions."""

    def __init__(self, device_type: str, size: int | None, iters: int | None) -> None:
        import torch
        import torch.distributed as dist

        rank, world = _env_int("RANK", "SLURM_PROCID"), _env_int("WORLD_SIZE", "SLURM_NTASKS")
        if rank is None or world is None or not os.environ.get("MASTER_ADDR"):
            raise BurninInputError(
                "no rendezvous: RANK/WORLD_SIZE (or SLURM_PROCID/SLURM_NTASKS) and MASTER_ADDR must be set",
                hint="run one rank per node under srun or a Kubernetes Indexed Job (see docs/burnin.md)",
            )
        os.environ.setdefault("MASTER_PORT", "29511")
        os.environ["RANK"], os.environ["WORLD_SIZE"] = str(rank), str(world)
        cuda = device_type == "cuda" or (device_type == "auto" and torch.cuda.is_available())
        self.kind = "cuda" if cuda else "cpu"
        self.torch, self.dist, self.rank, self.world = torch, dist, rank, world
        self.size, self.iters = size or DEFAULTS[self.kind][0], iters or DEFAULTS[self.kind][1]
        self.slow = "slow" in inject.for_worker(inject.from_environment(), rank)
        self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if cuda else torch.device("cpu")
        dist.init_process_group("nccl" if cuda else "gloo", init_method="env://", timeout=timedelta(seconds=120))

    def local_time(self) -> float:
        """Seconds for a fixed local GEMM workload: in a collective everyone waits for the slowest rank,
        so stragglers are found by what each rank does alone. CPU ranks count their own thread's CPU time,
        so ranks sharing a host's cores stay comparable."""
        torch = self.torch
        n, dtype = (8192, torch.bfloat16) if self.kind == "cuda" else (256, torch.float32)
        clock = time.perf_counter if self.kind == "cuda" else time.thread_time
        if self.kind == "cpu":
            torch.set_num_threads(1)
        a = torch.randn(n, n, device=self.device, dtype=dtype)
        torch.matmul(a, a)
        self._sync()
        start = clock()
        for _ in range(40 if self.slow else 10):  # injected fault: a slow rank does four times the work
            torch.matmul(a, a)
        self._sync()
        return clock() - start

    def measure(self, group: Any, members: Pair) -> dict[str, Any]:
        x = self.torch.full((self.size // 4,), float(self.rank + 1), device=self.device)
        self.dist.all_reduce(x, group=group)  # warm-up
        self._sync()
        start = time.perf_counter()
        for _ in range(self.iters):
            x.fill_(float(self.rank + 1))
            self.dist.all_reduce(x, group=group)
            if self.slow:  # injected fault: this node's side of the link crawls
                time.sleep(0.05)
        self._sync()
        secs = (time.perf_counter() - start) / self.iters
        exact = bool((x == float(sum(m + 1 for m in members))).all().item())
        return {
            "time_s": secs,
            "busbw_gbps": self.size / secs / 1e9,
            "exact": exact,
        }  # 2 ranks: busbw = algbw

    def _sync(self) -> None:
        if self.kind == "cuda":
            self.torch.cuda.synchronize()

    def run_round(self, pairs: list[Pair]) -> dict[Pair, dict[str, Any]]:
        groups = [self.dist.new_group(list(p)) for p in pairs]  # every rank creates every group, in order
        mine: tuple[Pair, dict[str, Any]] | None = None
        for p, g in zip(pairs, groups, strict=True):
            if self.rank in p:
                mine = (p, self.measure(g, p))
        gathered: list[Any] = [None] * self.world
        self.dist.all_gather_object(gathered, mine)
        out: dict[Pair, dict[str, Any]] = {}
        for item in gathered:
            if item is not None:
                p, r = tuple(item[0]), item[1]
                prev = out.get(p)  # both ends report: keep the slower view and any wrong sum
                out[p] = r if prev is None or r["time_s"] > prev["time_s"] else prev
                out[p]["exact"] = r["exact"] and (prev or r)["exact"]
        return out

    def run(self, floor: float | None) -> dict[str, Any]:
        hosts: list[Any] = [None] * self.world
        self.dist.all_gather_object(hosts, socket.gethostname())
        rounds = [r for r in (first_round(self.world), leftover(self.world)) if r]
        results: dict[Pair, dict[str, Any]] = {}
        for pairs in rounds:
            results.update(self.run_round(pairs))
        bad = suspects(results, floor)
        good = sorted({n for p in results if p not in bad for n in p})
        for pairs in repair_rounds(bad, good):
            more = self.run_round(pairs)
            bad |= suspects({**results, **more}, floor) & set(more)
            results.update(more)
            rounds.append(pairs)
        times: list[Any] = [None] * self.world
        self.dist.all_gather_object(times, self.local_time())
        verdict = classify(results, bad)
        slow_ranks = stragglers(times)
        self.dist.destroy_process_group()
        return {
            "kind": "aifactory.burnin.pairs",
            "schema_version": REPORT_SCHEMA_VERSION,
            "device_type": self.kind,
            "world_size": self.world,
            "bytes": self.size,
            "hosts": hosts,
            "rounds": [
                [{"pair": list(p), "hosts": [hosts[p[0]], hosts[p[1]]], **results[p]} for p in r] for r in rounds
            ],
            "suspect_pairs": sorted(list(p) for p in bad),
            "bad_nodes": [{"rank": n, "host": hosts[n]} for n in verdict["bad_nodes"]],
            "unresolved_nodes": [{"rank": n, "host": hosts[n]} for n in verdict["unresolved"]],
            "stragglers": [{"rank": n, "host": hosts[n]} for n in slow_ranks],
            "local_gemm_time_s": times,
            "verdict": "FAIL" if bad or slow_ranks else "PASS",
        }


def cmd_pairs(
    device_type: str,
    size: int | None,
    iters: int | None,
    out: str | None,
    fmt: str,
    echo: Callable[[str], Any],
    floor: float | None = None,
) -> int:
    test = PairTest(device_type, size, iters)
    result = test.run(floor)
    if test.rank == 0:
        if out:
            atomic_write_tree(out, {"burnin-pairs.json": dumps_json(result)})
        echo(dumps_json(result).rstrip("\n") if fmt == "json" else _text(result))
    return 1 if result["verdict"] == "FAIL" else 0


def _text(r: dict[str, Any]) -> str:
    lines = [f"Pair test over {r['world_size']} node(s): {r['verdict']}"]
    for i, rnd in enumerate(r["rounds"], 1):
        for p in rnd:
            lines.append(
                f"  round {i}: {p['hosts'][0]} <-> {p['hosts'][1]}: {p['busbw_gbps']:.4g} GB/s"
                f"{'' if p['exact'] else ' WRONG SUMS'}"
            )
    for key in ("bad_nodes", "unresolved_nodes", "stragglers"):
        if r[key]:
            names = ", ".join(f"rank {x['rank']} ({x['host']})" for x in r[key])
            lines.append(f"  {key.replace('_', ' ')}: {names}")
    return "\n".join(lines)
