"""Rendered Slurm configuration on disk for the real Slurm tools (`slurmd -G`, `slurmctld -D`): the four files
in one folder, with stand-ins for the GPU device files gres.conf names (this machine has no GPU)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aifactory.render.slurm import render_slurm

REPO_ROOT = Path(__file__).resolve().parents[2]


def write_config(folder: Path, variables: Mapping[str, object], gpus: int = 8) -> dict[str, str]:
    """Render into `folder` with `folder/nvidiaN` as the GPU devices; the rendered texts by name."""
    for i in range(gpus):
        (folder / f"nvidia{i}").touch()
    files = render_slurm({**variables, "slurm_common_gpu_device_prefix": str(folder / "nvidia")})
    for name, text in files.items():
        (folder / name).write_text(text)
    return files
