"""The lab's design and inventory: `blueprints/lab.yaml` planned by the design engine, rendered like any
blueprint, plus the few variables that make its hosts run here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aifactory.blueprint.loader import LoadedBlueprint
from aifactory.blueprint.model import Blueprint
from aifactory.design.hosts import Host
from aifactory.errors import UserError
from aifactory.io import atomic_write_tree
from aifactory.lab.hosts import SHARED_EXPORT, SIMULATED_GPUS, lab_host
from aifactory.render.group_vars import blueprint_group_vars, orchestrator_of
from aifactory.render.inventory import render_inventory

LAB_BLUEPRINT = "lab"
# The lab blueprint's stated range ("2 compute nodes (1-3)"): more would not fit two shared cores.
MIN_NODES, MAX_NODES = 1, 3
MLFLOW_PORT = 5000
PROMETHEUS_PORT = 9090
# NCCL over the lab bridge: no RDMA device, sockets on the container's only interface. The blueprint's own
# `fabric.nccl` settings win over these.
LAB_NCCL_ENV = {"NCCL_IB_DISABLE": "1", "NCCL_SOCKET_IFNAME": "eth0"}


@dataclass(frozen=True)
class LabDesign:
    """The lab blueprint for N nodes, its plan's hosts as the lab runs them, and its in-band network."""

    blueprint: Blueprint
    hosts: tuple[Host, ...]
    subnet: str
    loaded: LoadedBlueprint  # with its source lines, for the workloads' renderer

    @property
    def shared_mount(self) -> str:
        return self.blueprint.storage.filesystem.mount


def lab_design(nodes: int) -> LabDesign:
    """Load `blueprints/lab.yaml` with `compute.nodes=N` and plan it; N outside 1-3 is a UserError."""
    from aifactory.blueprint import load_blueprint
    from aifactory.design import plan

    if not MIN_NODES <= nodes <= MAX_NODES:
        raise UserError.at(
            None,
            f"--nodes {nodes} is outside the lab's range {MIN_NODES}-{MAX_NODES}",
            hint=f"pass --nodes between {MIN_NODES} and {MAX_NODES} (blueprints/lab.yaml)",
        )
    loaded = load_blueprint(LAB_BLUEPRINT, sets=[f"compute.nodes={nodes}"])
    bp = loaded.model
    hosts = tuple(lab_host(h) for h in sorted(plan(bp).hosts, key=lambda h: h.hostname))
    return LabDesign(bp, hosts, str(bp.fabric.addressing.inband), loaded)


@dataclass(frozen=True)
class LabMirrors:
    """Where the lab serves its mirrors (on its bridge address) and the key its apt repository is signed with."""

    apt: str
    apt_key: str
    pypi: str


def lab_vars(design: LabDesign, venv: Path, ssh_key: Path, mirrors: LabMirrors) -> dict[str, Any]:
    """The blueprint's group variables as production renders them (`blueprint_group_vars`, no node sizes
    of the lab's own, the factory munge key made by the munge role), the lab's own mirrors in the variables
    a sovereign site's `site.sovereignty.mirrors` renders into, plus the lab's differences from production,
    each with its reason beside it."""
    variables = blueprint_group_vars(design.blueprint, design.hosts)
    variables.update(
        {
            # The hosts have no route out: every .deb and wheel comes from the lab's mirrors (aifactory/lab/
            # mirrors.py), through the same base-role variables a sovereign site's mirrors set.
            "base_apt_mirror": mirrors.apt,
            "base_apt_mirror_key": mirrors.apt_key,
            "base_pypi_mirror": mirrors.pypi,
            # Ansible's way in: the key `lab up` made, as root (the hosts are the lab's own containers).
            "ansible_user": "root",
            # Already root, and the image has no sudo: the plays' `become: true` (for production's admin user)
            # is turned off here (a connection variable wins over the play keyword).
            "ansible_become": False,
            "ansible_ssh_private_key_file": str(ssh_key),
            # The clock and the kernel are this machine's: no chrony, no sysctl load (the files are written).
            "base_time_sync": False,
            "base_sysctl_apply": False,
            # The containers share this kernel's cgroup tree: Slurm tracks processes without cgroups.
            "slurm_common_proctrack_type": "proctrack/linuxproc",
            "slurm_common_task_plugin": "task/none",
            # For the same reason job usage is gathered from /proc, not from the job's cgroup.
            "slurm_common_jobacct_gather_type": "jobacct_gather/linux",
            # No GPU here: device files for the simulated GPUs gres.conf names (see hosts.lab_host).
            "slurm_compute_simulated_gpus": SIMULATED_GPUS,
            # This kernel has no NFS: the shared file system is a bind mount at the blueprint's mount point.
            "storage_client_mounts": [
                {"type": "bind", "source": SHARED_EXPORT, "path": design.shared_mount, "options": "bind"}
            ],
            # No RDMA device on the lab bridge (LAB_NCCL_ENV).
            "fabric_nccl_env": {**LAB_NCCL_ENV, **variables["fabric_nccl_env"]},
            # MLflow is pip-installed by its role from the lab's PyPI mirror, as in production. The burn-in
            # suite is not: its environment holds torch (a ~190 MB wheel, ~1.7 GB installed), and installing it
            # on every compute node would make the first converge several minutes longer on this machine's two
            # shared cores. The compute nodes run the suite from the lab's venv (the same lock's wheels, built
            # once on this machine), mounted read-only, with the source tree on its path.
            "mlflow_port": MLFLOW_PORT,
            "prometheus_listen": f"0.0.0.0:{PROMETHEUS_PORT}",
            "burnin_venv": str(venv),
            "burnin_install": False,
        }
    )
    return variables


def write_inventory(directory: Path, design: LabDesign, variables: dict[str, Any]) -> Path:
    """Write the inventory tree; returns the directory to pass to Ansible."""
    files = render_inventory(design.hosts, variables, orchestrator_of(design.blueprint))
    atomic_write_tree(directory, files)
    return directory


def compute_names(hosts: Sequence[Host]) -> list[str]:
    return sorted(h.hostname for h in hosts if "compute" in h.functions)
