"""One owner per node component on the host side: the blueprint's `software.installed_by` reaches the
nvidia_driver and dcgm roles as `*_installed_by`, the roles' argument specs accept only host or operator, and
Ansible itself evaluates each role's install block to "run" only for host ownership on a GPU node."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from aifactory.blueprint import load_blueprint
from aifactory.render.group_vars import software_vars
from tests.roles.local_play import run_local_play

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES = {  # role -> (its ownership variable, the name of its install block, its PCI count register)
    "nvidia_driver": ("nvidia_driver_installed_by", "NVIDIA driver | Install and run the driver stack",
                      "nvidia_driver_pci"),
    "dcgm": ("dcgm_installed_by", "DCGM | Install and run DCGM", "dcgm_pci"),
}  # fmt: skip
VARS = {"nvidia_driver": "driver", "dcgm": "dcgm"}


def _blueprint(tmp_path: Path, base: str, installed_by: str = "") -> Any:
    text = f"extends: {base}\nname: site\n"
    if installed_by:
        text += f"software:\n  installed_by: {installed_by}\n"
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return load_blueprint(str(path)).model


@pytest.mark.parametrize("choice", ["host", "operator"])
def test_group_vars_carry_the_blueprints_owner(tmp_path: Path, choice: str) -> None:
    bp = _blueprint(tmp_path, "dgx-h100-superpod", f"{{driver: {choice}, dcgm: {choice}}}")
    found = software_vars(bp)
    assert (choice, choice) == (found["nvidia_driver_installed_by"], found["dcgm_installed_by"])


def test_a_pinned_component_defaults_to_the_host(tmp_path: Path) -> None:
    bp = _blueprint(tmp_path, "dgx-h100-superpod")
    assert bp.software.driver and bp.software.dcgm and bp.software.installed_by.driver is None
    found = software_vars(bp)
    assert ("host", "host") == (found["nvidia_driver_installed_by"], found["dcgm_installed_by"])


def _run(tmp_path: Path, tasks: list[dict[str, Any]], variables: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    play = [{"name": "Owner", "hosts": "node01", "gather_facts": False, "connection": "local", "vars": variables,
             "tasks": tasks}]  # fmt: skip
    return run_local_play(tmp_path, play)


def _spec_check(role: str) -> dict[str, Any]:
    specs = yaml.safe_load((REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return {"name": "Spec", "ansible.builtin.validate_argument_spec": {
        "argument_spec": specs["argument_specs"]["main"]["options"]}}  # fmt: skip


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("choice", ["host", "operator"])
def test_the_role_installs_only_what_the_host_owns(tmp_path: Path, role: str, choice: str) -> None:
    variable, block_name, register = ROLES[role]
    bp = _blueprint(tmp_path, "dgx-h100-superpod", f"{{{VARS[role]}: {choice}}}")
    defaults = yaml.safe_load((REPO_ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    rendered = {k: v for k, v in software_vars(bp).items() if k in defaults}
    assert rendered[variable] == choice
    tasks = yaml.safe_load((REPO_ROOT / "roles" / role / "tasks" / "main.yml").read_text())
    (block,) = [t for t in tasks if t.get("name") == block_name]
    conditions = block["when"] if isinstance(block["when"], list) else [block["when"]]
    gate = " and ".join(f"({c})" for c in conditions)
    check = {"name": "Gate", "ansible.builtin.debug": {"msg": f"GATE={{{{ {gate} }}}}"}}
    done = _run(tmp_path, [_spec_check(role), check], {**defaults, **rendered, register: {"stdout": "8"}})
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"GATE={choice == 'host'}" in done.stdout, done.stdout


@pytest.mark.parametrize("role", sorted(ROLES))
def test_an_unknown_owner_is_refused_by_the_argument_spec(tmp_path: Path, role: str) -> None:
    variable = ROLES[role][0]
    defaults = yaml.safe_load((REPO_ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    done = _run(tmp_path, [_spec_check(role)], {**defaults, variable: "both"})
    assert done.returncode != 0
    assert variable in done.stdout
