"""The per-GPU power limit the design gives the nodes (aifactory.design.power.gpu_cap_w): the GPU's maximum, the
blueprint's cap where lower, and what the rack's cooling and feed leave where that is lower still."""

from __future__ import annotations

from pathlib import Path

from aifactory.blueprint import load_blueprint
from aifactory.blueprint.model import Blueprint
from aifactory.catalog import get_catalog
from aifactory.design.placement import compute_group, rack_budget
from aifactory.design.power import gpu_cap_w

REPO_ROOT = Path(__file__).resolve().parents[2]


def _bp(tmp_path: Path, text: str = "") -> Blueprint:
    path = tmp_path / "site.yaml"
    path.write_text(f"extends: dgx-h100-superpod\nname: site\n{text}")
    return load_blueprint(str(path)).model


def test_a_rack_within_its_budget_gets_the_gpus_maximum(tmp_path: Path) -> None:
    bp = _bp(tmp_path)
    assert 700.0 == gpu_cap_w(bp, get_catalog(), rack_budget(compute_group(bp)) - 1.0, 4)


def test_the_blueprints_cap_wins_where_lower(tmp_path: Path) -> None:
    bp = _bp(tmp_path, "compute:\n  gpu_power_cap: 650W\n")
    assert 650.0 == gpu_cap_w(bp, get_catalog(), 1000.0, 4)


def test_a_rack_over_its_budget_shares_what_is_left_over_its_gpus(tmp_path: Path) -> None:
    bp = _bp(tmp_path)
    budget = rack_budget(compute_group(bp))
    # 4 nodes of 8 GPUs at 700 W, 100 W per GPU over the budget: each GPU is held to 600 W
    assert 600.0 == gpu_cap_w(bp, get_catalog(), budget + 4 * 8 * 100.0, 4)
    assert 599.0 == gpu_cap_w(bp, get_catalog(), budget + 4 * 8 * 100.5, 4)


def test_nodes_without_gpus_get_no_cap() -> None:
    bp = load_blueprint(str(REPO_ROOT / "blueprints" / "lab.yaml")).model
    assert 0.0 == gpu_cap_w(bp, get_catalog(), 0.0, 1)
