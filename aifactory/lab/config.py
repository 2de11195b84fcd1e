"""The lab's inventory: its hosts and the role variables that make them a miniature factory here."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aifactory.io import atomic_write_tree
from aifactory.lab.hosts import SHARED_EXPORT, SIMULATED_GPUS, LabHost
from aifactory.render.inventory import render_inventory
from aifactory.render.slurm import Partition, slurm_vars

SHARED_MOUNT = "/shared"
MLFLOW_PORT = 5000
PROMETHEUS_PORT = 9090
# Slurm's memory per lab node: small enough for any machine, enough for the CPU burn-in.
NODE_MEMORY_MB = 2048


def lab_vars(hosts: Sequence[LabHost], venv: Path, ssh_key: Path, munge_key: Path) -> dict[str, Any]:
    """Role variables for the lab. Differences from production, and why: no clock or sysctl changes (the
    kernel is this machine's), process tracking without cgroups (containers share this kernel's cgroup
    tree), simulated GPU device files, and shared storage by bind mount (this kernel has no NFS)."""
    variables: dict[str, Any] = {
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(ssh_key),
        "base_time_sync": False,
        "base_sysctl_apply": False,
        "munge_key_src": str(munge_key),
        "slurm_common_proctrack_type": "proctrack/linuxproc",
        "slurm_common_task_plugin": "task/none",
        "slurm_compute_simulated_gpus": SIMULATED_GPUS,
        "storage_client_mounts": [
            {"type": "bind", "source": SHARED_EXPORT, "path": SHARED_MOUNT, "options": "bind"}
        ],
        "fabric_type": "ethernet",
        "fabric_nccl_env": {"NCCL_IB_DISABLE": "1", "NCCL_SOCKET_IFNAME": "eth0"},
        "mlflow_venv": str(venv),
        "mlflow_port": MLFLOW_PORT,
        "prometheus_listen": f"0.0.0.0:{PROMETHEUS_PORT}",
        "burnin_venv": str(venv),
        "burnin_install": False,  # the suite is the source tree on the venv's path
    }
    variables.update(
        slurm_vars(
            hosts,
            cluster_name="lab",
            partitions=[Partition("batch", default=True)],
            cpus=os.cpu_count() or 1,
            memory_mb=NODE_MEMORY_MB,
        )
    )
    return variables


def write_inventory(directory: Path, hosts: Sequence[LabHost], variables: dict[str, Any]) -> Path:
    """Write the inventory tree; returns the directory to pass to Ansible."""
    atomic_write_tree(directory, render_inventory(hosts, variables))
    return directory
