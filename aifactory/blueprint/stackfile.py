"""Pulumi stack files (`stacks/Pulumi.<region>.yaml`) as blueprint sources.

A stack names a blueprint (`aifactory:blueprint`) and deep-merges the region's overrides onto it
(`aifactory:overrides`); values that come from the stack file keep the stack file's lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aifactory.blueprint.loader import LoadedBlueprint, load_tree, validate_tree
from aifactory.blueprint.sources import display_path, load_file
from aifactory.blueprint.yamlsrc import YNode
from aifactory.errors import UserError

BLUEPRINT_KEY = "aifactory:blueprint"
OVERRIDES_KEY = "aifactory:overrides"
REGION_KEY = "aifactory:region"


@dataclass(frozen=True)
class StackConfig:
    file: str
    blueprint: str
    region: str
    overrides: YNode | None


def read_stack(doc: YNode, file: str) -> StackConfig | None:
    """The stack's settings, or None when `doc` is not a stack file."""
    config = doc.value.get("config") if isinstance(doc.value, dict) else None
    if config is None or not isinstance(config.value, dict) or BLUEPRINT_KEY not in config.value:
        return None
    ref = config.value[BLUEPRINT_KEY]
    if not isinstance(ref.value, str):
        raise UserError.at(ref.loc, f"`{BLUEPRINT_KEY}` must be a catalogue name or a path",
                           "e.g. `aifactory:blueprint: dgx-h200-sovereign-eu`")
    region = config.value.get(REGION_KEY)
    overrides = config.value.get(OVERRIDES_KEY)
    if overrides is not None and not isinstance(overrides.value, dict):
        raise UserError.at(overrides.loc, f"`{OVERRIDES_KEY}` must be a mapping",
                           "write the keys to override under it, e.g. `site: {region: eu-central}`")
    return StackConfig(file, ref.value, str(region.value) if region else "", overrides)


def stack_blueprint_ref(stack: StackConfig) -> str:
    """A path in a stack file is relative to the repository (the stack folder's parent)."""
    candidate = Path(stack.file).parent.parent / stack.blueprint
    return str(candidate) if stack.blueprint.endswith((".yaml", ".yml")) and candidate.exists() else stack.blueprint


def load_source(ref: str, sets: Iterable[str] = ()) -> tuple[LoadedBlueprint, StackConfig | None]:
    """Load a blueprint file, a catalogue name, or a stack file; `--set` values apply last."""
    path = Path(ref)
    if path.is_file():
        doc = load_file(path)
        stack = read_stack(doc, display_path(path))
        if stack is not None:
            tree = load_tree(stack_blueprint_ref(stack), [stack.overrides] if stack.overrides else [], sets)
            return validate_tree(tree, stack.file), stack
    from aifactory.blueprint.loader import load_blueprint

    return load_blueprint(ref, sets=sets), None
