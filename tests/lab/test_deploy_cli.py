"""`aifactory deploy BLUEPRINT --render-inventory DIR` (runner and real process), and bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from aifactory.cli.main import app

REPO = Path(__file__).resolve().parents[2]


def test_render_inventory_writes_the_blueprint_inventory(tmp_path: Path) -> None:
    out = tmp_path / "inv"
    result = CliRunner().invoke(
        app, ["deploy", str(REPO / "blueprints/lab.yaml"), "--render-inventory", str(out), "--set",
              "compute.nodes=3", "--format", "json"],
    )  # fmt: skip
    assert 0 == result.exit_code, result.output
    assert ["group_vars/all.yml", "hosts.yml"] == sorted(
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()
    )
    assert "lab003:" in (out / "hosts.yml").read_text()


def test_render_inventory_as_a_process_gives_the_same_bytes(tmp_path: Path) -> None:
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        done = subprocess.run(
            [sys.executable, str(REPO / "cli.py"), "deploy", str(REPO / "blueprints/dgx-h100-superpod.yaml"),
             "--render-inventory", str(out)],
            capture_output=True, text=True, timeout=120, check=False, cwd=REPO,
        )  # fmt: skip
        assert 0 == done.returncode, done.stderr
    for name in ("hosts.yml", "group_vars/all.yml"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()


def test_deploy_without_inventory_is_unusable_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["deploy", str(REPO / "blueprints/lab.yaml")])
    assert 2 == result.exit_code
    assert "no inventory given" in result.output


def test_render_inventory_of_a_missing_blueprint_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["deploy", str(tmp_path / "nope.yaml"), "--render-inventory", str(tmp_path)])
    assert 2 == result.exit_code
    assert "blueprint file not found" in result.output


def test_lab_up_rejects_four_nodes_with_exit_2() -> None:
    result = CliRunner().invoke(app, ["lab", "up", "--nodes", "4"])
    assert 2 == result.exit_code
    assert "--nodes 4 is outside the lab's range 1-3" in result.output
