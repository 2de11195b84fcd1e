"""`aifactory lab up`: build the lab hosts, converge them with the site playbook, run the burn-in job."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aifactory import resources
from aifactory.deploy.ansible import RunResult, run_playbook
from aifactory.lab import burnin_job, hosts, image, mirrors, registry, venv
from aifactory.lab.config import (
    MLFLOW_PORT,
    PROMETHEUS_PORT,
    LabDesign,
    LabMirrors,
    compute_names,
    lab_design,
    lab_vars,
    write_inventory,
)
from aifactory.lab.paths import state_dir
from aifactory.lab.state import LabState

Step = Callable[[str], None]


@dataclass
class UpResult:
    state: LabState
    converge: RunResult | None = None
    burnin: dict[str, Any] = field(default_factory=dict)
    production: dict[str, Any] = field(default_factory=dict)


def source_dir() -> Path:
    """The source tree the hosts see (the folder holding the `aifactory` package with its burn-in suite: a
    checkout, or the installed package's site-packages); `AIFACTORY_LAB_SRC` overrides it."""
    return Path(os.environ.get("AIFACTORY_LAB_SRC", str(resources.package_dir().parent)))


def _ssh_key(directory: Path) -> Path:
    """An SSH key for Ansible, made fresh for each lab. (The munge key is the factory's, made and copied by
    the munge role as in production.)"""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    ssh_key = directory / "id_ed25519"
    if not ssh_key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh_key)], check=True)
    return ssh_key


def _wait_ssh(addresses: list[str], key: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    pending = list(addresses)
    while pending and time.monotonic() < deadline:
        addr = pending[0]
        ok = subprocess.run(
            ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "ConnectTimeout=3", "-o", "LogLevel=ERROR", f"root@{addr}", "true"],
            capture_output=True, check=False, timeout=15,
        ).returncode == 0  # fmt: skip
        if ok:
            pending.pop(0)
        else:
            time.sleep(0.5)
    if pending:
        raise RuntimeError(f"lab hosts did not answer SSH within {timeout_s:.0f}s: {', '.join(pending)}")


def inventory_dir() -> Path:
    return state_dir() / "inventory"


def build_hosts(design: LabDesign, step: Step) -> LabState:
    """Image, venv, network and containers; the state is saved as each resource appears."""
    log = state_dir() / "build.log"
    state_dir().mkdir(parents=True, exist_ok=True)
    state = LabState.load() or LabState()
    step("image: bare debootstrap Debian root file system (cached)")
    ref = image.ensure_image(log, image.LAB)
    step("venv: MLflow, torch (CPU) and PyYAML for the hosts (cached)")
    env_dir = venv.ensure_venv(log)
    ssh_key = _ssh_key(state_dir() / "keys")
    shared = state_dir() / "shared"
    shared.mkdir(parents=True, exist_ok=True)
    state.directories = sorted({*state.directories, str(state_dir())})
    step("network: internal bridge, no route out")
    hosts.create_network(state, design.subnet)
    step("mirrors: apt and PyPI from the lab's manifest (cached), served on the lab bridge")
    served = mirrors.start(state, design)
    step("registry: the host image pushed to the lab's OCI registry on the bridge, pulled back by digest")
    host_image = registry.publish_lab_image(state, state_dir() / "registry", ref)
    step("hosts: podman containers")
    lab = design.hosts
    state.controller = hosts.controller_of(lab)
    state.shared_mount = design.shared_mount
    mounts = hosts.mounts_for(env_dir, source_dir(), shared, ssh_key.with_suffix(".pub"))
    for host in lab:
        if host.hostname not in state.containers:
            hosts.start_host(state, host, host_image, mounts)
    _wait_ssh([h.inband_ip for h in lab], ssh_key)
    lab_mirrors = LabMirrors(mirrors.apt_url(served), mirrors.signing_key(served), mirrors.pypi_url(served))
    write_inventory(inventory_dir(), design, lab_vars(design, env_dir, ssh_key, lab_mirrors))
    return state


def converge(state: LabState, step: Step, key: str = "converge_s", full: bool = False) -> RunResult:
    """Run the site playbook against the lab; its time is recorded under `key`."""
    done_tasks = 0

    def on_task(host: str, task: str) -> None:
        nonlocal done_tasks
        done_tasks += 1
        step(f"converge: {done_tasks} tasks done, last {host}: {task}")

    result = run_playbook(inventory_dir(), on_task=on_task, artifact_dir=state_dir() / "runner", full=full)
    state.timings[key] = round(result.seconds, 1)
    state.save()
    return result


def record_services(state: LabState) -> None:
    ctl = state.addresses[state.controller]
    state.services = {
        "mlflow": f"http://{ctl}:{MLFLOW_PORT}",
        "prometheus": f"http://{ctl}:{PROMETHEUS_PORT}",
        "slurmctld": f"{ctl}:6817",
        "ssh": f"ssh -i {state_dir() / 'keys' / 'id_ed25519'} root@{ctl}",
    }
    state.save()


def run_burnin(state: LabState, nodes: int, step: Step) -> dict[str, Any]:
    """The burn-in job across the compute nodes, logged to MLflow."""
    if not burnin_job.suite_present(source_dir()):
        return {"status": "skipped", "reason": f"no burn-in suite in {source_dir()} (aifactory/burnin)"}
    tag = time.strftime("%Y%m%d-%H%M%S")
    step(f"burn-in: srun -N{nodes} python -m aifactory.burnin run --profile quick")
    started = time.monotonic()
    rc, output = burnin_job.run_job(state, venv.venv_dir(), nodes, tag)
    reports = burnin_job.collect(state_dir() / "shared", tag)
    outcome: dict[str, Any] = {
        "status": "ran", "rc": rc, "tag": tag, "seconds": round(time.monotonic() - started, 1),
        "verdicts": {h: burnin_job.verdict(r) for h, r in reports.items()}, "output_tail": output[-1500:],
    }  # fmt: skip
    if reports:
        step("burn-in: logging results to MLflow")
        outcome["mlflow_run_id"] = burnin_job.log_to_mlflow(
            state.services["mlflow"], tag, reports, state_dir() / "shared"
        )
    state.jobs.append({k: v for k, v in outcome.items() if k != "output_tail"})
    state.save()
    return outcome


def run_production(state: LabState, design: LabDesign, step: Step) -> dict[str, Any]:
    """The blueprint's workloads trained, served and measured (aifactory/lab/produce.py); a failed job is reported
    with its output, not raised, so `lab up` prints what it made."""
    from aifactory.lab import produce

    if not design.blueprint.mlops.workloads.training:
        return {"status": "skipped", "reason": "the lab blueprint has no mlops.workloads"}
    needed = max(t.nodes for t in design.blueprint.mlops.workloads.training)
    have = len(compute_names(design.hosts))
    if needed > have:
        why = f"the training job spans {needed} nodes and this lab has {have} (--nodes {needed})"
        return {"status": "skipped", "reason": why}
    try:
        return {"status": "ran", **produce.produce(state, design, str(venv.venv_dir()), step)}
    except produce.ProduceError as err:
        return {"status": "failed", "error": str(err)}


def lab_up(nodes: int, step: Step, burnin: bool = True, production: bool = True) -> UpResult:
    """Everything `lab up` does, in order; raises RuntimeError on a failure (the state stays for `down`)."""
    started = time.monotonic()
    design = lab_design(nodes)
    state = build_hosts(design, step)
    result = UpResult(state)
    result.converge = converge(state, step)
    if not result.converge.succeeded:
        return result
    record_services(state)
    if burnin:
        result.burnin = run_burnin(state, nodes, step)
    if production:
        result.production = run_production(state, design, step)
    state.timings["up_s"] = round(time.monotonic() - started, 1)
    state.save()
    return result
