"""`aifactory plan` and `aifactory diff` through CliRunner and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aifactory.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_plan_json_superpod() -> None:
    result = runner.invoke(app, ["plan", "blueprints/dgx-h100-superpod.yaml", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    c = data["fabric"]["compute"]
    assert (
        data["nodes"],
        data["gpus"],
        c["leaf_switches"],
        c["spine_switches"],
        c["core_switches"],
        c["node_links"],
        c["leaf_spine_links"],
        c["spine_core_links"],
        c["oversubscription"],
    ) == (31, 248, 8, 4, 0, 252, 256, 0, 1.0)
    assert data["schema_version"] == 1
    assert {"it_kw", "facility_kw"} <= set(data["power"])
    assert {"racks", "max_rack_kw"} <= set(data["cooling"])
    assert {"read_gbps", "write_gbps", "read_gbps_per_gpu"} <= set(data["storage"])
    assert {"peak_pflops_bf16", "tokens_per_s", "tokens_per_joule"} <= set(data["kpi"])
    assert {"item": "node", "model": "dgx-h100", "count": 31} in data["bom"]


def test_findings_exit_1_with_file_line() -> None:
    result = runner.invoke(
        app,
        [
            "plan",
            "blueprints/dgx-h100-superpod.yaml",
            "--format",
            "json",
            "--set",
            "cooling.facility_power=100kW",
            "--set",
            "compute.nodes_per_rack=8",
        ],
    )
    assert result.exit_code == 1
    found = {f["code"]: f for f in json.loads(result.output)["findings"]}
    assert {"facility-power", "rack-heat", "rack-power"} <= set(found)
    assert found["rack-heat"]["file"] == "--set compute.nodes_per_rack=8"  # the value that caused it
    assert found["facility-power"]["file"] == "blueprints/dgx-h100-superpod.yaml"
    assert found["facility-power"]["line"] > 0
    assert found["rack-heat"]["related"] == "cooling.rack_groups.0.capacity"


def test_overlapping_cidr_is_a_finding() -> None:
    result = runner.invoke(
        app,
        ["plan", "dgx-h100-superpod", "--format", "json", "--set", "fabric.addressing.oob=192.168.0.0/16"],
    )
    assert result.exit_code == 1
    codes = [f["code"] for f in json.loads(result.output)["findings"]]
    assert "cidr-overlap" in codes


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "missing.yaml"],
        ["plan", "dgx-h100-superpod", "--set", "nope"],
        ["plan", "dgx-h100-superpod", "--set", "compute.nodes=zero"],
    ],
)
def test_bad_input_exits_2(args: list[str]) -> None:
    assert runner.invoke(app, args).exit_code == 2


def test_out_is_deterministic(tmp_path: Path) -> None:
    for d in ("a", "b"):
        result = runner.invoke(app, ["plan", "gb200-nvl72", "--out", str(tmp_path / d)])
        assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == [
        ".aifactory-output",  # the marker of a folder `plan --out` replaces as a whole (aifactory.io)
        "bom.csv",
        "cabling.csv",
        "hosts.csv",
        "plan.json",
        "racks.png",
        "racks.svg",
        "topology.png",
        "topology.svg",
    ]
    for n in names:
        assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes(), n
    cables = (tmp_path / "a" / "cabling.csv").read_text().splitlines()
    plan = json.loads((tmp_path / "a" / "plan.json").read_text())
    total = sum(sum(n["links"].values()) for n in plan["fabric"].values())
    assert total == len(cables) - 1


def test_diff_two_to_four_sus(tmp_path: Path) -> None:
    head = tmp_path / "head.yaml"
    head.write_text("extends: dgx-h100-superpod\ncompute: {scalable_units: 2}\n")
    base = ROOT / "blueprints" / "dgx-h100-superpod.yaml"
    result = runner.invoke(app, ["diff", str(base), str(head), "--format", "json"])
    assert result.exit_code == 0, result.output
    figures = {f["figure"]: f for f in json.loads(result.output)["figures"]}
    assert (figures["gpus"]["base"], figures["gpus"]["head"], figures["gpus"]["delta"]) == (248, 504, 256)
    assert figures["fabric.compute.spine_switches"]["delta"] == 4


def test_subprocess_plan() -> None:
    proc = subprocess.run(
        [sys.executable, "cli.py", "plan", "lab", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["nodes"] == 2
    bad = subprocess.run(
        [sys.executable, "cli.py", "plan", "nothere.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
