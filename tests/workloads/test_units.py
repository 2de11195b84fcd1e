"""The rendered systemd units (serving, power-cap services and timers) through systemd's own checker,
`systemd-analyze verify`: every key known, every calendar time parsed, every timer's unit found. The binaries
they start (nvidia-smi, vllm, mlflow, the workload environment's python) are not on this machine: those are the
only complaints allowed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aifactory.blueprint import load_blueprint
from aifactory.render.workloads import render_workloads

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
MISSING = re.compile(r"^\S+\.service: Command (/usr/bin/nvidia-smi|/opt/aifactory/workloads/bin/(vllm|mlflow|python)) "
                     r"is not executable: No such file or directory$")  # fmt: skip


def _verify(folder: Path) -> list[str]:
    units = sorted(str(p) for p in folder.iterdir())
    run = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], cwd=folder, capture_output=True,
                         text=True, timeout=120, check=False)  # fmt: skip
    return [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]


def _units(tmp_path: Path) -> Path:
    files, _ = render_workloads(load_blueprint("b200-spectrum-x"), "t")
    folder = tmp_path / "units"
    folder.mkdir()
    host = "slurm/systemd/b200061/"
    for rel, text in files.items():
        if rel.startswith(("energy/aifactory-gpu-cap", host)):
            (folder / Path(rel).name).write_text(text)
    return folder


def test_systemd_accepts_every_rendered_unit(tmp_path: Path) -> None:
    folder = _units(tmp_path)
    assert 5 == len(list(folder.iterdir()))  # two caps' service and timer, one serving unit
    assert [] == [line for line in _verify(folder) if not MISSING.match(line)]


def test_a_bad_calendar_time_is_caught(tmp_path: Path) -> None:
    folder = _units(tmp_path)
    timer = folder / "aifactory-gpu-cap-low.timer"
    timer.write_text(re.sub(r"OnCalendar=\S+", "OnCalendar=2026-13-45", timer.read_text()))
    assert any("Failed to parse calendar specification" in line for line in _verify(folder))


def test_systemd_accepts_the_lab_kserve_unit(tmp_path: Path) -> None:
    files, _ = render_workloads(load_blueprint("lab"), "t")
    folder = tmp_path / "units"
    folder.mkdir()
    unit = files["slurm/systemd/lab002/aifactory-serve-tinylm.service"]
    (folder / "aifactory-serve-tinylm.service").write_text(unit)
    assert "CUDA_VISIBLE_DEVICES" not in unit and "ExecStartPre" not in unit  # CPU; the runtime follows its alias
    assert [] == [line for line in _verify(folder) if not MISSING.match(line)]
