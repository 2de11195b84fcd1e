"""The lab's state file: everything `lab up` made, saved as it is made, so `lab down` removes exactly that."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aifactory.io import atomic_write, dumps_json
from aifactory.lab.paths import state_dir


@dataclass
class LabState:
    """Resources of one lab, by identifier (container IDs, network name, directories)."""

    network: str = ""
    subnet: str = ""
    bridge: str = ""  # the network's bridge interface on this machine
    gateway: str = ""  # this machine's address on it (the mirrors are served there)
    mirror: dict[str, Any] = field(default_factory=dict)  # the mirrors' server: pid, address, port, url, dir
    # the OCI registry: pid, address, port, url, dir, and the host image it served (image, image_id, pushed_from)
    registry: dict[str, Any] = field(default_factory=dict)
    containers: dict[str, str] = field(default_factory=dict)  # host name -> container ID
    addresses: dict[str, str] = field(default_factory=dict)  # host name -> address
    directories: list[str] = field(default_factory=list)
    services: dict[str, str] = field(default_factory=dict)  # service -> URL or address
    jobs: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    # what the factory produced (aifactory/lab/produce.py): trained, evaluated, served and measured; and each
    # `lab iterate` cycle
    production: dict[str, Any] = field(default_factory=dict)
    iterations: list[dict[str, Any]] = field(default_factory=list)
    controller: str = "lab-ctl"  # the Slurm controller's host name (the plan's)
    shared_mount: str = "/shared"  # the blueprint's storage.filesystem.mount

    @staticmethod
    def path() -> Path:
        return state_dir() / "state.json"

    @classmethod
    def load(cls) -> LabState | None:
        """The recorded lab, or None when no lab is up."""
        try:
            data = json.loads(cls.path().read_text())
        except FileNotFoundError:
            return None
        return cls(**data)

    def save(self) -> None:
        atomic_write(self.path(), dumps_json(asdict(self)))
