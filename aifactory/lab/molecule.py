"""Run the roles' molecule scenarios (podman driver) against the lab image.

Each role keeps its scenario in `roles/<role>/molecule/default/`; the driver, platform and test sequence
(create, prepare, converge, idempotence, verify, destroy) are shared in `.config/molecule/config.yml`.
The instance is a podman container from the same debootstrap image the lab's hosts run, so a scenario needs
no registry. This module sets what that shared configuration reads from the environment: the image, an
instance name per role (a leftover of one role never collides with another), and the lab's containers.conf
(runc, cgroupfs, ulimits within this machine's limits). Scenarios whose role needs the lab's Python
environment (MLflow, torch; the instance has no network to fill one from PyPI) bind-mount it from
`AIFACTORY_LAB_VENV`, as the lab's hosts do; the runner builds it first when such a scenario runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aifactory import resources
from aifactory.errors import UserError
from aifactory.lab import venv

ROLES_DIR = resources.roles_dir()
# Molecule runs each scenario from its role's folder and writes its state there, with the shared configuration
# of the checkout's .config/: the scenarios run from a source checkout, not from an installed package.
CHECKOUT = resources.source_root()
BASE_CONFIG = (CHECKOUT / ".config" / "molecule" / "config.yml") if CHECKOUT else None
SCENARIO = "default"
VENV_ENV = "AIFACTORY_LAB_VENV"


@dataclass(frozen=True)
class ScenarioResult:
    """How one role's scenario ended; `failed_step` is the molecule action that failed, if any."""

    role: str
    passed: bool
    seconds: float
    failed_step: str | None
    log: str

    def as_dict(self) -> dict[str, object]:
        return {
            "role": self.role,
            "passed": self.passed,
            "seconds": round(self.seconds, 1),
            "failed_step": self.failed_step,
            "log": self.log,
        }


def scenario_roles(roles_dir: Path = ROLES_DIR) -> list[str]:
    """Roles that have a default molecule scenario, sorted."""
    return sorted(p.parents[2].name for p in roles_dir.glob(f"*/molecule/{SCENARIO}/molecule.yml"))


def select_roles(requested: list[str], roles_dir: Path = ROLES_DIR) -> list[str]:
    """The requested roles (all when none), refusing names that have no scenario."""
    if BASE_CONFIG is None:
        raise UserError.at(
            None,
            "the molecule scenarios run from a source checkout (molecule writes beside each "
            "role), not from an installed package",
            hint="git clone the aifactory repository and run `aifactory lab molecule` from its venv",
        )
    known = scenario_roles(roles_dir)
    unknown = [r for r in requested if r not in known]
    if unknown:
        raise UserError.at(
            None,
            f"no molecule scenario for role(s) {', '.join(unknown)}",
            hint=f"roles with a scenario: {', '.join(known)}",
        )
    return requested or known


def uses_lab_venv(role: str, roles_dir: Path = ROLES_DIR) -> bool:
    """Whether the role's scenario mounts the lab's venv (its molecule.yml names `AIFACTORY_LAB_VENV`)."""
    return VENV_ENV in (roles_dir / role / "molecule" / SCENARIO / "molecule.yml").read_text()


def instance_name(role: str) -> str:
    return f"aifactory-molecule-{role.replace('_', '-')}"


def molecule_env(role: str, image: str, containers_conf: Path) -> dict[str, str]:
    """The environment molecule runs under for one role."""
    bindir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        # molecule calls ansible-playbook and ansible-config by name: take the ones beside this Python.
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "CONTAINERS_CONF": str(containers_conf),
        "AIFACTORY_LAB_IMAGE": image,
        "AIFACTORY_MOLECULE_HOST": instance_name(role),
        VENV_ENV: str(venv.venv_dir()),
        "NO_COLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "PY_COLORS": "0",
    }


def _failed_step(output: str) -> str | None:
    """The first molecule action reported as failed: lines like `default > verify: Executed: Failed` in the
    recap, or `ERROR    [default > verify] Executed: Failed` (possibly coloured) in the log."""
    for line in output.splitlines():
        found = re.search(r">\s*([\w-]+)", line) if "Executed: Failed" in line else None
        if found:
            return found.group(1)
    return None


def run_scenario(role: str, image: str, containers_conf: Path, log_dir: Path, timeout: float = 900) -> ScenarioResult:
    """`molecule test` for one role; the full output goes to `<log_dir>/<role>.log`."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{role}.log"
    molecule = str(Path(sys.executable).parent / "molecule")
    cmd = [molecule, "--base-config", str(BASE_CONFIG or ""), "test", "-s", SCENARIO]
    start = time.monotonic()
    if uses_lab_venv(role):
        venv.ensure_venv(log_dir / "venv.log")
    try:
        done = subprocess.run(
            cmd,
            cwd=ROLES_DIR / role,
            env=molecule_env(role, image, containers_conf),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output, rc = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        parts = [p.decode(errors="replace") if isinstance(p, bytes) else (p or "") for p in (exc.stdout, exc.stderr)]
        output, rc = "".join(parts) + f"\nmolecule timed out after {timeout:.0f}s\n", -1
        # The instances may still run: remove them by the names this runner gave them (a scenario with two
        # hosts names its second `<instance>-peer`).
        for name in (instance_name(role), instance_name(role) + "-peer"):
            subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
    log.write_text(output)
    step = None if rc == 0 else (_failed_step(output) or "molecule")
    return ScenarioResult(role, rc == 0, time.monotonic() - start, step, str(log))


def run_all(
    roles: list[str], image: str, containers_conf: Path, log_dir: Path, on_start: Callable[[str], None]
) -> list[ScenarioResult]:
    """Run the scenarios one after another (they share this machine's two cores)."""
    results = []
    for role in roles:
        on_start(role)
        results.append(run_scenario(role, image, containers_conf, log_dir))
    return results
