"""Golden inventories: the files `aifactory deploy --render-inventory` writes (and every Pulumi node group
carries) for each reference blueprint, byte for byte, under tests/golden/inventory/<blueprint>/.

Regenerate after an intended change:
`AIFACTORY_REGEN=1 .venv/bin/python -m pytest tests/contract/test_golden_inventory.py`
and review the diff."""

from __future__ import annotations

import pytest

from aifactory.blueprint import load_blueprint
from aifactory.design import plan
from aifactory.render.group_vars import render_blueprint_inventory
from tests.conftest import REFERENCE_BLUEPRINTS, REPO, golden_tree

ROOT = REPO
GOLDEN = ROOT / "tests" / "golden" / "inventory"


@pytest.mark.parametrize("name", REFERENCE_BLUEPRINTS)
def test_golden_inventory(name: str) -> None:
    bp = load_blueprint(ROOT / "blueprints" / f"{name}.yaml").model
    files = render_blueprint_inventory(bp, plan(bp).hosts)
    folder = GOLDEN / name
    on_disk = golden_tree(folder, files)
    assert sorted(files) == sorted(on_disk)
    for path, text in files.items():
        assert text.encode() == on_disk[path], f"{folder / path} differs: regenerate (see module docstring)"
