"""Golden inventories: the files `aifactory deploy --render-inventory` writes (and every Pulumi node group
carries) for each reference blueprint, byte for byte, under tests/golden/inventory/<blueprint>/.

Regenerate after an intended change:
`AIFACTORY_REGEN=1 .venv/bin/python -m pytest tests/contract/test_golden_inventory.py`
and review the diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aifactory.blueprint import load_blueprint
from aifactory.design import plan
from aifactory.io import atomic_write_tree
from aifactory.render.group_vars import render_blueprint_inventory

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "inventory"
BLUEPRINTS = sorted(p.stem for p in (ROOT / "blueprints").glob("*.yaml"))


@pytest.mark.parametrize("name", BLUEPRINTS)
def test_golden_inventory(name: str) -> None:
    bp = load_blueprint(ROOT / "blueprints" / f"{name}.yaml").model
    files = render_blueprint_inventory(bp, plan(bp).hosts)
    folder = GOLDEN / name
    if os.environ.get("AIFACTORY_REGEN"):
        for stale in folder.rglob("*.yml") if folder.is_dir() else ():
            if stale.relative_to(folder).as_posix() not in files:
                stale.unlink()
        atomic_write_tree(folder, files)
    on_disk = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert sorted(files) == sorted(on_disk)
    for path, text in files.items():
        assert text.encode() == on_disk[path], f"{folder / path} differs: regenerate (see module docstring)"
