"""Per-phase checks: one GPU's raw outcome in, reasons out. Reason codes are listed in docs/burnin.md.

A reason is a plain dict: code, severity (fail | warn | info), phase, message, and where it applies the
measured value and the limit it was held against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aifactory.burnin.catalog import SPEC_TO_ACHIEVED_BF16, SPEC_TO_ACHIEVED_HBM, GpuReference, derived_reference
from aifactory.burnin.profiles import PLATEAU_BYTES
from aifactory.burnin.telemetry import BAD_THROTTLE_MASK, THROTTLE_BITS
from aifactory.burnin.thresholds import (
    DEFAULT_BF16_TFLOPS_MIN,
    DEFAULT_P2P_GBPS,
    DEFAULT_PCIE_GBPS,
    Thresholds,
)

Reason = dict[str, Any]
THERMAL_DROP_LIMIT = 0.05  # shared/BURNIN.md: flag a cold-to-hot throughput drop above 5 %
# The bf16 reference figures are cold sweep bests; the compute phase reports the hot, sustained figure, which
# the method accepts up to THERMAL_DROP_LIMIT lower. The floors hold sustained against reference x this.
HOT_ALLOWANCE = 1.0 - THERMAL_DROP_LIMIT
STEADY_EXPECTED_S = 120.0  # compute phases at least this long are expected to reach steady state


def reason(code: str, severity: str, phase: str, message: str, value: Any = None, limit: Any = None) -> Reason:
    out: Reason = {"code": code, "severity": severity, "phase": phase, "message": message}
    if value is not None:
        out["value"] = value
    if limit is not None:
        out["limit"] = limit
    return out


@dataclass(frozen=True)
class Context:
    """What the checks judge against."""

    thresholds: Thresholds
    reference: GpuReference | None
    device_type: str
    world: int

    def floor_check(
        self, phase: str, metric: str, value: float, reference: float | None, minimum: float | None, unit: str
    ) -> list[Reason]:
        """FAIL below fail_below x reference or below an absolute minimum; WARN below warn_below x reference.
        An absolute minimum (the method's starting floors, the blueprint's limits) is a fail line only: it
        implies no warn band, so a healthy part a little above a floor is not flagged."""
        t = self.thresholds
        fail_at = [x for x in ((reference or 0) * t.fail_below, minimum or 0) if x]
        if not fail_at:
            return []
        if value < max(fail_at):
            return [
                reason(
                    "BELOW_FLOOR",
                    "fail",
                    phase,
                    f"{metric} {value:.4g} {unit} is below the floor {max(fail_at):.4g} {unit}",
                    round(value, 4),
                    round(max(fail_at), 4),
                )
            ]
        warn_at = (reference or 0) * t.warn_below
        if value < warn_at:
            return [
                reason(
                    "BELOW_WARN_FLOOR",
                    "warn",
                    phase,
                    f"{metric} {value:.4g} {unit} is below the warn level {warn_at:.4g} {unit}",
                    round(value, 4),
                    round(warn_at, 4),
                )
            ]
        return []

    def bf16_reference(self) -> float | None:
        ref = derived_reference(self.reference, "achieved_bf16_tflops", "bf16_tflops", SPEC_TO_ACHIEVED_BF16)
        return ref * HOT_ALLOWANCE if ref else None

    def hbm_reference(self) -> float | None:
        return derived_reference(self.reference, "achieved_hbm_tbps", "hbm_tbps", SPEC_TO_ACHIEVED_HBM)

    def figure(self, key: str) -> float | None:
        return self.reference.figure(key) if self.reference else None

    @property
    def gpu_id(self) -> str:
        return self.reference.gpu_id if self.reference else ""


def outcome_reasons(phase: str, outcome: dict[str, Any], device_type: str) -> list[Reason]:
    """Reasons for outcomes that are not a measurement: errors, skips. Never silent."""
    status = outcome["status"]
    if status == "error":
        code = {
            "oom": "OOM",
            "timeout": "WORKER_TIMEOUT",
            "missing": "DEVICE_MISSING",
            "crashed": "WORKER_CRASHED",
        }
        return [reason(code.get(outcome["error_type"], "PHASE_ERROR"), "fail", phase, outcome["error"])]
    if status == "skipped":
        code = outcome["reason_code"]
        # A CUDA-only phase on a CPU run is expected and says so; any other skip is a failure to test.
        severity = "warn" if device_type == "cpu" and code == "CUDA_REQUIRED" else "fail"
        return [reason(f"SKIPPED_{code}", severity, phase, f"SKIPPED: {outcome['reason']}")]
    return []


def check_preflight(m: dict[str, Any], ctx: Context) -> list[Reason]:
    pre = m.get("nvml", {}).get("preflight") or {}
    out = []
    if pre.get("ecc_enabled") is False:
        out.append(reason("ECC_DISABLED", "fail", "preflight", "ECC is off"))
    if pre.get("persistence") == 0:
        out.append(reason("PERSISTENCE_OFF", "warn", "preflight", "persistence mode is off"))
    if pre.get("mig_enabled"):
        out.append(reason("MIG_ENABLED", "warn", "preflight", "MIG is on; the suite measures whole GPUs"))
    limit, default = pre.get("power_limit_w"), pre.get("default_power_limit_w")
    if limit and default and limit < default:
        out.append(
            reason(
                "POWER_LIMIT_LOWERED",
                "warn",
                "preflight",
                f"power limit {limit} W is below the default {default} W",
                limit,
                default,
            )
        )
    if pre.get("foreign_pids"):
        out.append(
            reason(
                "FOREIGN_PROCESS",
                "fail",
                "preflight",
                f"other processes use this GPU: PIDs {pre['foreign_pids']}"
                + (
                    " (as NVML reports them: host PIDs, this suite runs in a container)"
                    if pre.get("pid_namespace") == "container"
                    else ""
                ),
                pre["foreign_pids"],
            )
        )
    if pre.get("nvlinks_down") and pre.get("nvlinks_up"):
        out.append(
            reason(
                "NVLINK_DOWN",
                "fail",
                "preflight",
                f"{pre['nvlinks_down']} NVLink(s) down",
                pre["nvlinks_down"],
                0,
            )
        )
    return out


def check_compute(m: dict[str, Any], ctx: Context) -> list[Reason]:
    out = []
    if not m["finite"]:
        out.append(reason("NAN_OUTPUT", "fail", "compute", "GEMM output contains NaN or Inf"))
    loop = m.get("compare") or {}
    if loop.get("mismatched_batches"):
        out.append(
            reason(
                "SDC_MISMATCH_LOOP",
                "fail",
                "compute",
                f"{loop['mismatched_batches']} of {loop['compared']} GEMM results under load differ bit-wise "
                "from the first (gpu-burn style comparison)",
                loop["mismatched_batches"],
                0,
            )
        )
    value = m["tflops_sustained"]
    if ctx.device_type == "cuda":
        minimum = ctx.thresholds.bf16_tflops_min or DEFAULT_BF16_TFLOPS_MIN.get(ctx.gpu_id)
        out += ctx.floor_check("compute", "bf16 sustained", value, ctx.bf16_reference(), minimum, "TFLOPS")
    # On a shared CPU, other jobs move the figures: say so, but it is no judgement of the hardware.
    drift = "warn" if ctx.device_type == "cuda" else "info"
    if not m["steady"]:
        # A short run (quick: 20-40 s) cannot see a minute-long temperature window settle; only a phase long
        # enough to reach thermal equilibrium is expected to, and warns when it does not.
        long_enough = m["duration_s"] >= STEADY_EXPECTED_S
        out.append(
            reason(
                "NOT_STEADY",
                drift if long_enough else "info",
                "compute",
                f"no steady state within {m['duration_s']} s (throughput or temperature still moving)",
            )
        )
    if m["drop_fraction"] > THERMAL_DROP_LIMIT:
        out.append(
            reason(
                "THERMAL_DROP",
                drift,
                "compute",
                f"throughput fell {100 * m['drop_fraction']:.1f} % from cold to hot",
                round(m["drop_fraction"], 4),
                THERMAL_DROP_LIMIT,
            )
        )
    for name, extra in sorted(m.get("extra", {}).items()):
        if extra.get("status") == "ok" and extra.get("finite") is False:
            out.append(reason("NAN_OUTPUT", "fail", "compute", f"{name} GEMM output contains NaN or Inf"))
    return out


def check_sdc(m: dict[str, Any], ctx: Context) -> list[Reason]:
    out = []
    if m["self_mismatches"]:
        out.append(
            reason(
                "SDC_MISMATCH_SELF",
                "fail",
                "sdc",
                f"{m['self_mismatches']} of {m['repeats']} repeats differ bit-wise from this GPU's first result",
                m["self_mismatches"],
                0,
            )
        )
    if m["fp64"]["bad_elements"]:
        out.append(
            reason(
                "SDC_FP64_DEVIATION",
                "fail",
                "sdc",
                f"{m['fp64']['bad_elements']} sampled elements disagree with the fp64 reference",
                m["fp64"]["bad_elements"],
                0,
            )
        )
    return out


def check_memory(m: dict[str, Any], ctx: Context) -> list[Reason]:
    out = []
    bad = m["integrity"]["mismatched_words"]
    if bad:
        out.append(
            reason(
                "MEMORY_INTEGRITY",
                "fail",
                "memory",
                f"{bad} words read back differently from the pattern written",
                bad,
                0,
            )
        )
    if ctx.device_type == "cuda":
        tbps = m["triad"]["gbps"] / 1000
        spec = ctx.figure("hbm_tbps")
        minimum = spec * ctx.thresholds.hbm_fraction_min if spec else None
        out += ctx.floor_check("memory", "HBM triad", tbps, ctx.hbm_reference(), minimum, "TB/s")
    return out


def check_pcie(m: dict[str, Any], ctx: Context) -> list[Reason]:
    out = []
    link = m.get("link") or {}
    if (
        link.get("gen")
        and link.get("max_gen")
        and (link["gen"] < link["max_gen"] or (link.get("width") or 0) < (link.get("max_width") or 0))
    ):
        out.append(
            reason(
                "PCIE_LINK_DEGRADED",
                "fail",
                "pcie",
                f"link ran at Gen{link['gen']} x{link['width']} "
                f"under load; maximum is Gen{link['max_gen']} x{link['max_width']}",
            )
        )
    gen = link.get("max_gen") or ctx.figure("pcie_gen")
    minimum = ctx.thresholds.pcie_gbps_min or DEFAULT_PCIE_GBPS.get(int(gen or 0))
    for key in ("h2d_gbps", "d2h_gbps"):
        out += ctx.floor_check("pcie", key, m[key], None, minimum, "GB/s")
    return out


def check_p2p(m: dict[str, Any], ctx: Context) -> list[Reason]:
    out = []
    minimum = ctx.thresholds.p2p_gbps_min or DEFAULT_P2P_GBPS.get(ctx.gpu_id)
    for peer, row in sorted(m["to"].items()):
        out += ctx.floor_check("p2p", f"copy to GPU {peer}", row["gbps"], None, minimum, "GB/s")
        if not row["peer_access"]:
            out.append(reason("P2P_NO_PEER_ACCESS", "warn", "p2p", f"no direct peer access to GPU {peer}"))
    return out


def check_collectives(m: dict[str, Any], ctx: Context) -> list[Reason]:
    out = []
    if not m["exact"]:
        out.append(reason("COLLECTIVE_MISMATCH", "fail", "collectives", "a collective returned wrong sums"))
    minimum = ctx.thresholds.allreduce_busbw_gbps_min
    if minimum is None and m["world_size"] == 8:
        from aifactory.burnin.thresholds import DEFAULT_ALLREDUCE_BUSBW_GBPS

        minimum = DEFAULT_ALLREDUCE_BUSBW_GBPS.get(ctx.gpu_id)
    plateau = m["plateau"]["all_reduce"]
    if plateau["bytes"] < PLATEAU_BYTES:
        # Below 2 GiB busbw is still climbing: holding it against a plateau floor would fail healthy nodes.
        if minimum is not None:
            out.append(
                reason(
                    "BUSBW_NOT_GATED",
                    "info",
                    "collectives",
                    f"largest all_reduce was {plateau['bytes'] >> 20} MiB; the busbw floor applies from "
                    f"{PLATEAU_BYTES >> 20} MiB",
                )
            )
        return out
    out += ctx.floor_check(
        "collectives",
        "all_reduce busbw at the largest size",
        m["plateau"]["all_reduce"]["busbw_gbps"],
        None,
        minimum,
        "GB/s",
    )
    return out


def check_stress(m: dict[str, Any], ctx: Context) -> list[Reason]:
    out = []
    if not m["finite"]:
        out.append(reason("NAN_OUTPUT", "fail", "stress", "GEMM output under stress contains NaN or Inf"))
    if not m["collectives_exact"]:
        out.append(reason("COLLECTIVE_MISMATCH", "fail", "stress", "all_reduce under stress returned wrong sums"))
    return out


PHASE_CHECKS: dict[str, Callable[[dict[str, Any], Context], list[Reason]]] = {
    "preflight": check_preflight,
    "compute": check_compute,
    "sdc": check_sdc,
    "memory": check_memory,
    "pcie": check_pcie,
    "p2p": check_p2p,
    "collectives": check_collectives,
    "stress": check_stress,
}


def check_counters(phase: str, before: dict[str, Any], after: dict[str, Any]) -> list[Reason]:
    """Health counters that moved during a phase."""
    out = []

    def grew(key: str) -> int:
        a, b = after.get(key), before.get(key)
        return int(a - b) if isinstance(a, int) and isinstance(b, int) and a > b else 0

    if grew("ecc_volatile_uncorrected"):
        out.append(
            reason(
                "ECC_UNCORRECTABLE_NEW",
                "fail",
                phase,
                "new uncorrectable ECC errors",
                grew("ecc_volatile_uncorrected"),
                0,
            )
        )
    if grew("ecc_volatile_corrected"):
        out.append(
            reason(
                "ECC_CORRECTABLE_NEW",
                "warn",
                phase,
                "new correctable ECC errors",
                grew("ecc_volatile_corrected"),
                0,
            )
        )
    if after.get("remap_pending"):
        out.append(reason("ROW_REMAP_PENDING", "fail", phase, "a row remap is pending (reset the GPU)"))
    if after.get("remap_failed"):
        out.append(reason("ROW_REMAP_FAILED", "fail", phase, "a row remap failed: replace the GPU"))
    if after.get("retired_pages_pending"):
        out.append(reason("RETIRED_PAGES_PENDING", "fail", phase, "retired pages pending"))
    if grew("pcie_replays"):
        out.append(reason("PCIE_REPLAYS", "warn", phase, "PCIe replay counter grew", grew("pcie_replays"), 0))
    if grew("nvlink_crc_errors"):
        out.append(reason("NVLINK_CRC_ERRORS", "warn", phase, "NVLink CRC errors grew", grew("nvlink_crc_errors"), 0))
    return out


def check_throttle(
    samples: list[dict[str, Any]], ctx: Context, phase_seconds: float, violation_ns: int, expected: bool = False
) -> list[Reason]:
    """Hardware, thermal and power-brake slowdowns under load: sampled bits and NVML violation time.

    `expected`: NVML is available and load phases ran, so samples with masks and temperatures must exist. A
    sampler that died, or a binding or driver that answers no clocks-event reasons, is a failure to measure,
    not a pass."""
    out: list[Reason] = []
    masks = [s["throttle_mask"] for s in samples if isinstance(s.get("throttle_mask"), int)]
    limit = ctx.thresholds.max_throttle_fraction
    if expected and not samples:
        out.append(
            reason("TELEMETRY_MISSING", "fail", "telemetry", "NVML is available but no sample was taken under load")
        )
    elif expected and not masks:
        out.append(
            reason(
                "THROTTLE_UNMEASURED",
                "fail",
                "telemetry",
                "no clocks-event (throttle) reasons in any sample under load: this nvidia-ml-py or driver answers "
                "neither nvmlDeviceGetCurrentClocksEventReasons nor ...ClocksThrottleReasons",
            )
        )
    if expected and samples and not any(isinstance(s.get("temp_c"), int | float) for s in samples):
        out.append(
            reason("TEMPERATURE_UNMEASURED", "fail", "telemetry", "no GPU temperature in any sample under load")
        )
    if masks:
        bad = [m for m in masks if m & BAD_THROTTLE_MASK]
        fraction = len(bad) / len(masks)
        if fraction > limit:
            names = sorted({n for m in bad for n, bit in THROTTLE_BITS.items() if m & bit & BAD_THROTTLE_MASK})
            out.append(
                reason(
                    "THROTTLE_HW",
                    "fail",
                    "telemetry",
                    f"slowed by {', '.join(names)} in {100 * fraction:.1f} % of samples under load",
                    round(fraction, 4),
                    limit,
                )
            )
    if phase_seconds > 0 and violation_ns / 1e9 / phase_seconds > limit:
        fraction = violation_ns / 1e9 / phase_seconds
        out.append(
            reason(
                "THROTTLE_VIOLATION_TIME",
                "fail",
                "telemetry",
                f"thermal violation time is {100 * fraction:.1f} % of the load phases",
                round(fraction, 4),
                limit,
            )
        )
    temps = [s["temp_c"] for s in samples if isinstance(s.get("temp_c"), int | float)]
    top = ctx.thresholds.max_gpu_temp_c
    if top is not None and temps and max(temps) > top:
        out.append(reason("GPU_TOO_HOT", "fail", "telemetry", f"GPU reached {max(temps)} C", max(temps), top))
    return out


def check_xids(events: list[dict[str, Any]]) -> list[Reason]:
    """XID events seen on this GPU during the run: hardware ones fail, application ones warn."""
    out = []
    hw = sorted({e["xid"] for e in events if e.get("hardware")})
    app = sorted({e["xid"] for e in events if not e.get("hardware")})
    if hw:
        out.append(reason("XID_HARDWARE", "fail", "telemetry", f"hardware XID event(s) {hw} during the run", hw))
    if app:
        out.append(reason("XID_APPLICATION", "warn", "telemetry", f"XID event(s) {app} during the run", app))
    return out
