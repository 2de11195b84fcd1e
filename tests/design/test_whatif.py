"""`aifactory size` (largest valid design within limits) and `plan --what-if` (failure scenarios)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aifactory.blueprint import load_blueprint
from aifactory.cli.main import app
from aifactory.design import plan
from aifactory.design.power import pdus_per_rack
from aifactory.design.whatif import Limits, violations

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
STORAGE = ["--set", "storage.filesystem.read_throughput=2000GB/s",
           "--set", "storage.filesystem.write_throughput=1000GB/s"]


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def size_json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["size", "dgx-h100-superpod", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def plan_at(sus: int, power: str, *sets: str) -> object:
    extra = [s for s in sets if s != "--set"]
    return plan(load_blueprint("dgx-h100-superpod", sets=[
        f"compute.scalable_units={sus}", f"cooling.facility_power={power}", *extra]).model)


def test_size_power_binds_and_is_the_largest() -> None:
    data = size_json("--power", "20MW", *STORAGE)
    sus = data["scalable_units"]
    assert isinstance(sus, int) and sus > 4
    assert data["binding"] == {"scalable_units": sus + 1, "constraints": ["facility-power"],
                               "reasons": data["binding"]["reasons"]}  # type: ignore[index]
    limits = Limits(20e6)
    assert violations(plan_at(sus, "20MW", *STORAGE), limits) == []  # type: ignore[arg-type]
    assert [c for c, _ in violations(plan_at(sus + 1, "20MW", *STORAGE), limits)] == ["facility-power"]  # type: ignore[arg-type]
    assert data["gpus"] == data["nodes"] * 8 and data["facility_kw"] <= 20000  # type: ignore[operator]


def test_size_racks_and_cooling_bind() -> None:
    by_racks = size_json("--power", "20MW", "--racks", "200", *STORAGE)
    assert by_racks["binding"]["constraints"] == ["racks"]  # type: ignore[index]
    assert by_racks["racks"] <= 200  # type: ignore[operator]
    by_heat = size_json("--power", "20MW", "--cooling", "10MW", *STORAGE)
    assert by_heat["binding"]["constraints"] == ["cooling"]  # type: ignore[index]
    assert by_heat["it_kw"] <= 10000 < by_heat["binding"]["scalable_units"] * 400  # type: ignore[index,operator]


def test_size_names_a_blueprint_limit_too() -> None:
    """The blueprint's own Lustre throughput (sized for 4 SUs) binds before 20 MW does."""
    data = size_json("--power", "20MW")
    assert (data["scalable_units"], data["binding"]["constraints"]) == (4, ["storage-tier"])  # type: ignore[index]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--power", "20 parsecs"], "--power"),
        (["--power", "0MW"], "above zero"),
        (["--power", "1kW"], "no design fits"),
        (["--power", "20MW", "--racks", "0"], "--racks"),
    ],
)
def test_size_bad_input_exits_2(args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["size", "dgx-h100-superpod", *args])
    assert result.exit_code == 2 and needle in result.output and "Traceback" not in result.output


def what_if(spec: str, *sets: str, blueprint: str = "dgx-h100-superpod") -> dict[str, dict[str, float]]:
    args = ["plan", blueprint, "--what-if", spec, "--format", "json"]
    result = runner.invoke(app, [*args, *(a for s in sets for a in ("--set", s))])
    assert result.exit_code == 0, result.output
    out: dict[str, dict[str, float]] = json.loads(result.output)["what_if"]
    return out


def test_failed_spines_halve_uplinks_of_a_four_spine_fabric() -> None:
    w = what_if("fail:spine=2")
    assert w["bandwidth"]["leaf_spine_remaining"] == 0.5
    assert w["bandwidth"]["leaf_spine_gbps_remaining"] == 128 * 400  # 2 of 4 spines x 64 links x 400G
    assert w["capacity"]["gpus_remaining"] == 248


def test_failed_spines_in_one_pod_of_a_three_tier_fabric() -> None:
    w = what_if("fail:spine=4", "compute.scalable_units=16", "cooling.facility_power=20MW",
                "storage.filesystem.read_throughput=2000GB/s", "storage.filesystem.write_throughput=1000GB/s")
    assert w["bandwidth"]["worst_pod_uplinks_remaining"] == 0.5  # 8 spines per SU pod
    assert w["bandwidth"]["leaf_spine_remaining"] == pytest.approx(1 - 4 / 128, abs=1e-4)
    assert w["bandwidth"]["spine_core_remaining"] == pytest.approx(1 - 4 / 128, abs=1e-4)


def test_failed_leaf_cuts_one_nic_per_node() -> None:
    w = what_if("fail:leaf=1")
    assert w["capacity"]["nodes_with_a_failed_rail"] == 31
    assert w["capacity"]["gpus_without_their_nic"] == 31
    assert w["bandwidth"]["leaf_spine_remaining"] == 1 - 1 / 8


def test_failed_feeds_need_redundancy() -> None:
    single = what_if("fail:feed=3", "cooling.redundancy=N")
    assert single["capacity"]["compute_racks_down"] == 3 and single["capacity"]["gpus_remaining"] == 248 - 96
    dual = what_if("fail:feed=3")
    rack_w = dual["power_cooling"]["fullest_rack_kw"] * 1000
    # N+1: the PDUs the rack needs at its rating, plus one that can fail (design/power.py)
    assert dual["capacity"]["compute_racks_down"] == 0
    assert dual["power_cooling"]["feeds_per_rack"] == pdus_per_rack(rack_w, "N") + 1 == pdus_per_rack(rack_w, "N+1")
    assert dual["power_cooling"]["rack_margin_kw"] == pytest.approx(45 - dual["power_cooling"]["fullest_rack_kw"])


@pytest.mark.parametrize(
    ("spec", "needle"),
    [("spine=2", "not a failure scenario"), ("fail:cdu=1", "no rack group of this design has liquid heat"),
     ("fail:spine=5", "at most 4"),
     ("fail:core=1", "no core tier"), ("fail:rack=1", "unknown"), ("fail:spine=1,spine=1", "twice")],
)
def test_what_if_bad_input_exits_2(spec: str, needle: str) -> None:
    result = runner.invoke(app, ["plan", "dgx-h100-superpod", "--what-if", spec])
    assert result.exit_code == 2 and needle in result.output and "Traceback" not in result.output


def test_size_grows_pinned_nodes_by_whole_sus() -> None:
    """gb200-nvl72 pins compute.nodes: 144 (one SU of 8 NVL72 racks); size grows it SU by SU, racks whole."""
    result = runner.invoke(app, ["size", "gb200-nvl72", "--power", "10MW", "--format", "json",
                                 "--set", "storage.filesystem.read_throughput=20000GB/s",
                                 "--set", "storage.filesystem.write_throughput=10000GB/s"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["scalable_units"] > 1 and data["nodes"] == 144 * data["scalable_units"]
    assert data["binding"]["constraints"] == ["facility-power"]


# gb200-nvl72: 8 NVL72 racks of 120 kW in a direct-liquid group at liquid_fraction 0.85 -> 816 kW of liquid heat;
# the catalogue's default CDU moves 600 kW (catalog/data/cdus.yaml).
GROUP = "cooling.rack_groups.0"


def nvl72_cdus(*sets: str) -> dict[str, object]:
    args = ["plan", "gb200-nvl72", "--format", "json", *(a for s in sets for a in ("--set", s))]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (group,) = json.loads(result.output)["cooling"]["cdus"]
    out: dict[str, object] = group
    return out


@pytest.mark.parametrize(("redundancy", "cdus", "racks_per_cdu"), [("N", 2, 4), ("N+1", 3, 3), ("2N", 4, 2)])
def test_cdus_cover_liquid_heat_plus_redundancy(redundancy: str, cdus: int, racks_per_cdu: int) -> None:
    g = nvl72_cdus(f"{GROUP}.redundancy={redundancy}")
    assert (g["liquid_kw"], g["needed"], g["cdus"], g["racks"]) == (816.0, 2, cdus, 8)
    assert g["spares"] == cdus - 2 and g["racks_per_cdu"] == racks_per_cdu


def test_cdu_count_follows_the_liquid_share_and_the_chosen_model() -> None:
    """At liquid_fraction 0.75 (720 kW; the air side stays at 30 kW) one 750 kW CHx750 does where 600 kW units
    need two; at 0.9 (864 kW) the CHx750 needs two as well."""
    assert nvl72_cdus(f"{GROUP}.liquid_fraction=0.75")["needed"] == 2
    chosen = nvl72_cdus(f"{GROUP}.cdu=coolit-chx750", f"{GROUP}.liquid_fraction=0.75")
    assert (chosen["model"], chosen["capacity_kw"], chosen["liquid_kw"], chosen["needed"], chosen["cdus"]) == (
        "coolit-chx750", 750.0, 720.0, 1, 2)
    assert nvl72_cdus(f"{GROUP}.cdu=coolit-chx750", f"{GROUP}.liquid_fraction=0.9")["needed"] == 2


def test_only_liquid_heat_gets_cdus(tmp_path: Path) -> None:
    """Air and rear-door groups, and an air-cooled SKU in a direct-liquid group, have none; an immersion group puts
    all of a rack's heat into liquid."""
    for bp in ("dgx-h100-superpod", "dgx-h200-sovereign-eu"):
        result = runner.invoke(app, ["plan", bp, "--format", "json"])
        assert "cdus" not in json.loads(result.output)["cooling"], bp
    # DGX H100 is air-cooled: in a direct-liquid group no cold plates take its heat (a node-cooling finding)
    result = runner.invoke(app, ["plan", "dgx-h100-superpod", "--format", "json",
                                 "--set", "cooling.rack_groups.0.type=direct-liquid"])
    assert result.exit_code == 1 and "cdus" not in json.loads(result.output)["cooling"]
    text = (ROOT / "blueprints/gb200-nvl72.yaml").read_text(encoding="utf-8")
    old = "type: direct-liquid, capacity: 132kW, power_limit: 132kW, liquid_fraction: 0.85,\n       water_class: W45,"
    assert old in text
    path = tmp_path / "immersion.yaml"
    path.write_text(text.replace(old, "type: immersion, capacity: 132kW, power_limit: 132kW,"), encoding="utf-8")
    result = runner.invoke(app, ["plan", str(path), "--format", "json"])
    assert json.loads(result.output)["cooling"]["cdus"][0]["liquid_kw"] == 960.0, result.output


def test_failed_cdus_use_the_spares_first() -> None:
    w = what_if("fail:cdu=1", blueprint="gb200-nvl72")
    assert w["cdu"]["spares_left"] == 0 and w["cdu"]["cooling_margin_kw"] == 2 * 600 - 816
    assert w["cdu"]["racks_throttled"] == 0 and w["capacity"]["gpus_remaining"] == 576


def test_failed_cdus_beyond_the_spares_throttle_racks() -> None:
    """2 of 3 fail: 600 kW for 816 kW, 216 kW short; a rack puts 102 kW into liquid, so 3 racks (216 GPUs) of the
    6 the failed units served must be throttled or shut down."""
    w = what_if("fail:cdu=2", blueprint="gb200-nvl72")
    assert w["cdu"]["cooling_margin_kw"] == -216.0 and w["cdu"]["racks_served_by_failed"] == 6
    assert (w["cdu"]["racks_throttled"], w["cdu"]["gpus_affected"]) == (3, 216)
    assert w["capacity"]["gpus_remaining"] == 576 - 216 and w["capacity"]["gpus_cooling_limited"] == 216
    doubled = what_if("fail:cdu=2", f"{GROUP}.redundancy=2N", blueprint="gb200-nvl72")
    assert doubled["cdu"]["cooling_margin_kw"] == 384.0 and doubled["cdu"]["racks_throttled"] == 0
    all_gone = what_if("fail:cdu=2", f"{GROUP}.redundancy=N", blueprint="gb200-nvl72")
    assert all_gone["cdu"]["racks_throttled"] == 8 and all_gone["capacity"]["gpus_remaining"] == 0


def test_failed_cdu_text_line() -> None:
    result = runner.invoke(app, ["plan", "gb200-nvl72", "--what-if", "fail:cdu=2"])
    assert "CDUs (nvl72): 3 x vertiv-coolchip-cdu-600" in result.output
    assert "what if 2 of 3 CDUs fail" in result.output and "3 rack(s) to throttle" in result.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["--what-if", "fail:cdu=4"], "has 3 CDU(s)"),
     (["--set", f"{GROUP}.cdu=coolchip-600"], "unknown cdu id"),
     (["--set", "cooling.rack_groups.1.cdu=coolit-chx750"], "unknown key 'cdu'")],
)
def test_cdu_bad_input_exits_2(args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["plan", "gb200-nvl72", *args])
    assert result.exit_code == 2 and needle in result.output and "Traceback" not in result.output
