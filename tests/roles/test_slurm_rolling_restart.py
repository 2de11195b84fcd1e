"""Slurm configuration changes never restart every slurmd at once: slurm_common's handlers, run by Ansible
against this machine (connection local) with scontrol, sinfo, squeue and systemctl replaced by scripts that log
their arguments and answer in Slurm's formats. A change to settings read at start restarts slurmd in drained
batches of `slurm_common_restart_batch`; any other change is one `scontrol reconfigure`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from aifactory.deploy.ansible import ansible_env

REPO = Path(__file__).resolve().parents[2]
NODES = ["node01", "node02", "node03", "node04", "node05"]
REASON = "aifactory rolling slurmd restart"
# sinfo --states=drain,down,... answers: node02 drained by an operator, node05 left drained by an earlier run.
FAKES = {
    "sinfo": f"""case "$*" in *node02*) echo 'node02|maintenance by ops';; esac
case "$*" in *node05*) echo 'node05|{REASON}';; esac""",
    # A job runs on node01 for the first two looks.
    "squeue": """n=$(cat "$LOG.squeue" 2>/dev/null || echo 0); echo $((n + 1)) > "$LOG.squeue"
case "$*" in *node01*) [ "$n" -lt 2 ] && echo 4242;; esac""",
    "scontrol": "",
    "systemctl": """case "$1" in show)
printf 'Id=%s.service\\nLoadState=loaded\\nActiveState=active\\n' slurmd;; esac""",
}


def _records(slurmd: bool) -> dict[str, Any]:
    return {"results": [{"item": "slurmctld", "stat": {"exists": False}},
                        {"item": "slurmd", "stat": {"exists": slurmd}}]}  # fmt: skip


def _run(tmp_path: Path, notify: str, batch: int = 2) -> list[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for name, body in FAKES.items():
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> "$LOG"\n{body}\nexit 0\n')
        script.chmod(0o755)
    hosts = {n: {"ansible_connection": "local", "slurm_common_daemon_records": _records(n != "node04")} for n in NODES}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    play = [{
        "name": "Rolling", "hosts": "all", "gather_facts": False,
        "environment": {"PATH": f"{bin_dir}:/usr/bin:/bin", "LOG": str(log)},
        "vars": {"slurm_common_restart_batch": batch, "slurm_common_restart_poll": 1,
                 "slurm_common_restart_drain_timeout": 20, "ansible_python_interpreter": sys.executable},
        "tasks": [
            # Load the role's handlers and defaults; its rolling task file finds no node marked yet: a no-op.
            {"name": "Handlers", "ansible.builtin.import_role": {
                "name": "slurm_common", "tasks_from": "rolling_restart", "handlers_from": "main"}},
            {"name": "Change", "ansible.builtin.debug": {"msg": "changed"}, "changed_when": True, "notify": notify},
        ],
    }]  # fmt: skip
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "hosts.yml", "play.yml"],
        cwd=tmp_path, capture_output=True, text=True, env=ansible_env(), timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return log.read_text().splitlines()


def _restarts(calls: list[str]) -> list[str]:
    return [c for c in calls if c == "systemctl restart slurmd"]


def test_a_restart_setting_restarts_slurmd_in_drained_batches(tmp_path: Path) -> None:
    calls = [c for c in _run(tmp_path, "Slurm | Restart daemons") if not c.startswith("systemctl show")]
    steps = [c for c in calls if not c.startswith(("sinfo", "squeue", "systemctl daemon-reload"))]
    assert [
        f"scontrol update NodeName=node01 State=DRAIN Reason={REASON}",  # node02: an operator's drain stays
        "systemctl restart slurmd", "systemctl restart slurmd",
        "scontrol update NodeName=node01 State=RESUME",
        f"scontrol update NodeName=node03,node05 State=DRAIN Reason={REASON}",  # node04: new, started fresh
        "systemctl restart slurmd", "systemctl restart slurmd",
        "scontrol update NodeName=node03,node05 State=RESUME",  # node05: this restart's own earlier drain
    ] == steps
    first = calls.index("scontrol update NodeName=node01 State=RESUME")
    waits = [c for c in calls[:first] if c.startswith("squeue")]
    assert 3 == len(waits) and all("--nodelist node01,node02" in c for c in waits)  # until the job left
    assert calls.index(_restarts(calls)[0]) > calls.index(waits[-1])
    assert "scontrol reconfigure" not in calls


def test_other_changes_are_one_reconfigure_and_no_restart(tmp_path: Path) -> None:
    calls = _run(tmp_path, "Slurm | Reconfigure cluster")
    assert ["scontrol reconfigure"] == calls


def test_each_file_notifies_by_what_it_needs() -> None:
    tasks = yaml.safe_load((REPO / "roles" / "slurm_common" / "tasks" / "main.yml").read_text())
    notify = {t["name"]: t.get("notify") for t in tasks if "notify" in t}
    assert {
        "Slurm | Write gres.conf": "Slurm | Restart daemons",
        "Slurm | Write cgroup.conf": "Slurm | Restart daemons",
        "Slurm | Record the settings that need a restart": "Slurm | Restart daemons",
        "Slurm | Write topology.conf": "Slurm | Reconfigure cluster",
        "Slurm | Write slurm.conf": "Slurm | Reconfigure cluster",
    } == notify
    handlers = yaml.safe_load((REPO / "roles" / "slurm_compute" / "handlers" / "main.yml").read_text())
    assert [] == handlers  # slurm_compute restarts slurmd only through the rolling handler
