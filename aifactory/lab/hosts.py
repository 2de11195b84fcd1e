"""The lab's hosts: one controller (Slurm controller, login, Prometheus, MLflow) and N compute nodes,
each a privileged podman container on the lab's own bridge network, booted with systemd as PID 1 like a
production node, reached by Ansible over SSH (the image's ssh.service)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from aifactory.design.hosts import Host
from aifactory.lab.podman import podman
from aifactory.lab.state import LabState

NETWORK = "aifactory-lab"
SIMULATED_GPUS = 2
SRC_MOUNT = "/opt/aifactory/src"
SHARED_EXPORT = "/srv/lab-shared"


def lab_host(host: Host) -> Host:
    """The plan's host as the lab runs it: compute nodes get simulated GPUs (device files and gres), since
    the lab's node SKU has none and this machine has no GPU, so Slurm's GPU scheduling can still be tested;
    names, functions, placement and addresses stay the plan's."""
    if "compute" in host.functions:
        return replace(host, gpus=SIMULATED_GPUS)
    return host


def controller_of(hosts: Sequence[Host]) -> str:
    """The host running the Slurm controller (and the lab's services)."""
    return next(h.hostname for h in hosts if "slurm-controller" in h.functions)


def create_network(state: LabState, subnet: str) -> None:
    """The lab's bridge on the blueprint's in-band network (`fabric.addressing.inband`)."""
    if podman("network", "exists", NETWORK, check=False).returncode != 0:
        podman("network", "create", "--subnet", subnet, NETWORK)
    state.network, state.subnet = NETWORK, subnet
    state.save()


def start_host(state: LabState, host: Host, image: str, mounts: dict[str, str]) -> None:
    """Start one host; it is recorded in the state before anything else can fail. systemd is PID 1
    (`--systemd=always`: podman gives it the tmpfs mounts and stop signal it needs); privileged, since the
    hosts mount file systems and make device nodes as the roles do on real nodes."""
    volumes = [arg for src, dest in sorted(mounts.items()) for arg in ("-v", f"{src}:{dest}")]
    done = podman(
        "run", "-d", "--privileged", "--systemd=always", "--no-hosts",
        "--name", host.hostname, "--hostname", host.hostname,
        "--network", NETWORK, "--ip", host.inband_ip,
        "--label", "aifactory.lab=1",
        *volumes, image,
    )  # fmt: skip
    state.containers[host.hostname] = done.stdout.strip()
    state.addresses[host.hostname] = host.inband_ip
    state.save()


def remove_hosts(state: LabState) -> list[str]:
    """Remove the recorded containers (by ID) and the network; returns what could not be removed."""
    left: list[str] = []
    for name, cid in sorted(state.containers.items()):
        if (
            podman("rm", "-f", "-t", "5", cid, check=False).returncode != 0
            and podman("container", "exists", cid, check=False).returncode == 0
        ):
            left.append(f"container {name}")
    exists = (
        podman("network", "exists", state.network, check=False).returncode == 0 if state.network else False
    )
    network_there = exists
    if network_there and podman("network", "rm", state.network, check=False).returncode != 0:
        left.append(f"network {state.network}")
    return left


def mounts_for(venv: Path, src: Path, shared: Path, ssh_pub: Path) -> dict[str, str]:
    """Bind mounts every lab host gets: the lab venv and the source tree read-only, the shared export, and
    the SSH key Ansible uses."""
    return {
        # Same path inside: the venv's scripts name their interpreter by absolute path.
        str(venv): f"{venv}:ro",
        str(src): f"{SRC_MOUNT}:ro",
        str(shared): SHARED_EXPORT,
        str(ssh_pub): "/root/.ssh/authorized_keys:ro",
    }
