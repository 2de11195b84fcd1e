"""The module registry finds modules by their metadata; users add their own through $AIFACTORY_MODULES."""
# ruff: noqa: SIM300  (team rule: asserts read `expected == actual`)

from __future__ import annotations

from pathlib import Path

import pytest

from aifactory.errors import UserError
from aifactory.modules import discover


def test_repository_modules_in_order() -> None:
    names = [s.name for s in discover().ordered()]
    assert [
        "compute-nodegroups",
        "mlops-platform",
        "cooling-alerts",
        "fabric-network",
        "storage-shared",
    ] == names


def test_unknown_module_lists_valid_ones() -> None:
    with pytest.raises(UserError, match="valid modules: compute-nodegroups, cooling-alerts"):
        discover().get("gpu-magic")


def test_user_module_is_discovered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "mymods" / "mlops" / "extra"
    folder.mkdir(parents=True)
    (folder / "module.yaml").write_text(
        "name: mlops-extra\nlayer: mlops\ntype: acme:mlops:Extra\n"
        "entry: component:Extra\nargs: component:ExtraArgs\norder: 90\n"
    )
    (folder / "component.py").write_text("class Extra:\n    pass\n\nclass ExtraArgs:\n    pass\n")
    monkeypatch.setenv("AIFACTORY_MODULES", str(tmp_path / "mymods"))
    spec = discover().get("MLOPS-EXTRA")
    assert "Extra" == spec.component_class().__name__


def test_bad_metadata_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "fabric" / "x"
    folder.mkdir(parents=True)
    (folder / "module.yaml").write_text("name: x\nlayer: mlops\ntype: a:b:C\nentry: c:C\nargs: c:A\n")
    with pytest.raises(UserError, match=r"module\.yaml"):
        discover([tmp_path])
