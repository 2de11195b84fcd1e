"""The roles run their daemons as systemd units (no home-made daemon helper), restart them through systemd,
and install the Slurm configuration checker before slurm.conf is checked with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"
SITE = ROLES.parent / "playbooks" / "site.yml"
DAEMON_ROLES = {
    "munge": ["munge"],
    "slurm_controller": ["slurmctld"],
    "slurm_dbd": ["mariadb", "slurmdbd"],
    "slurm_compute": ["slurmd"],
    "node_exporter": ["prometheus-node-exporter"],
    "prometheus": ["prometheus"],
    "mlflow": ["mlflow"],
    "dcgm": ["nvidia-dcgm", "dcgm-exporter"],
    "nvidia_driver": ["nvidia-persistenced", "nvidia-fabricmanager", "nvidia-imex"],
    "power_caps": ["aifactory-gpu-power-cap"],
}


def _tasks(path: Path) -> list[dict[str, Any]]:
    """Tasks of a task file, blocks flattened."""
    out: list[dict[str, Any]] = []
    for task in yaml.safe_load(path.read_text()) or []:
        out.append(task)
        out.extend(t for t in task.get("block", []))
    return out


def test_no_role_or_playbook_uses_the_removed_daemon_helper() -> None:
    texts = [p.read_text() for p in [*ROLES.rglob("*.yml"), *ROLES.rglob("*.j2"), SITE]]
    assert not [t for t in texts if "aifactory-daemon" in t or "tasks_from: daemon" in t]
    assert not (ROLES / "base" / "tasks" / "daemon.yml").exists()


@pytest.mark.parametrize("role", sorted(DAEMON_ROLES))
def test_daemon_roles_start_their_units_through_base_service(role: str) -> None:
    started = [
        t["vars"]["base_service_unit"]
        for t in _tasks(ROLES / role / "tasks" / "main.yml")
        if t.get("ansible.builtin.include_role", {}).get("tasks_from") == "service"
    ]
    assert DAEMON_ROLES[role] == started


# slurm_controller's and slurm_compute's restarts are slurm_common's handlers (every Slurm daemon re-reads
# slurm.conf; slurmd restarts in rolling batches, tests/roles/test_slurm_rolling_restart.py).
HANDLER_ROLES = sorted({*DAEMON_ROLES, "slurm_common"} - {"slurm_controller", "slurm_compute"})
# The one command a handler may run: Slurm's own reload, which tells the running daemons to re-read slurm.conf.
RELOADS = [{"argv": ["scontrol", "reconfigure"]}]


@pytest.mark.parametrize("role", HANDLER_ROLES)
def test_daemon_handlers_restart_through_systemd(role: str) -> None:
    handlers = _tasks(ROLES / role / "handlers" / "main.yml")
    restarts = [h for h in handlers if "ansible.builtin.systemd_service" in h]
    assert restarts, f"{role}: no handler restarts a unit"
    assert all(h["ansible.builtin.systemd_service"]["state"] == "restarted" for h in restarts)
    assert not [h for h in handlers if "ansible.builtin.shell" in h]
    assert not [h for h in handlers if h.get("ansible.builtin.command", RELOADS[0]) not in RELOADS]


def _render(expr: str, host: str, groups: dict[str, list[str]]) -> Any:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["intersect"] = lambda a, b: [x for x in a if x in b]
    return yaml.safe_load(env.from_string(expr).render(inventory_hostname=host, groups=groups))


def test_slurm_common_installs_slurmd_on_compute_nodes_before_checking_slurm_conf() -> None:
    """On a fresh compute node slurmd (which ships `slurmd -G`) is installed before slurm.conf is checked;
    controllers get slurmctld, login hosts only the client."""
    tasks = _tasks(ROLES / "slurm_common" / "tasks" / "main.yml")
    install = next(
        i for i, t in enumerate(tasks) if "slurm_common_daemon_packages" in str(t.get("ansible.builtin.apt"))
    )
    check = next(i for i, t in enumerate(tasks) if "slurmd -G" in str(t.get("ansible.builtin.template", {})))
    assert install < check
    defaults = yaml.safe_load((ROLES / "slurm_common" / "defaults" / "main.yml").read_text())
    expr = defaults["slurm_common_daemon_packages"]
    groups = {"slurm_controller": ["ctl"], "compute": ["gpu1", "k8s1"], "slurm": ["gpu1"], "login": ["login1"]}
    assert ["slurmd"] == _render(expr, "gpu1", groups)
    assert ["slurmctld"] == _render(expr, "ctl", groups)
    assert [] == _render(expr, "login1", groups)
    assert [] == _render(expr, "k8s1", groups)


def test_skip_fast_check_asks_systemd_about_recorded_units() -> None:
    check = yaml.safe_load(SITE.read_text())[0]["tasks"][0]["ansible.builtin.shell"]["cmd"]
    assert "/etc/aifactory/units/*" in check
    assert "systemctl is-active" in check
