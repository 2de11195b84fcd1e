"""`aifactory lab down`: remove what the state file says `lab up` made; the cache stays."""

from __future__ import annotations

import shutil
from pathlib import Path

from aifactory.lab import hosts, mirrors, registry
from aifactory.lab.paths import state_dir
from aifactory.lab.state import LabState


def lab_down() -> list[str]:
    """Stop the mirrors' server (by its recorded PID), remove the lab's containers (their daemons end with
    them), network, bridge, the registry (by its recorded PID; after the containers, which use its image) and
    the state directory. Returns what could not be removed (empty when all is gone)."""
    state = LabState.load()
    left: list[str] = []
    if state is not None:
        if not mirrors.stop(state):
            left.append(f"mirror server (PID {state.mirror.get('pid')})")
        left += hosts.remove_hosts(state)
        if not registry.stop_lab(state):
            left.append(f"registry (PID {state.registry.get('pid')})")
    if not left:
        root = state_dir()
        for directory in sorted({*(state.directories if state else []), str(root)}):
            if Path(directory) == root or root in Path(directory).parents:
                shutil.rmtree(directory, ignore_errors=True)
    return left
