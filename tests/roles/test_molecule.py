"""Every role has a molecule scenario, and each one passes: converge, idempotence (a second run changes
nothing) and verify, in a podman container from the lab image."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from aifactory.errors import UserError
from aifactory.lab import molecule
from aifactory.lab.venv import venv_dir

ROLES = sorted(p.name for p in molecule.ROLES_DIR.iterdir() if (p / "tasks").is_dir())


def test_every_role_has_a_scenario() -> None:
    assert ROLES == molecule.scenario_roles()


@pytest.mark.parametrize("role", ROLES)
def test_scenario_has_converge_and_verify_playbooks(role: str) -> None:
    scenario = molecule.ROLES_DIR / role / "molecule" / "default"
    converge = yaml.safe_load((scenario / "converge.yml").read_text())
    verify = yaml.safe_load((scenario / "verify.yml").read_text())
    roles_applied = [r["role"] if isinstance(r, dict) else r for play in converge for r in play.get("roles", [])]
    included = [
        t["ansible.builtin.include_role"]["name"]
        for play in converge
        for t in play.get("tasks", [])
        if "ansible.builtin.include_role" in t
    ]
    assert role in roles_applied + included
    asserts = [t for play in verify for t in play.get("tasks", []) if "ansible.builtin.assert" in t]
    assert asserts, f"{role}: verify.yml has no assert"


def test_shared_config_runs_idempotence_and_verify() -> None:
    config = yaml.safe_load(molecule.BASE_CONFIG.read_text())
    assert "podman" == config["driver"]["name"]
    sequence = config["scenario"]["test_sequence"]
    assert sequence.index("converge") < sequence.index("idempotence") < sequence.index("verify")


def test_unknown_role_is_refused() -> None:
    with pytest.raises(UserError) as err:
        molecule.select_roles(["munge", "no_such_role"])
    assert "no_such_role" in str(err.value)


def test_failed_step_is_read_from_the_recap() -> None:
    out = "default > converge: Executed: Successful\ndefault > verify: Executed: Failed (Ansible return code 2)\n"
    assert "verify" == molecule._failed_step(out)
    assert molecule._failed_step("default > verify: Executed: Successful\n") is None
    # The log's own line comes first, bracketed and coloured.
    log = "ERROR    [default > idempotence] \x1b[31mExecuted: Failed\x1b[0m\n" + out
    assert "idempotence" == molecule._failed_step(log)


def test_scenarios_needing_the_lab_venv_get_its_path() -> None:
    needing = [role for role in molecule.scenario_roles() if molecule.uses_lab_venv(role)]
    env = molecule.molecule_env("mlflow", "image", Path("/c.conf"))
    assert ["burnin", "mlflow", "slurm_compute"] == needing
    assert str(venv_dir()) == env["AIFACTORY_LAB_VENV"]


needs_podman_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("podman") is None, reason="molecule's podman instances need root and podman"
)


@pytest.fixture(scope="module")
def lab_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    from aifactory.lab.image import ensure_image

    return ensure_image(tmp_path_factory.mktemp("image") / "image.log", "molecule")


@pytest.mark.slow
@pytest.mark.root
@needs_podman_root
@pytest.mark.parametrize("role", ROLES)
def test_molecule_scenario_passes(role: str, lab_image: str, tmp_path: Path) -> None:
    from aifactory.lab.podman import containers_conf

    result = molecule.run_scenario(role, lab_image, containers_conf(), tmp_path)
    tail = Path(result.log).read_text()[-5000:]
    assert result.passed, f"{role}: failed at {result.failed_step}\n{tail}"
