"""The real slurmctld accepts every reference blueprint's configuration: slurm.conf, topology.conf, gres.conf and
cgroup.conf as rendered, the controller started in the foreground in private user, network, mount and UTS
namespaces (loopback only; its munged in the same namespaces, on a socket in a temporary folder bound over
/run/munge), stopped by PID once it has read its nodes and topology. Its log must hold no topology warning, no
error and nothing fatal."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from aifactory.blueprint import load_blueprint
from aifactory.design import plan
from aifactory.render.group_vars import slurm_group_vars
from tests.roles.slurm_files import write_config
from tests.roles.test_slurm_tools import SLURM_BLUEPRINTS

TOOLS = ("slurmctld", "munged", "mungekey", "unshare")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        any(shutil.which(t) is None and not Path("/usr/sbin", t).exists() for t in TOOLS),
        reason="slurmctld, munge (Debian slurmctld, munge) or unshare not installed: scripts/debian-packages.txt",
    ),
]

# slurmctld logs this once it has read slurm.conf, the nodes, gres and the topology and serves requests.
READY = "Running as primary controller"

# Inside the namespaces: loopback up, the controller's hostname, munged on a key made here (what every test that
# runs slurmctld in namespaces starts with), then slurmctld.
MUNGE_IN_NAMESPACE = """set -e
ip link set lo up
hostname "$CTL"
mount --bind "$RUN" /run/munge 2>/dev/null || { mkdir -p /run/munge; mount --bind "$RUN" /run/munge; }
mungekey -c -k "$DIR/munge.key" -f
munged --force -S /run/munge/munge.socket.2 --key-file "$DIR/munge.key" --pid-file "$DIR/munged.pid" \\
  --log-file "$DIR/munged.log" --seed-file "$DIR/munged.seed"
"""
SCRIPT = MUNGE_IN_NAMESPACE + """exec slurmctld -D -c -f "$DIR/slurm.conf"
"""


def _local(text: str, folder: Path, controller: str) -> str:
    """slurm.conf pointed at this namespace: the controller on loopback, state, pid and log in `folder`, the
    current user as SlurmUser, a mail program that exists, no accounting. Everything else the blueprint decides
    stays."""
    swaps = {
        "SlurmctldHost=": f"SlurmctldHost={controller}(127.0.0.1)",
        "StateSaveLocation=": f"StateSaveLocation={folder / 'state'}",
        "SlurmctldPidFile=": f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
        "SlurmctldLogFile=": f"SlurmctldLogFile={folder / 'slurmctld.log'}",
        "SlurmUser=": "SlurmUser=root",
        # No slurmdbd runs here, and slurmctld with accounting_storage/slurmdbd will not start on a fresh state
        # until slurmdbd has answered once: the accounting lines are dropped for this check (and the gathering,
        # which without storage is an error). slurmdbd, MariaDB and those lines run for real in the lab test and
        # in the slurm_dbd molecule scenario.
        "AccountingStorage": "",
        "JobAcctGather": "",
    }
    lines = [next((v for k, v in swaps.items() if line.startswith(k)), line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    # No IPv4 address but loopback here: without EnableIPv6 Slurm's lookups use AI_ADDRCONFIG and cannot
    # resolve even numeric node addresses (the role's slurm_common_communication_parameters says the same).
    lines += ["MailProg=/bin/true", "CommunicationParameters=EnableIPv6"]
    return "\n".join(lines) + "\n"


def run_slurmctld(folder: Path, variables: dict[str, object], controller: str, wait_s: float = 20.0) -> str:
    """Start slurmctld on the configuration, wait until it is ready (or `wait_s`), stop it by PID; its log."""
    files = write_config(folder, variables)
    (folder / "slurm.conf").write_text(_local(files["slurm.conf"], folder, controller))
    (folder / "state").mkdir()
    (folder / "run").mkdir()
    log = folder / "slurmctld.log"
    env = {**os.environ, "CTL": controller, "DIR": str(folder), "RUN": str(folder / "run")}
    unshare = ["unshare", "--net", "--mount", "--uts"] if os.geteuid() == 0 else [
        "unshare", "--user", "--map-root-user", "--net", "--mount", "--uts"]  # fmt: skip
    proc = subprocess.Popen([*unshare, "sh", "-c", SCRIPT], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and proc.poll() is None:
            if log.exists() and READY in log.read_text(errors="replace"):
                break
            time.sleep(0.2)
    finally:
        # The session holds only what this test started (sh exec'd into slurmctld, and munged).
        for pid_file in ("slurmctld.pid", "munged.pid"):
            path = folder / pid_file
            if path.exists() and path.read_text().strip().isdigit():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(path.read_text().strip()), signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    out = proc.stdout.read() if proc.stdout else ""
    return (log.read_text(errors="replace") if log.exists() else "") + out


# A first start on an empty StateSaveLocation: slurmctld reports each state file it finds missing (these and
# only these error lines are expected; any other error, fatal or topology warning fails the test), and its clock
# check when this shared machine is busy (about the host, not the configuration).
FIRST_START = ("state file", "Trying backup state save file", "High latency for 1000 calls to gettimeofday()")


def _problems(text: str) -> list[str]:
    return [line for line in text.splitlines()
            if ("TOPOLOGY: warning" in line or "error:" in line.lower() or "fatal" in line.lower())
            and not any(part in line for part in FIRST_START)]  # fmt: skip


@pytest.mark.parametrize("name", SLURM_BLUEPRINTS)
def test_slurmctld_accepts_every_reference_blueprint(tmp_path: Path, name: str) -> None:
    # Rendered for the Slurm that runs here, Debian 12's (a pin the distribution ships: no build, no block).
    bp = load_blueprint(name).model
    bp = bp.model_copy(update={"software": bp.software.model_copy(update={"os": "debian-12", "slurm": "22.05"})})
    variables = slurm_group_vars(bp, plan(bp).hosts)
    text = run_slurmctld(tmp_path, variables, str(variables["slurm_common_controller"]))
    assert READY in text, text[-3000:]
    assert not _problems(text), "\n".join(_problems(text))


def test_slurmctld_warns_on_a_topology_without_a_root(tmp_path: Path) -> None:
    # The old renderer's shape: leaves with no parent. The check must see slurmctld's warning.
    bp = load_blueprint("dgx-h200-sovereign-eu").model
    variables = slurm_group_vars(bp, plan(bp).hosts)
    variables["slurm_common_switches"] = [s for s in variables["slurm_common_switches"] if "nodes" in s]
    text = run_slurmctld(tmp_path, variables, str(variables["slurm_common_controller"]))
    assert any("TOPOLOGY: warning" in line for line in _problems(text)), text[-3000:]


def test_slurmctld_accepts_the_labs_process_tracking(tmp_path: Path) -> None:
    # The lab's containers share this kernel's cgroups and track by process (aifactory/lab/config.py):
    # PrologFlags=Contain would make slurmctld report an error there.
    bp = load_blueprint("lab").model
    variables = slurm_group_vars(bp, plan(bp).hosts)
    variables.update(slurm_common_proctrack_type="proctrack/linuxproc", slurm_common_task_plugin="task/none")
    text = run_slurmctld(tmp_path, variables, str(variables["slurm_common_controller"]))
    assert READY in text, text[-3000:]
    assert not _problems(text), "\n".join(_problems(text))
