"""The `software.slurm` pin decides which Slurm the roles install: the OS's packages where the pin is the OS's
own Slurm (major.minor), else a build of the pinned release from source; the renderer then uses what that Slurm
can do (topology/block), and `aifactory plan` warns at the pin's line where it cannot express the design.
The build path is checked by ansible-playbook --syntax-check and Ansible's own evaluation of its gate; a real
build (minutes of compiling) does not run here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from aifactory.blueprint import load_blueprint
from aifactory.cli.main import app
from aifactory.deploy.ansible import ansible_env
from aifactory.render.group_vars import slurm_group_vars
from aifactory.render.slurm_install import slurm_install
from tests.roles.local_play import run_local_play

REPO = Path(__file__).resolve().parents[2]


def _bp(tmp_path: Path, os_name: str, pin: str | None, base: str = "gb200-nvl72") -> Any:
    pinned = f'  slurm: "{pin}"  # the pin\n' if pin else "  slurm: null\n"
    text = f"extends: {base}\nsoftware:\n  os: {os_name}\n" + pinned
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return load_blueprint(str(path)).model


@pytest.mark.parametrize(
    ("os_name", "pin", "method", "version"),
    [
        ("debian-12", "22.05", "distribution", "22.05"),
        ("debian-12", "22.05.8", "distribution", "22.05.8"),  # major.minor decides
        ("debian-12", "24.11.5", "source", "24.11.5"),
        ("ubuntu-24.04", "23.11", "distribution", "23.11"),
        ("ubuntu-24.04", "25.05.3", "source", "25.05.3"),
        ("ubuntu-22.04", None, "distribution", "21.08"),  # unpinned: the OS's own
    ],
)
def test_the_pin_chooses_packages_or_a_build(tmp_path: Path, os_name: str, pin: str | None, method: str,
                                             version: str) -> None:  # fmt: skip
    found = slurm_install(_bp(tmp_path, os_name, pin))
    assert (method, version) == (found.method, found.version)


def test_a_built_slurm_gets_topology_block_and_the_distributions_does_not(tmp_path: Path) -> None:
    from aifactory.design import plan

    built = _bp(tmp_path, "ubuntu-24.04", "25.05.3")
    found = slurm_group_vars(built, plan(built).hosts)
    assert ("source", "25.05.3") == (found["slurm_common_install_method"], found["slurm_common_version"])
    assert "topology/block" == found["slurm_common_topology_plugin"] and not found["slurm_common_topology_notes"]
    shipped = _bp(tmp_path, "debian-12", "22.05")
    found = slurm_group_vars(shipped, plan(shipped).hosts)
    assert "distribution" == found["slurm_common_install_method"]
    assert "topology/tree" == found["slurm_common_topology_plugin"] and found["slurm_common_topology_notes"]


def test_plan_warns_at_the_pins_line_where_its_slurm_cannot_express_the_design(tmp_path: Path) -> None:
    _bp(tmp_path, "debian-12", "22.05")
    path = tmp_path / "site.yaml"
    result = CliRunner().invoke(app, ["plan", str(path)])
    assert 0 == result.exit_code, result.output
    assert f"warning: {path}:4:" in result.stderr and "no topology/block" in result.stderr
    _bp(tmp_path, "ubuntu-24.04", "24.11.5")
    assert "warning" not in CliRunner().invoke(app, ["plan", str(path)]).stderr


def test_the_build_path_parses_and_a_source_install_skips_the_packages(tmp_path: Path) -> None:
    build = {"name": "Build", "ansible.builtin.include_role": {"name": "slurm_common", "tasks_from": "build"}}
    play = [{"name": "Build", "hosts": "all", "gather_facts": False, "tasks": [build]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    (tmp_path / "hosts.yml").write_text("all:\n  hosts:\n    h1: {}\n")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "--syntax-check", "-i", "hosts.yml", "play.yml"],
        cwd=tmp_path, capture_output=True, text=True, env=ansible_env(), timeout=120, check=False,
    )  # fmt: skip
    assert 0 == done.returncode, done.stdout + done.stderr
    tasks = yaml.safe_load((REPO / "roles" / "slurm_common" / "tasks" / "main.yml").read_text())
    gates = {t["name"]: t.get("when") for t in tasks[:2]}
    assert {"Slurm | Install client and daemon packages": "slurm_common_install_method == 'distribution'",
            "Slurm | Build and install the pinned release from source": "slurm_common_install_method == 'source'",
            } == gates  # fmt: skip


@pytest.mark.parametrize(("version", "sha", "ok"), [("25.05", "a" * 64, False), ("25.05.3", "", False),
                                                    ("25.05.3", "a" * 64, True)])  # fmt: skip
def test_a_build_needs_a_full_release_and_its_checksum(tmp_path: Path, version: str, sha: str, ok: bool) -> None:
    build = yaml.safe_load((REPO / "roles" / "slurm_common" / "tasks" / "build.yml").read_text())
    check = dict(build[0])
    variables = {"slurm_common_version": version, "slurm_common_source_sha256": sha}
    done = run_local_play(tmp_path, [{"name": "Gate", "hosts": "node01", "gather_facts": False,
                                      "connection": "local", "tasks": [check], "vars": variables}])  # fmt: skip
    assert ok == (done.returncode == 0), done.stdout
    if not ok:
        assert "needs a full release" in done.stdout
