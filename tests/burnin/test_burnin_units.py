"""Thresholds, catalogue, statistics and per-phase checks: the pure parts of the verdict."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aifactory.burnin import BurninInputError
from aifactory.burnin.catalog import identify, load_catalog, resolve
from aifactory.burnin.checks import Context, check_counters, check_pcie, check_throttle, outcome_reasons
from aifactory.burnin.runner import Worker
from aifactory.burnin.stats import is_steady, low_outliers, slope_per_minute
from aifactory.burnin.thresholds import Thresholds
from aifactory.burnin.verdict import _sdc_vote, finish
from tests.burnin.helpers import DATA

CATALOG = load_catalog(DATA / "gpus.yaml")
H100 = CATALOG["h100-sxm"]


def ctx(**kw):
    return Context(Thresholds.from_mapping(kw), H100, "cuda", 8)


def test_thresholds_defaults_and_mapping():
    assert (0.85, 0.92, "acceptance", 15.0) == (
        Thresholds().fail_below,
        Thresholds().warn_below,
        Thresholds().profile,
        Thresholds().time_budget_min,
    )
    t = Thresholds.from_mapping({"profile": "quick", "bf16_tflops_min": 700, "max_gpu_temp_c": None})
    assert ("quick", 700.0, None) == (t.profile, t.bf16_tflops_min, t.max_gpu_temp_c)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"fail_blow": 0.8}, "unknown acceptance key"),
        ({"fail_below": "high"}, "must be a number"),
        ({"fail_below": 0.95, "warn_below": 0.9}, "must satisfy"),
        ({"profile": "forever"}, "is not one of"),
        ({"max_throttle_fraction": 2}, "not a fraction"),
    ],
)
def test_thresholds_reject_bad_values(mapping, message):
    with pytest.raises(BurninInputError, match=message):
        Thresholds.from_mapping(mapping, source="bp.yaml")


def test_catalogue_identifies_by_nvml_name():
    assert "h100-sxm" == identify("NVIDIA H100 80GB HBM3", CATALOG).gpu_id
    assert identify("NVIDIA A100", CATALOG) is None
    assert 794.5 == resolve(None, ["x", "NVIDIA H100 80GB HBM3"], CATALOG).figure("achieved_bf16_tflops")
    assert CATALOG["cpu"].figure("bf16_tflops") is None  # 0 means unknown, never a floor of zero
    with pytest.raises(BurninInputError, match="'a100' is not in the catalogue"):
        resolve("a100", [], CATALOG)


def test_floor_bands_against_the_reference():
    c = ctx()  # reference 794.5 TFLOPS: fail < 675.3, warn < 730.9; BURNIN.md minimum 650 is looser
    assert [] == c.floor_check("compute", "bf16", 760.0, 794.5, 650.0, "TFLOPS")
    assert ["BELOW_WARN_FLOOR"] == [r["code"] for r in c.floor_check("compute", "bf16", 700.0, 794.5, 650, "T")]
    assert ["BELOW_FLOOR"] == [r["code"] for r in c.floor_check("compute", "bf16", 670.0, 794.5, 650, "T")]
    assert [] == c.floor_check("compute", "bf16", 1.0, None, None, "T")  # nothing to hold it against


def test_absolute_floor_is_a_fail_line_without_a_warn_band():
    # Review 11: the old code warned below 48 x 0.92 / 0.85 = 51.95 GB/s on PCIe Gen5 (healthy links do ~53),
    # and p2p below 378.8 GB/s. A starting floor is where FAIL begins; it implies no warn band.
    c = ctx()
    assert [] == c.floor_check("pcie", "h2d", 50.0, None, 48.0, "GB/s")
    assert ["BELOW_FLOOR"] == [r["code"] for r in c.floor_check("pcie", "h2d", 47.0, None, 48.0, "GB/s")]


def test_pcie_link_downshift_under_load_fails():
    m = {"h2d_gbps": 55.0, "d2h_gbps": 55.0, "link": {"gen": 4, "width": 16, "max_gen": 5, "max_width": 16}}
    assert ["PCIE_LINK_DEGRADED"] == [r["code"] for r in check_pcie(m, ctx())]


def test_combined_throttle_bits_are_caught():
    # 0x44 = sw_power_cap + hw_thermal: an equality test against 0x40 would miss it.
    samples = [{"throttle_mask": 0x44, "temp_c": 70}] * 2 + [{"throttle_mask": 0x4, "temp_c": 70}] * 98
    reasons = check_throttle(samples, ctx(), 100.0, 0)
    assert ["THROTTLE_HW"] == [r["code"] for r in reasons]
    assert "hw_thermal" in reasons[0]["message"]
    assert [] == check_throttle([{"throttle_mask": 0x4}] * 100, ctx(), 100.0, 0)  # power capping is normal


def test_violation_time_and_temperature_limit():
    codes = [r["code"] for r in check_throttle([{"temp_c": 91}], ctx(max_gpu_temp_c=87), 100.0, 5 * 10**9)]
    assert ["THROTTLE_VIOLATION_TIME", "GPU_TOO_HOT"] == codes


def test_counters_that_move_during_a_phase():
    before = {
        "ecc_volatile_uncorrected": 0,
        "ecc_volatile_corrected": 1,
        "pcie_replays": 3,
        "remap_pending": False,
    }
    after = {
        "ecc_volatile_uncorrected": 2,
        "ecc_volatile_corrected": 1,
        "pcie_replays": 9,
        "remap_pending": True,
    }
    assert ["ECC_UNCORRECTABLE_NEW", "ROW_REMAP_PENDING", "PCIE_REPLAYS"] == [
        r["code"] for r in check_counters("memory", before, after)
    ]


def test_a_skip_is_a_failure_on_gpus_and_a_warning_only_for_cuda_phases_on_cpu():
    skip = {"status": "skipped", "reason_code": "CUDA_REQUIRED", "reason": "needs CUDA"}
    assert ["fail"] == [r["severity"] for r in outcome_reasons("pcie", skip, "cuda")]
    assert ["warn"] == [r["severity"] for r in outcome_reasons("pcie", skip, "cpu")]
    dead = {"status": "skipped", "reason_code": "WORKER_DEAD", "reason": "gone"}
    assert ["fail"] == [r["severity"] for r in outcome_reasons("sdc", dead, "cpu")]


def test_no_pass_without_measurement():
    gpu = {"phases": {"pcie": {"status": "SKIPPED", "reasons": []}}}
    with pytest.raises(AssertionError, match="did not run"):
        finish(gpu, [])


def _sdc_gpu(slot, digest):
    ident = {"name": "NVIDIA H100 80GB HBM3", "sm_count": 132, "torch": "2.13", "cuda": "13.0"}
    return {
        "slot": slot,
        "identity": ident,
        "phases": {"sdc": {"metrics": {"hash": digest, "dtype": "bf16", "n": 8}}},
    }


def test_sdc_majority_names_the_odd_gpu_and_a_tie_names_both():
    assert [2] == sorted(_sdc_vote([_sdc_gpu(0, "a"), _sdc_gpu(1, "a"), _sdc_gpu(2, "b")]))
    tie = _sdc_vote([_sdc_gpu(0, "a"), _sdc_gpu(1, "b")])
    assert [0, 1] == sorted(tie)
    assert "no majority" in tie[0]


def test_robust_outliers_need_three_peers_and_a_real_shortfall():
    assert {} == low_outliers([100.0, 50.0])
    assert [3] == list(low_outliers([100.0, 100.5, 99.8, 80.0]))
    assert {} == low_outliers([100.0, 100.0, 100.0, 98.0])  # 2 % short: within the 3 % allowance


@given(st.lists(st.floats(min_value=50, max_value=51), min_size=3, max_size=16))
def test_a_gross_straggler_is_always_flagged(healthy):
    values = [*healthy, 25.0]
    assert len(values) - 1 in low_outliers(values)


def test_steady_state_detection():
    flat = [(t * 0.5, 100.0) for t in range(80)]
    cooling = [(t * 1.0, 60 + 0.001 * t) for t in range(80)]
    heating = [(t * 1.0, 60 + 0.05 * t) for t in range(80)]  # 3 C/min
    assert is_steady(flat, cooling, 30, 60)
    assert not is_steady(flat, heating, 30, 60)
    assert is_steady([(t * 0.5, 100.0 + (t % 2) * 20) for t in range(80)], [], 30, 60)  # jitter averages out
    assert not is_steady([(t * 0.5, 100.0 + t) for t in range(80)], [], 30, 60)  # a trend does not
    assert 3.0 == pytest.approx(slope_per_minute(heating))


def test_worker_record_is_plain_data():
    w = Worker(0, 3)
    assert (0, 3, False, {}) == (w.slot, w.index, w.alive, w.phases)
