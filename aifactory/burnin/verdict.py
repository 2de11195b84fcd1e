"""Verdicts: per-GPU phase checks, comparisons across peers, and the node's overall PASS / WARN / FAIL.

The rule that matters most: a phase that did not measure (skipped, errored, timed out) always carries a
warn or fail reason, so no GPU and no node can PASS without having been tested.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from aifactory.burnin.checks import (
    PHASE_CHECKS,
    Context,
    Reason,
    check_counters,
    check_throttle,
    check_xids,
    outcome_reasons,
    reason,
)
from aifactory.burnin.stats import high_outliers, low_outliers

STATUS_ORDER = {"PASS": 0, "NOT_APPLICABLE": 0, "WARN": 1, "SKIPPED": 2, "ERROR": 3, "FAIL": 3}
LOAD_PHASES = ("compute", "stress")
CPU_PEER_SHORTFALL = 0.10  # CPU workers share caches and memory bandwidth: their honest spread is wider
COOLING_EXCESS_C = 8.0  # shared/BURNIN.md: > 8 C above the median at equal power is a cooling warning

EQUAL_POWER = 0.05  # temperatures are compared among GPUs drawing within 5 % of the node's median power

# Metrics compared across the node's GPUs: (name, phase, getter over the judged GPU, None where not measured).
PEER_METRICS: tuple[tuple[str, str, Any], ...] = (
    ("tflops_sustained", "compute", lambda g: _metric(g, "compute", lambda m: m["tflops_sustained"])),
    ("tflops_per_watt", "compute", lambda g: g["derived"].get("tflops_per_watt")),
    ("sm_clock_mhz_steady", "compute", lambda g: g["derived"].get("sm_clock_mhz")),
    ("triad_gbps", "memory", lambda g: _metric(g, "memory", lambda m: m["triad"]["gbps"])),
    ("h2d_gbps", "pcie", lambda g: _metric(g, "pcie", lambda m: m["h2d_gbps"])),
    ("d2h_gbps", "pcie", lambda g: _metric(g, "pcie", lambda m: m["d2h_gbps"])),
    ("stress_tflops", "stress", lambda g: _metric(g, "stress", lambda m: m["tflops_median"])),
)


def _metric(g: dict[str, Any], phase: str, get: Any) -> Any:
    m = g["phases"].get(phase, {}).get("metrics")
    return get(m) if m else None


def severity_verdict(reasons: list[Reason]) -> str:
    sev = {r["severity"] for r in reasons}
    return "FAIL" if "fail" in sev else "WARN" if "warn" in sev else "PASS"


def judge_gpu(
    worker: Any,
    ctx: Context,
    samples: list[dict[str, Any]],
    telemetry_expected: bool = False,
    xids: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One GPU's phases, each with a status and reasons."""
    phases: dict[str, dict[str, Any]] = {}
    for name, outcome in worker.phases.items():
        reasons = outcome_reasons(name, outcome, ctx.device_type)
        if outcome["status"] == "ok":
            reasons += PHASE_CHECKS[name](outcome["metrics"], ctx)
        counters = worker.counters.get(name)
        if counters:
            reasons += check_counters(name, counters["before"], counters["after"])
        phases[name] = {
            "status": _phase_status(outcome["status"], reasons),
            "duration_s": round(outcome.get("duration_s", 0.0), 3),
            "metrics": outcome.get("metrics"),
            "reasons": reasons,
            **({"error": outcome["error"]} if "error" in outcome else {}),
            **({"note": outcome["reason"]} if outcome["status"] == "not_applicable" else {}),
        }
    own = [s for s in samples if s["gpu"] == worker.slot and s["phase"] in LOAD_PHASES]
    loaded = any(phases.get(p, {}).get("status") not in (None, "SKIPPED", "NOT_APPLICABLE") for p in LOAD_PHASES)
    telemetry = check_throttle(
        own, ctx, _load_seconds(phases), _violation_ns(worker), expected=telemetry_expected and loaded
    )
    telemetry += check_xids([e for e in xids or [] if e.get("gpu") == worker.slot])
    return {"phases": phases, "telemetry_reasons": telemetry}


def derived_metrics(worker: Any, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-GPU figures from telemetry over the compute phase: median power, steady SM clock and temperature,
    energy from NVML's counter, and TFLOPS per watt (energy-based where the counter exists)."""
    compute = worker.phases.get("compute") or {}
    m = compute.get("metrics") if compute.get("status") == "ok" else None
    own = [s for s in samples if s["gpu"] == worker.slot and s["phase"] == "compute"]
    # Steady state: the second half of the phase's samples (the first is the ramp to temperature).
    steady = own[len(own) // 2 :]

    def med(key: str) -> float | None:
        vals = [s[key] for s in steady if isinstance(s.get(key), int | float)]
        return float(statistics.median(vals)) if vals else None

    out: dict[str, Any] = {"power_w": med("power_w"), "sm_clock_mhz": med("sm_clock_mhz"), "temp_c": med("temp_c")}
    c = worker.counters.get("compute") or {}
    e0, e1 = (c.get("before") or {}).get("energy_mj"), (c.get("after") or {}).get("energy_mj")
    t0, t1 = (c.get("before") or {}).get("t"), (c.get("after") or {}).get("t")
    if isinstance(e0, int) and isinstance(e1, int) and e1 >= e0 and t0 is not None and t1 is not None and t1 > t0:
        out["energy_j"] = (e1 - e0) / 1000.0
        out["average_power_w"] = out["energy_j"] / (t1 - t0)
    power = out.get("average_power_w") or out["power_w"]
    out["tflops_per_watt"] = m["tflops_sustained"] / power if m and power else None
    return out


def _phase_status(status: str, reasons: list[Reason]) -> str:
    if status == "error":
        return "ERROR"
    if status == "skipped":
        return "SKIPPED"
    if status == "not_applicable":
        return "NOT_APPLICABLE"
    return severity_verdict(reasons)


def _load_seconds(phases: dict[str, dict[str, Any]]) -> float:
    return float(sum(phases[p]["duration_s"] for p in LOAD_PHASES if p in phases))


def _violation_ns(worker: Any) -> int:
    total = 0
    for p in LOAD_PHASES:
        c = worker.counters.get(p) or {}
        a, b = (
            (c.get("after") or {}).get("violation_thermal_ns"),
            (c.get("before") or {}).get("violation_thermal_ns"),
        )
        if isinstance(a, int) and isinstance(b, int):
            total += max(0, a - b)
    return total


def peer_reasons(gpus: list[dict[str, Any]], ctx: Context) -> dict[int, list[Reason]]:
    """Robust outliers against the node's other GPUs, and the SDC majority vote."""
    out: dict[int, list[Reason]] = {g["slot"]: [] for g in gpus}
    for name, phase, get in PEER_METRICS:
        have = [(g["slot"], v) for g in gpus if isinstance(v := get(g), int | float)]
        flagged = low_outliers([v for _, v in have], 0.03 if ctx.device_type == "cuda" else CPU_PEER_SHORTFALL)
        for i, (z, shortfall) in flagged.items():
            severity = "fail" if shortfall > 1 - ctx.thresholds.fail_below else "warn"
            out[have[i][0]].append(
                reason(
                    "PEER_OUTLIER",
                    severity,
                    phase,
                    f"{name} is {100 * shortfall:.1f} % below the node median (robust z {z:.1f})",
                    round(have[i][1], 6),
                )
            )
    for slot, excess in _cooling(gpus).items():
        out[slot].append(
            reason(
                "COOLING_OUTLIER",
                "warn",
                "telemetry",
                f"{excess:.1f} C hotter than the node median under the same load",
                round(excess, 1),
                COOLING_EXCESS_C,
            )
        )
    for slot, msg in _sdc_vote(gpus).items():
        out[slot].append(reason("SDC_MISMATCH_PEER", "fail", "sdc", msg))
    return out


def _cooling(gpus: list[dict[str, Any]]) -> dict[int, float]:
    """Temperature at equal power: among the GPUs that drew about the node's median power under the same
    load, one far hotter than the rest has a cooling problem (a GPU drawing less runs cooler for no merit)."""
    rows = [
        (g["slot"], g["derived"]["temp_c"], g["derived"]["power_w"])
        for g in gpus
        if g["derived"].get("temp_c") is not None and g["derived"].get("power_w")
    ]
    if not rows:  # no power readings: fall back to the load temperature alone
        rows = [(g["slot"], g["load_temp_c"], None) for g in gpus if g.get("load_temp_c") is not None]
    else:
        median_power = statistics.median(p for _, _, p in rows)
        rows = [r for r in rows if abs(r[2] - median_power) <= EQUAL_POWER * median_power]
    flagged = high_outliers([t for _, t, _ in rows], COOLING_EXCESS_C)
    return {rows[i][0]: excess for i, excess in flagged.items()}


def _sdc_vote(gpus: list[dict[str, Any]]) -> dict[int, str]:
    """GPUs of one model and software stack must produce identical bits; the majority names the odd one."""
    groups: dict[tuple[Any, ...], list[tuple[int, str]]] = {}
    for g in gpus:
        m = g["phases"].get("sdc", {}).get("metrics")
        if m:
            ident = g["identity"]
            key = (
                ident.get("name"),
                ident.get("sm_count"),
                ident.get("torch"),
                ident.get("cuda"),
                m["dtype"],
                m["n"],
            )
            groups.setdefault(key, []).append((g["slot"], m["hash"]))
    out = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        counts = Counter(h for _, h in members).most_common()
        if len(counts) == 1:
            continue
        clear = counts[0][1] > counts[1][1]
        for slot, h in members:
            if clear and h != counts[0][0]:
                out[slot] = f"result differs bit-wise from the {counts[0][1]} peer(s) that agree"
            elif not clear:
                out[slot] = "peers disagree bit-wise and no majority names the bad GPU"
    return out


def load_temperature(samples: list[dict[str, Any]], slot: int) -> float | None:
    temps = [
        s["temp_c"]
        for s in samples
        if s["gpu"] == slot and s["phase"] in LOAD_PHASES and isinstance(s.get("temp_c"), int | float)
    ]
    return float(statistics.median(temps)) if temps else None


def finish(gpu: dict[str, Any], extra: list[Reason]) -> None:
    """Fold peer and telemetry reasons into the GPU's phases, then set the GPU verdict and reason list."""
    for r in extra:
        if r["phase"] in gpu["phases"]:
            ph = gpu["phases"][r["phase"]]
            ph["reasons"].append(r)
            if ph["status"] in ("PASS", "WARN"):
                ph["status"] = severity_verdict(ph["reasons"])
    reasons = [r for ph in gpu["phases"].values() for r in ph["reasons"]]
    reasons += [r for r in extra if r["phase"] not in gpu["phases"]]
    verdict = severity_verdict(reasons)
    untested = [n for n, ph in gpu["phases"].items() if ph["status"] in ("SKIPPED", "ERROR")]
    if verdict == "PASS" and untested:  # belt and braces: the rule this module exists for
        raise AssertionError(f"phases {untested} did not run but the verdict came out PASS")
    gpu["verdict"], gpu["reasons"] = verdict, reasons
