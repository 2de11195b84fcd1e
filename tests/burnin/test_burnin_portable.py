"""The GPU-side code runs where GPU nodes are: Python 3.10, torch alone (nvidia-ml-py and PyYAML optional)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aifactory.burnin.catalog import YAML_CATALOG_PATH, load_catalog
from tests.burnin.helpers import ROOT

# Everything `python -m aifactory.burnin` and the device check import, the device check itself, and the lab
# language model's jobs and server (aifactory.tinylm), which run on the nodes' Python too.
GPU_SIDE = sorted(
    [
        *(ROOT / "aifactory" / "burnin").rglob("*.py"),
        *(ROOT / "aifactory" / "tinylm").glob("*.py"),
        *(ROOT / "benchmarks" / "burnin").glob("*.py"),
        *(ROOT / "aifactory" / n for n in ("__init__.py", "errors.py", "io.py", "files.py", "resources.py")),
    ]
)
# Standard-library names and syntax that Python 3.10 lacks.
NEW_IN_311 = {("datetime", "UTC"), ("typing", "Self"), ("typing", "LiteralString"), ("typing", "Never"),
              ("typing", "assert_never"), ("typing", "reveal_type"), ("enum", "StrEnum"), ("asyncio", "TaskGroup"),
              ("asyncio", "timeout"), ("builtins", "ExceptionGroup"), ("builtins", "BaseExceptionGroup")}
NEW_MODULES = {"tomllib", "wsgiref.types"}
BLOCKER = """
import importlib.abc, sys
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (hidden by the test)", name=name)
        return None
sys.meta_path.insert(0, _Block())
"""


def _py310() -> str | None:
    found = shutil.which("python3.10")
    pyenv = Path.home() / ".pyenv" / "versions" / "3.10.13" / "bin" / "python3.10"
    for cand in (found, str(pyenv) if pyenv.exists() else None):
        if cand and subprocess.run([cand, "-c", "import sys; assert sys.version_info[:2] == (3, 10)"],
                                   capture_output=True, check=False).returncode == 0:
            return cand
    return None


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=(3, 10))
    aliases = {"_dt": "datetime", "dt": "datetime"}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [f"import {a.name}" for a in node.names if a.name in NEW_MODULES]
            aliases.update({a.asname: a.name for a in node.names if a.asname})
        elif isinstance(node, ast.ImportFrom) and node.module:
            out += [f"from {node.module} import {a.name}" for a in node.names if (node.module, a.name) in NEW_IN_311]
            out += [f"from {node.module}" for _ in [0] if node.module in NEW_MODULES]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id, node.value.id)
            if (module, node.attr) in NEW_IN_311:
                out.append(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.Name) and ("builtins", node.id) in NEW_IN_311:
            out.append(node.id)
        elif type(node).__name__ == "TryStar":
            out.append("except*")
    return [f"{path}:{o}" for o in out]


def test_gpu_side_code_is_python_310():
    # Review (low): suite.py used datetime.UTC (3.11+): Ubuntu 22.04 GPU nodes have Python 3.10.
    assert len(GPU_SIDE) > 25
    assert [] == [o for p in GPU_SIDE for o in _offences(p)]


def test_the_310_checker_sees_what_it_must(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import datetime as _dt\nimport tomllib\nfrom typing import Self\nx = _dt.UTC\n")
    assert {"import tomllib", "from typing import Self", "_dt.UTC"} == {o.rsplit(":", 1)[1] for o in _offences(probe)}


@pytest.mark.skipif(_py310() is None, reason="no Python 3.10 interpreter on this machine")
def test_entry_point_under_python_310_without_torch_exits_2():
    py = _py310()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    mods = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "aifactory" / "burnin").rglob("*.py")
        if p.name != "__main__.py"
    )
    loader = "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)"
    imp = subprocess.run([py, "-c", loader, *mods],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert 0 == imp.returncode, imp.stderr
    run = subprocess.run([py, "-m", "aifactory.burnin", "run", "--device-type", "cpu"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=False, timeout=60)
    assert 2 == run.returncode
    assert "missing required module(s): torch" in run.stderr and "Traceback" not in run.stderr
    assert "yaml MISSING" in run.stderr


def _blocked(tmp_path: Path, names: set[str]) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER.replace("{BLOCKED}", repr(names)))
    return {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}


def test_without_torch_the_entry_point_says_so(tmp_path):
    env = _blocked(tmp_path, {"torch"})
    proc = subprocess.run([sys.executable, "-m", "aifactory.burnin", "run"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False, timeout=60)
    assert (2, "") == (proc.returncode, proc.stdout)
    assert "missing required module(s): torch" in proc.stderr and "Traceback" not in proc.stderr


def test_thresholds_as_json_without_pyyaml(tmp_path):
    env = _blocked(tmp_path, {"yaml", "pydantic", "typer", "click"})
    good, bad = tmp_path / "t.json", tmp_path / "t.yaml"
    good.write_text(json.dumps({"acceptance": {"fail_below": 0.8, "warn_below": 0.9}}))
    bad.write_text("fail_below: 0.8\n")
    code = (
        "import sys\nfrom aifactory.burnin.main import load_thresholds\n"
        "from aifactory.burnin.catalog import load_catalog\n"
        f"print(load_thresholds({str(good)!r}).fail_below, len(load_catalog()))\n"
        "import aifactory.burnin.suite, aifactory.burnin.worker, aifactory.burnin.report\n"
        f"load_thresholds({str(bad)!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False, timeout=60)
    assert proc.stdout.startswith("0.8 ")
    assert "PyYAML is not installed and the file is not JSON" in proc.stderr


def test_json_references_agree_with_the_catalogue():
    # The suite reads JSON on GPU nodes (no PyYAML); the shared figures must be the catalogue's own.
    refs, cat = load_catalog(), load_catalog(YAML_CATALOG_PATH)
    assert set(cat) <= set(refs)
    for gid, entry in cat.items():
        assert (entry.name, entry.nvml_names, entry.figures) == (refs[gid].name, refs[gid].nvml_names,
                                                                 refs[gid].figures), gid
    # Review 10: H100 NVL and H200 NVL had no entry, so they ran with no floor at all.
    assert {"h100-nvl", "h200-nvl"} <= set(refs)
