"""The lab's hosts: one controller (Slurm controller, login, Prometheus, MLflow) and N compute nodes,
each a privileged podman container on the lab's own bridge network, reached by Ansible over SSH."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from aifactory.lab.podman import podman
from aifactory.lab.state import LabState

NETWORK = "aifactory-lab"
# A documentation-free private range unlikely to meet a real one on a developer's machine.
SUBNET = "10.213.7.0/24"
CONTROLLER = "lab-ctl"
SIMULATED_GPUS = 2
SRC_MOUNT = "/opt/aifactory/src"
SHARED_EXPORT = "/srv/lab-shared"


@dataclass(frozen=True)
class LabHost:
    """A lab host in the shape of the design engine's `Host` record."""

    hostname: str
    functions: tuple[str, ...]
    inband_ip: str
    su: int = 1
    rack: str = "lab"
    rack_unit: int = 1
    oob_ip: str | None = None
    storage_ip: str | None = None
    rail_ips: tuple[str, ...] = field(default_factory=tuple)
    gpu_model: str | None = None
    gpus: int = 0
    power_cap_w: float | None = None


def lab_hosts(nodes: int, subnet: str = SUBNET) -> list[LabHost]:
    """The controller at .10 and compute nodes lab-node1.. at .11 onwards."""
    base = ipaddress.ip_network(subnet).network_address
    hosts = [
        LabHost(CONTROLLER, ("slurm-controller", "login", "storage-client"), str(base + 10), rack_unit=1)
    ]
    for i in range(1, nodes + 1):
        hosts.append(
            LabHost(
                f"lab-node{i}",
                ("compute", "storage-client"),
                str(base + 10 + i),
                rack_unit=1 + i,
                gpu_model="sim",
                gpus=SIMULATED_GPUS,
            )
        )
    return hosts


def create_network(state: LabState) -> None:
    if podman("network", "exists", NETWORK, check=False).returncode != 0:
        podman("network", "create", "--subnet", SUBNET, NETWORK)
    state.network, state.subnet = NETWORK, SUBNET
    state.save()


def start_host(state: LabState, host: LabHost, image: str, mounts: dict[str, str]) -> None:
    """Start one host; it is recorded in the state before anything else can fail."""
    volumes = [arg for src, dest in sorted(mounts.items()) for arg in ("-v", f"{src}:{dest}")]
    done = podman(
        "run", "-d", "--privileged", "--init", "--no-hosts",
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
