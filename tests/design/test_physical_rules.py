"""Physical rules the design engine checks (issue 16 item 2; shared/reviews/physics.md items 7, 9-13, 15, 16).

Each rule is triggered by a small blueprint that extends a reference one, and the finding must name the rule,
the file and the line that caused it; `plan` exits 1. The reference blueprints themselves stay clean.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aifactory.cli.main import app
from aifactory.design import Plan
from tests.conftest import REFERENCE_BLUEPRINTS

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def _plan_json(path: str, *sets: str) -> tuple[int, dict[str, Any]]:
    args = ["plan", path, "--format", "json"]
    for s in sets:
        args += ["--set", s]
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    data: dict[str, Any] = json.loads(result.output)
    return result.exit_code, data


def _fixture(tmp_path: Path, text: str) -> tuple[str, dict[str, int]]:
    """Write a blueprint; return its path and the line of every `# here: NAME` mark."""
    path = tmp_path / "factory.yaml"
    path.write_text(text)
    marks = {
        line.split("# here:")[1].strip(): n
        for n, line in enumerate(text.splitlines(), start=1)
        if "# here:" in line
    }
    return str(path), marks


def _findings(data: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["code"] == code]


def _at(data: dict[str, Any], code: str, path: str, line: int) -> dict[str, Any]:
    """The one finding of `code` on `path`:`line`."""
    hits = [f for f in _findings(data, code) if f["file"] == path and f["line"] == line]
    assert len(hits) == 1, (code, path, line, data["findings"])
    return hits[0]


@pytest.mark.parametrize("name", REFERENCE_BLUEPRINTS)
def test_reference_blueprints_have_no_findings(name: str, plan_of: Callable[..., Plan]) -> None:
    assert plan_of(name).checks == []


# 1. Rack height (review item 9: 6 DGX H100 in a 42U rack were placed at U3-U50, 5 DGX B200 reached U52).


@pytest.mark.parametrize(
    ("ref", "per_rack", "span"),
    [("dgx-h100-superpod", 6, "48U (U3-U50)"), ("b200-spectrum-x", 5, "50U (U3-U52)")],
)
def test_nodes_above_the_rack_height(tmp_path: Path, ref: str, per_rack: int, span: str) -> None:
    path, line = _fixture(tmp_path, f"extends: {ref}\ncompute:\n  nodes_per_rack: {per_rack}  # here: npr\n")
    code, data = _plan_json(path)
    assert code == 1
    f = _at(data, "rack-height", path, line["npr"])
    assert span in f["message"] and "42U rack" in f["message"]
    assert f["related"] == "compute.node_sku"


def test_rack_height_at_the_limit_is_clean(plan_of: Callable[..., Plan]) -> None:
    # 4 x 10U DGX B200 fill U3-U42 exactly; 5 x 8U DGX H100 fill U3-U42 too
    assert not [c for c in plan_of("b200-spectrum-x").checks if c.code == "rack-height"]
    five = plan_of("dgx-h100-superpod", "compute.nodes_per_rack=5")
    assert not [c for c in five.checks if c.code == "rack-height"]


def test_rack_height_counts_the_nodes_a_rack_holds(plan_of: Callable[..., Plan]) -> None:
    # 6 per rack asked, but only 5 nodes in all: the one rack holds 5 x 8U = 40U, which fits
    p = plan_of("dgx-h100-superpod", "compute.nodes_per_rack=6", "compute.nodes=5")
    assert not [c for c in p.checks if c.code == "rack-height"]
    p = plan_of("dgx-h100-superpod", "compute.nodes_per_rack=6", "compute.nodes=6")
    assert [c.path for c in p.checks if c.code == "rack-height"] == [("compute", "nodes_per_rack")]


def test_nvl72_switch_trays_take_rack_units(plan_of: Callable[..., Plan]) -> None:
    # 18 trays + 9 NVLink switch trays = 27U; 36 trays would need 45U
    p = plan_of("gb200-nvl72", "compute.nodes_per_rack=36")
    height = [c for c in p.checks if c.code == "rack-height"]
    assert len(height) == 1 and "9U of NVLink switch trays take 45U" in height[0].message


# 2. NVL72 domains whole and one per rack (review item 10).


@pytest.mark.parametrize("per_rack", [9, 16, 36])
def test_nvl72_domain_split_across_racks(tmp_path: Path, per_rack: int) -> None:
    path, line = _fixture(tmp_path, f"extends: gb200-nvl72\ncompute:\n  nodes_per_rack: {per_rack}  # here: npr\n")
    code, data = _plan_json(path)
    assert code == 1
    f = _at(data, "nvlink-domain", path, line["npr"])
    assert "one rack of 18 nodes" in f["message"] and "set nodes_per_rack to 18" in f["hint"]


def test_nvl72_partial_domain(tmp_path: Path) -> None:
    path, line = _fixture(tmp_path, "extends: gb200-nvl72\ncompute:\n  nodes: 150  # here: nodes\n")
    code, data = _plan_json(path)
    assert code == 1
    f = _at(data, "nvlink-domain", path, line["nodes"])
    assert "150 nodes are not whole 18-node NVLink domains" in f["message"]
    assert "144 or 162" in f["hint"]


def test_nvl72_whole_domains_are_clean(plan_of: Callable[..., Plan]) -> None:
    p = plan_of("gb200-nvl72", "compute.nodes=162", "compute.nodes_per_su=162")
    assert not [c for c in p.checks if c.code == "nvlink-domain"]


# 3. Passive rear doors (review item 11): ~35 kW (REFERENCE-DATA.md s5), whatever the capacity says.

_GROUPS_H100 = """extends: dgx-h100-superpod
cooling:
  rack_groups:
    - name: compute
      type: {type}
      capacity: 45kW  # here: capacity
{extra}      holds: [compute]
    - {{name: network, type: air, capacity: 20kW, holds: [fabric, management, storage]}}
"""


def test_passive_rear_door_holds_35kw(tmp_path: Path) -> None:
    text = _GROUPS_H100.format(type="rear-door", extra="      active: false  # here: active\n")
    path, line = _fixture(tmp_path, text)
    code, data = _plan_json(path)
    assert code == 1
    heat = _findings(data, "rack-heat")
    assert len(heat) == 1, heat
    f = heat[0]
    assert "passive rear-door limit (35 kW" in f["message"] and "40.8 kW" in f["message"]
    assert f["related"] == "cooling.rack_groups.0.active"
    assert f["related_location"].startswith(f"{path}:{line['active']}:")
    # the same rack behind active doors is fine
    code, data = _plan_json(path, "cooling.rack_groups.0.active=true")
    assert (code, _findings(data, "rack-heat")) == (0, [])


def test_passive_doors_fit_fewer_nodes(plan_of: Callable[..., Plan], tmp_path: Path) -> None:
    # without nodes_per_rack the engine places what a passive door can cool: 3 x 10.2 kW (4 would be 40.8)
    text = _GROUPS_H100.format(type="rear-door", extra="      active: false\n").replace(
        "extends: dgx-h100-superpod\n", "extends: dgx-h100-superpod\ncompute:\n  nodes_per_rack: null\n"
    )
    path, _ = _fixture(tmp_path, text)
    code, data = _plan_json(path)
    assert (code, data["cooling"]["nodes_per_rack"]) == (0, 3)


# 4. A cooling attribute per node SKU (review item 12).


def test_air_cooled_nodes_in_a_direct_liquid_group(tmp_path: Path) -> None:
    text = """extends: b200-spectrum-x
cooling:
  rack_groups:
    - name: compute
      type: direct-liquid  # here: type
      capacity: 80kW
      liquid_fraction: 0.8
      holds: [compute]
    - {name: network, type: air, capacity: 25kW, holds: [fabric, management, storage]}
"""
    path, line = _fixture(tmp_path, text)
    code, data = _plan_json(path)
    assert code == 1
    f = _at(data, "node-cooling", path, line["type"])
    assert "air-cooled system" in f["message"] and "57.2 kW" in f["message"]
    assert f["related"] == "compute.node_sku"
    # its heat goes to air: the whole rack, not 20 % of it
    air = [h for h in _findings(data, "rack-heat") if "air-side heat" in h["message"]]
    assert len(air) == 1 and "57.2 kW (the node SKU is air-cooled)" in air[0]["message"]


def test_liquid_cooled_nodes_in_an_air_group(tmp_path: Path) -> None:
    text = """extends: gb200-nvl72
cooling:
  rack_groups:
    - {name: nvl72, type: air, capacity: 30kW, holds: [compute]}  # here: group
    - {name: network, type: air, capacity: 25kW, holds: [fabric, management, storage]}
"""
    path, line = _fixture(tmp_path, text)
    code, data = _plan_json(path)
    assert code == 1
    f = _findings(data, "node-cooling")
    assert len(f) == 1 and f[0]["line"] == line["group"] and "liquid-cooled system" in f[0]["message"]


# 5. Link speed versus NIC speed in plan (review item 16).


def test_link_faster_than_the_nic(tmp_path: Path) -> None:
    text = "extends: gb200-nvl72\nfabric:\n  compute:\n    link_speed: 800G  # here: speed\n"
    path, line = _fixture(tmp_path, text)
    code, data = _plan_json(path)
    assert code == 1
    f = _at(data, "link-speed", path, line["speed"])
    assert "800G" in f["message"] and "400G compute NICs" in f["message"]


# 6. power_limit: 0kW means zero.


def test_zero_power_limit_means_zero(tmp_path: Path) -> None:
    text = _GROUPS_H100.format(type="rear-door", extra="      power_limit: 0kW  # here: limit\n")
    path, line = _fixture(tmp_path, text)
    code, data = _plan_json(path)
    assert code == 1
    power = _findings(data, "rack-power")
    assert len(power) == 1 and "rack feed of 0 kW" in power[0]["message"]
    assert power[0]["related"] == "cooling.rack_groups.0.power_limit"
    assert power[0]["related_location"].startswith(f"{path}:{line['limit']}:")


def test_zero_power_limit_on_the_network_group(tmp_path: Path) -> None:
    text = """extends: dgx-h100-superpod
cooling:
  rack_groups:
    - {name: compute, type: rear-door, capacity: 45kW, holds: [compute]}
    - {name: network, type: air, capacity: 20kW, power_limit: 0kW, holds: [fabric, management]}  # here: net
"""
    path, line = _fixture(tmp_path, text)
    code, data = _plan_json(path)
    assert code == 1
    f = _at(data, "rack-power", path, line["net"])
    assert "'network'" in f["message"] and "0 kW" in f["message"]


# 7. A single-rack edge site is one rack (review item 13).


def test_edge_site_is_one_rack(plan_of: Callable[..., Plan]) -> None:
    p = plan_of("edge-l40s-inference")
    assert (p.total_racks, p.power.network_racks, p.pdus) == (1, 0, 1)
    # the rack carries the switches and the server too, and the inventory puts the server above the nodes
    assert p.power.compute_rack_w == pytest.approx(p.power.it_w)
    (server,) = [h for h in p.hosts if "compute" not in h.functions]
    assert (server.rack, server.rack_unit) == ("r0001", 3 + 4 * 2)


def test_edge_site_beyond_one_rack_gets_a_network_rack(plan_of: Callable[..., Plan]) -> None:
    # 8 nodes need two compute racks of 4: switches go to a network rack as before
    p = plan_of("edge-l40s-inference", "compute.nodes=8", "compute.nodes_per_su=8", "cooling.facility_power=80kW")
    assert (p.racks.compute_racks, p.power.network_racks) == (2, 1)
    # and one rack whose feed has no room left for the switches keeps them apart
    full = plan_of("edge-l40s-inference", "compute.nodes_per_rack=5", "compute.nodes=5", "compute.nodes_per_su=5")
    assert (full.racks.compute_racks, full.power.network_racks) == (1, 1)


# 8. Fabric-manager ports cost exactly the slots they use (review item 7; RA-11333-001: the UFM costs one slot).


@pytest.mark.parametrize(("appliances", "ports", "nodes"), [(1, 4, 31), (2, 2, 31), (2, 4, 31), (4, 4, 30)])
def test_fabric_manager_slots(plan_of: Callable[..., Plan], appliances: int, ports: int, nodes: int) -> None:
    p = plan_of(
        "dgx-h100-superpod",
        f"fabric.compute.fabric_manager.appliances={appliances}",
        f"fabric.compute.fabric_manager.ports={ports}",
    )
    assert p.nodes == nodes
    assert not [c for c in p.checks if c.code == "ports-exhausted"]


# 10. tokens/J per node maximum power and per IT load, each labelled (review item 15).


@pytest.mark.parametrize(("ref", "published"), [("dgx-h100-superpod", 2.40), ("dgx-h200-sovereign-eu", 3.07)])
def test_tokens_per_joule_both_ways(ref: str, published: float) -> None:
    # REFERENCE-DATA.md s6: MLPerf Inference v4.1 Llama-2-70B Offline tokens/J at 10.2 kW max node power
    _, data = _plan_json(f"blueprints/{ref}.yaml")
    k = data["kpi"]
    assert round(k["tokens_per_joule_node_max_power"], 2) == published
    assert k["tokens_per_joule_it_load"] == k["tokens_per_joule"]
    assert k["tokens_per_joule_it_load"] < k["tokens_per_joule_node_max_power"]  # IT adds switches and NICs
    text = runner.invoke(app, ["plan", f"blueprints/{ref}.yaml"], env={"COLUMNS": "200"}).output
    assert f"tokens/J {k['tokens_per_joule_node_max_power']} at node maximum power" in text
    assert f"{k['tokens_per_joule_it_load']} of IT load" in text
