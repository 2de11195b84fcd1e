"""The lab's hosts: one controller (Slurm controller, login, Prometheus, MLflow) and N compute nodes,
each a privileged podman container on the lab's own bridge network, booted with systemd as PID 1 like a
production node, reached by Ansible over SSH (the image's ssh.service).

The network has no route off it: `podman network create --internal`. With podman 4's CNI backend an internal
bridge is no gateway (the bridge plugin's `isGateway: false`, no masquerading) and the hosts get no default
route, only the lab subnet on their interface; so the bridge has no address on this machine either, and
nothing here could reach the hosts. The lab therefore makes the bridge itself before any host joins it (the
bridge plugin takes an existing bridge of its name as it is) and gives it the subnet's gateway address: this
machine reaches the hosts (Ansible, the lab's mirrors, the tests) and the hosts reach this machine on that one
address, and nothing beyond it (no route, no NAT)."""

from __future__ import annotations

import ipaddress
import subprocess
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


def gateway_of(subnet: str) -> str:
    """This machine's address on the lab network: the subnet's first address (podman's gateway)."""
    return str(next(ipaddress.ip_network(subnet).hosts()))


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def link_exists(name: str) -> bool:
    return bool(name) and _ip("link", "show", "dev", name, check=False).returncode == 0


def create_network(state: LabState, subnet: str) -> None:
    """The lab's internal bridge on the blueprint's in-band network (`fabric.addressing.inband`), with this
    machine's gateway address on it; network and bridge are recorded before anything else can fail."""
    gateway = gateway_of(subnet)
    if podman("network", "exists", NETWORK, check=False).returncode != 0:
        podman("network", "create", "--internal", "--subnet", subnet, "--gateway", gateway, NETWORK)
    bridge = podman("network", "inspect", NETWORK, "--format", "{{.NetworkInterface}}").stdout.strip()
    state.network, state.subnet, state.bridge, state.gateway = NETWORK, subnet, bridge, gateway
    state.save()
    if not link_exists(bridge):
        _ip("link", "add", "name", bridge, "type", "bridge")
    prefix = ipaddress.ip_network(subnet).prefixlen
    if f" {gateway}/" not in _ip("-o", "addr", "show", "dev", bridge).stdout:
        _ip("addr", "add", f"{gateway}/{prefix}", "dev", bridge)
    _ip("link", "set", bridge, "up")


def start_host(state: LabState, host: Host, image: str, mounts: dict[str, str]) -> None:
    """Start one host; it is recorded in the state before anything else can fail. systemd is PID 1
    (`--systemd=always`: podman gives it the tmpfs mounts and stop signal it needs); privileged, since the
    hosts mount file systems and make device nodes as the roles do on real nodes."""
    volumes = []
    for dest, source in sorted(mounts.items()):
        ro = source.endswith(":ro")
        volumes += ["-v", f"{source.removesuffix(':ro')}:{dest}" + (":ro" if ro else "")]
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
        # Twice: on a loaded machine podman's first `rm -f` of a host still stopping can fail (seen while the
        # molecule scenarios ran beside a lab); the second finds it stopped.
        for _attempt in range(2):
            gone = podman("rm", "-f", "-t", "5", cid, check=False).returncode == 0
            if gone or podman("container", "exists", cid, check=False).returncode != 0:
                break
        else:
            left.append(f"container {name}")
    exists = podman("network", "exists", state.network, check=False).returncode == 0 if state.network else False
    if exists and podman("network", "rm", state.network, check=False).returncode != 0:
        left.append(f"network {state.network}")
    # The bridge is the lab's own (made by create_network): removed by its recorded name once the network is.
    if not left and link_exists(state.bridge) and _ip("link", "del", state.bridge, check=False).returncode != 0:
        left.append(f"bridge {state.bridge}")
    return left


def mounts_for(venv: Path, src: Path, shared: Path, ssh_pub: Path) -> dict[str, str]:
    """Bind mounts every lab host gets, by path inside (`path: source[:ro]`): the lab venv and the source tree
    read-only, the shared export, and the SSH key Ansible uses."""
    from aifactory.render.workloads.slurm import WORKLOAD_ENV

    return {
        # Same path inside: the venv's scripts name their interpreter by absolute path.
        str(venv): f"{venv}:ro",
        # The workloads' environment (mlflow, torch, kserve), where the rendered jobs and serving units run it
        # from: the lab venv again (no role installs it: docs/workloads.md). Its scripts' interpreter is the
        # venv's own path above.
        WORKLOAD_ENV: f"{venv}:ro",
        SRC_MOUNT: f"{src}:ro",
        SHARED_EXPORT: str(shared),
        "/root/.ssh/authorized_keys": f"{ssh_pub}:ro",
    }
