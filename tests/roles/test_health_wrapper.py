"""slurm_compute's node check programs (templates/aifactory-health.j2), rendered by Ansible with the role's
defaults and run here: the check's arguments come from the node's gres count, its simulated GPUs and the
driver pin; a failure drains through scontrol and exits 1, a pass as HealthCheckProgram resumes the check's
own drain; a missing interpreter drains with the check's reason. scontrol and logger are replaced by scripts
that answer in scontrol's format and log their arguments; the check itself is the real one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.roles.local_play import run_local_play

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES = REPO_ROOT / "roles"
SCONTROL = """#!/bin/sh
echo "scontrol $*" >> "$CALLS"
if [ "$1" = show ]; then
  printf 'NodeName=%s Arch=x86_64\\n   State=%s ThreadsPerCore=1\\n' "$3" "$FAKE_STATE"
  [ -n "$FAKE_REASON" ] && printf '   Reason=%s [root@2026-12-02T04:01:02]\\n' "$FAKE_REASON"
fi
exit 0
"""
LOGGER = '#!/bin/sh\necho "logger $*" >> "$CALLS"\n'


def _defaults() -> dict[str, object]:
    """The two roles' defaults, which the inventory's values override (play vars here, as role defaults are
    the weakest of Ansible's variables)."""
    out: dict[str, object] = {}
    for role in ("slurm_common", "slurm_compute"):
        out.update(yaml.safe_load((ROLES / role / "defaults/main.yml").read_text()))
    return out


def _render(tmp_path: Path, node_vars: dict[str, object]) -> dict[str, object]:
    """Render the three programs into tmp_path/sbin and dump the role's computed arguments."""
    play = [{
        "name": "Render", "hosts": "node01", "gather_facts": False, "connection": "local",
        "vars": {**_defaults(), "slurm_common_health_check_dir": str(tmp_path / "sbin"), **node_vars},
        "tasks": [
            {"name": "Folder", "ansible.builtin.file": {"path": str(tmp_path / "sbin"), "state": "directory"}},
            {"name": "Programs", "ansible.builtin.template": {
                "src": str(ROLES / "slurm_compute/templates/aifactory-health.j2"),
                "dest": "{{ slurm_common_health_check_dir }}/aifactory-health-{{ slurm_compute_health_mode }}",
                "mode": "0755"},
             "loop": ["healthcheck", "prolog", "epilog"], "loop_control": {"loop_var": "slurm_compute_health_mode"}},
            {"name": "Arguments", "ansible.builtin.copy": {
                "content": "{{ {'args': slurm_compute_health_args, 'python': slurm_compute_health_python} | to_yaml }}",
                "dest": str(tmp_path / "args.yml")}},
        ],
    }]  # fmt: skip
    done = run_local_play(tmp_path, play)
    assert done.returncode == 0, done.stdout + done.stderr
    loaded: dict[str, object] = yaml.safe_load((tmp_path / "args.yml").read_text())
    return loaded


def _run(tmp_path: Path, mode: str, state: str = "IDLE", reason: str = "") -> tuple[int, list[str]]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    for name, text in (("scontrol", SCONTROL), ("logger", LOGGER)):
        (bindir / name).write_text(text)
        (bindir / name).chmod(0o755)
    calls = tmp_path / "calls.log"
    calls.write_text("")
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "CALLS": str(calls), "PYTHONPATH": str(REPO_ROOT),
           "FAKE_STATE": state, "FAKE_REASON": reason}  # fmt: skip
    env.pop("SLURMD_NODENAME", None)
    done = subprocess.run([str(tmp_path / "sbin" / f"aifactory-health-{mode}")], env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    return done.returncode, calls.read_text().splitlines()


def test_the_arguments_follow_the_node(tmp_path: Path) -> None:
    nodes = [{"name": "node01", "gpus": 8}, {"name": "node02", "gpus": 4}]
    gpu = _render(tmp_path, {"slurm_common_nodes": nodes, "nvidia_driver_version": "570.124.06"})
    assert ["--gpus", "8", "--driver", "570.124.06"] == gpu["args"]
    assert "/opt/aifactory/venv/bin/python" == gpu["python"]
    lab = _render(tmp_path, {"slurm_common_nodes": [{"name": "node01", "gpus": 2}], "slurm_compute_simulated_gpus": 2,
                             "nvidia_driver_version": "570.124.06", "burnin_venv": "/srv/venv"})  # fmt: skip
    assert {"args": ["--gpus", "2", "--simulated"], "python": "/srv/venv/bin/python"} == lab


def test_a_failing_check_drains_and_a_passing_one_resumes_only_its_own_drain(tmp_path: Path) -> None:
    # No /dev/nvidia0 here: two simulated GPUs expected, none present.
    venv = str(Path(sys.executable).parent.parent)
    _render(tmp_path, {"slurm_common_nodes": [{"name": "node01", "gpus": 2}], "slurm_compute_simulated_gpus": 2,
                       "burnin_venv": venv})  # fmt: skip
    rc, calls = _run(tmp_path, "epilog")
    reason = "aifactory-health: 0 of 2 GPU device files present (/dev/nvidia0, /dev/nvidia1 missing)"
    assert 1 == rc
    assert f"scontrol update nodename=node01 state=drain reason={reason}" in calls
    assert calls[-1].startswith("logger -t aifactory-health -- node01 epilog: FAIL: 0 of 2 GPU device files")
    _render(tmp_path, {"slurm_common_nodes": [{"name": "node01", "gpus": 0}], "burnin_venv": venv})
    rc, calls = _run(tmp_path, "healthcheck", "IDLE+DRAIN", reason)
    assert (0, "scontrol update nodename=node01 state=resume") == (rc, calls[1])
    rc, calls = _run(tmp_path, "healthcheck", "IDLE+DRAIN", "operator: rack maintenance")
    assert 0 == rc and not [c for c in calls if "update" in c]
    rc, calls = _run(tmp_path, "prolog", "IDLE+DRAIN", reason)
    assert 0 == rc and not [c for c in calls if c.startswith("scontrol")]  # a passing prolog asks nothing


def test_a_missing_interpreter_drains_with_the_checks_reason(tmp_path: Path) -> None:
    _render(tmp_path, {"slurm_common_nodes": [{"name": "node01", "gpus": 8}], "burnin_venv": str(tmp_path / "none")})
    rc, calls = _run(tmp_path, "prolog")
    why = f"aifactory-health: node check not installed ({tmp_path}/none/bin/python missing)"
    assert (1, f"scontrol update nodename=node01 state=drain reason={why}") == (rc, calls[1])
    rc, calls = _run(tmp_path, "prolog", "IDLE+DRAIN", "operator: rack maintenance")
    assert 1 == rc and not [c for c in calls if "update" in c]
