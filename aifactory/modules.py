"""The module registry: layer modules (Pulumi component resources) found by their metadata, never by import.

Each module is a folder `modules/<layer>/<name>/` with a `module.yaml`:

    name: mlops-platform            # canonical lowercase name, unique
    layer: mlops                    # compute | fabric | storage | cooling | mlops
    type: aifactory:mlops:Platform  # the component's Pulumi type token
    entry: component:Platform       # <python file in the folder>:<ComponentResource class>
    args: component:PlatformArgs    # <file>:<args class> with `from_stack(stack) -> args`
    order: 10                       # creation order; later modules depend on earlier ones
    inputs: {...}                   # documentation: what the args carry
    roles: [...]                    # Ansible roles the module drives, if any

`discover()` scans `modules/*/*/module.yaml` of the modules the package ships (`aifactory.resources`) and
every folder in `$AIFACTORY_MODULES` (os.pathsep separated), so users add modules without touching the
library. Files are imported as
`modules.<layer>.<name>.<file>` (a namespace package rooted at the folder's grandparent), which keeps classes
importable by the Pulumi dynamic-provider host as well.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aifactory import resources
from aifactory.errors import Location, UserError

LAYERS = ("compute", "fabric", "storage", "cooling", "mlops")
REPO_MODULES = resources.modules_dir()  # the modules the package ships (in a checkout: its modules/)
_REQUIRED = ("name", "layer", "type", "entry", "args")


@dataclass(frozen=True)
class ModuleSpec:
    """One module's metadata."""

    name: str
    layer: str
    type: str
    entry: str
    args: str
    folder: Path
    order: int = 50
    inputs: dict[str, Any] = field(default_factory=dict)
    roles: tuple[str, ...] = ()

    def component_class(self) -> Any:
        return self._load(self.entry)

    def args_class(self) -> Any:
        return self._load(self.args)

    def _load(self, ref: str) -> Any:
        stem, _, attr = ref.partition(":")
        root = self.folder.parents[1]  # .../modules
        if str(root.parent) not in sys.path:
            sys.path.insert(0, str(root.parent))
        module = importlib.import_module(f"{root.name}.{self.layer}.{self.folder.name}.{stem}")
        try:
            return getattr(module, attr)
        except AttributeError:
            raise UserError.at(
                Location(str(self.folder / "module.yaml")),
                f"module {self.name!r}: {stem}.py has no {attr!r}",
                "fix `entry:`/`args:` to name a class in the module folder",
            ) from None


class Registry:
    """Modules by canonical lowercase name."""

    def __init__(self) -> None:
        self._specs: dict[str, ModuleSpec] = {}

    def register(self, spec: ModuleSpec) -> None:
        if spec.name != spec.name.lower() or spec.name in self._specs:
            where = Location(str(spec.folder / "module.yaml"))
            raise UserError.at(
                where,
                f"module name {spec.name!r} is not lowercase or is registered twice",
                "give each module a unique lowercase `name:`",
            )
        self._specs[spec.name] = spec

    def get(self, name: str) -> ModuleSpec:
        try:
            return self._specs[name.lower()]
        except KeyError:
            raise UserError.at(
                None,
                f"unknown module {name!r}",
                f"valid modules: {', '.join(self.names()) or '(none found)'}",
            ) from None

    def names(self) -> list[str]:
        return sorted(self._specs)

    def ordered(self) -> list[ModuleSpec]:
        """Modules in creation order (then by name, for determinism)."""
        return sorted(self._specs.values(), key=lambda s: (s.order, s.name))


def read_spec(path: Path) -> ModuleSpec:
    """Parse one `module.yaml`."""
    where = Location(str(path))
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise UserError.at(where, f"cannot read module metadata: {err}", "fix the YAML") from None
    if not isinstance(raw, dict) or any(not isinstance(raw.get(k), str) for k in _REQUIRED):
        raise UserError.at(
            where,
            f"module metadata needs string keys {', '.join(_REQUIRED)}",
            "copy modules/mlops/platform/module.yaml and adapt it",
        )
    if raw["layer"] not in LAYERS or path.parent.parent.name != raw["layer"]:
        raise UserError.at(
            where,
            f"layer {raw['layer']!r} must be one of {', '.join(LAYERS)} and match the folder",
            f"move the module under modules/{raw['layer']}/ or fix `layer:`",
        )
    return ModuleSpec(
        name=raw["name"],
        layer=raw["layer"],
        type=raw["type"],
        entry=raw["entry"],
        args=raw["args"],
        folder=path.parent,
        order=int(raw.get("order", 50)),
        inputs=dict(raw.get("inputs") or {}),
        roles=tuple(raw.get("roles") or ()),
    )


def module_roots() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("AIFACTORY_MODULES", "").split(os.pathsep) if p]
    return [REPO_MODULES, *extra]


def discover(roots: Iterable[Path] | None = None) -> Registry:
    """A registry of every module found under `roots` (default: the repository's and $AIFACTORY_MODULES)."""
    registry = Registry()
    for root in roots if roots is not None else module_roots():
        for meta in sorted(Path(root).glob("*/*/module.yaml")):
            registry.register(read_spec(meta))
    return registry


@dataclass(frozen=True)
class StackContext:
    """What every module's `Args.from_stack()` receives: the checked blueprint and everything derived from it.

    `plan` is the design engine's Plan (None until that engine is installed); `hosts` its host records;
    `rendered` the Kubernetes layer from `aifactory.render.kubernetes.build`; `repo` the folder where the
    Ansible playbooks and roles live (`playbooks/site.yml`, `roles/`): the collection the package ships;
    `kubernetes` the stack's Kubernetes side (`aifactory.render.k8s.pulumi_resources.KubeStack`: its one
    provider and the dependency graph the layer modules share), None where the stack has no Kubernetes layer."""

    loaded: Any  # aifactory.blueprint.LoadedBlueprint
    region: str
    stack: str
    rendered: Any  # aifactory.render.kubernetes.Rendered
    plan: Any = None
    hosts: tuple[Any, ...] = ()
    repo: Path = field(default_factory=resources.collection_dir)
    kubernetes: Any = None
