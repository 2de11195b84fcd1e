"""`load_blueprint()`: the one entry point from files to a validated Blueprint with positions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aifactory.blueprint.merge import merge, prune_nulls
from aifactory.blueprint.model import Blueprint
from aifactory.blueprint.pyerrors import Path as DataPath
from aifactory.blueprint.pyerrors import problems_from
from aifactory.blueprint.sources import apply_set, display_path, load_with_extends, resolve_reference
from aifactory.blueprint.yamlsrc import YNode, locations, to_plain
from aifactory.errors import Location, Problem, UserError


@dataclass(frozen=True)
class LoadedBlueprint:
    """A validated blueprint plus where each of its values came from."""

    model: Blueprint
    data: dict[str, Any]
    locations: dict[DataPath, Location]
    source: str

    def locate(self, *path: str | int) -> Location:
        """The position of `path`, or of its closest ancestor that exists."""
        for n in range(len(path), -1, -1):
            loc = self.locations.get(tuple(path[:n]))
            if loc is not None:
                return loc
        return Location(self.source)

    @staticmethod
    def pointer(*path: str | int) -> str:
        """RFC 6901 JSON pointer for `path` (used to label rendered resources with their origin)."""
        return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def load_tree(ref: str, overrides: Sequence[YNode] = (), sets: Iterable[str] = ()) -> YNode:
    """Resolve `ref`, follow `extends:`, apply overrides then `--set` values; no validation yet."""
    tree = load_with_extends(resolve_reference(ref, None))
    for override in overrides:
        tree = merge(tree, override)
    for expr in sets:
        tree = apply_set(tree, expr)
    return prune_nulls(tree)


def refuse_secrets(data: dict[str, Any], locs: dict[DataPath, Location], source: str) -> None:
    """Exit 2 where the blueprint holds a secret (see aifactory.secrets), naming its kind, never its value."""
    from aifactory.secrets import find

    found = list(find(data))
    if found:
        raise UserError([
            Problem(locs.get(path, Location(source)), f"{kind} is written in the blueprint",
                    "remove it, rotate it, and name it instead (`key_ref:` or a Pulumi secret / Ansible Vault "
                    "variable); a secret in git is published", ".".join(str(p) for p in path))
            for path, kind in found
        ])


def validate_tree(tree: YNode, source: str, allow_secrets: bool = False) -> LoadedBlueprint:
    """Validate a merged tree. A secret in it is refused first (before any message could quote it) unless
    `allow_secrets` (`policy check`, which reports it as SEC-007)."""
    data = to_plain(tree)
    locs = locations(tree)
    if not allow_secrets:
        refuse_secrets(data, locs, source)
    try:
        model = Blueprint.model_validate(data)
    except ValidationError as err:
        raise UserError(problems_from(err, data, locs, Blueprint)) from None
    loaded = LoadedBlueprint(model, data, locs, source)
    from aifactory.blueprint.csi import csi_problems
    from aifactory.blueprint.hostside import host_problems

    problems = csi_problems(loaded) + host_problems(loaded)
    if problems:
        raise UserError(problems)
    return loaded


def load_blueprint(ref: str | Path, overrides: Sequence[YNode] = (), sets: Iterable[str] = (),
                   allow_secrets: bool = False) -> LoadedBlueprint:
    """Load and validate a blueprint (a path or a catalogue name). Raises UserError with file:line."""
    ref = str(ref)
    tree = load_tree(ref, overrides, sets)
    return validate_tree(tree, display_path(resolve_reference(ref, None)), allow_secrets)
