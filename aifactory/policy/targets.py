"""What `policy check FILE` accepts: a blueprint, or a Pulumi stack file `Pulumi.<stack>.yaml` whose config
names a blueprint (`aifactory:blueprint`) and per-region overrides (`aifactory:overrides`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aifactory.blueprint import LoadedBlueprint, load_blueprint
from aifactory.blueprint.sources import display_path
from aifactory.blueprint.yamlsrc import YNode, parse_text, read_text
from aifactory.errors import Location, UserError

BLUEPRINT_KEY = "aifactory:blueprint"
OVERRIDES_KEY = "aifactory:overrides"


@dataclass(frozen=True)
class Target:
    """One checked file and the validated design it describes."""

    file: str
    loaded: LoadedBlueprint
    stack: bool = False


def is_stack_file(path: Path) -> bool:
    return path.name.startswith("Pulumi.") and path.suffix in (".yaml", ".yml") and path.name != "Pulumi.yaml"


def load_target(ref: str, sets: Iterable[str] = ()) -> Target:
    """Load a blueprint or a stack file; every bad input raises UserError naming file:line."""
    path = Path(ref)
    if path.name in ("Pulumi.yaml", "Pulumi.yml") and path.is_file():
        raise UserError.at(
            Location(display_path(path), 1),
            "this is a Pulumi project file; it names no blueprint",
            f"check the stack files beside it instead: {path.parent / 'Pulumi.<stack>.yaml'}",
        )
    if not is_stack_file(path):
        return Target(display_path(path) if path.exists() else ref, load_blueprint(ref, sets=list(sets)))
    display = display_path(path)
    doc = parse_text(read_text(path, display), display)
    config = doc.value.get("config") if isinstance(doc.value, dict) else None
    if config is None or not isinstance(config.value, dict) or BLUEPRINT_KEY not in config.value:
        raise UserError.at(
            doc.loc,
            f"stack file has no `config: {BLUEPRINT_KEY}:`",
            f"add `config:` with `{BLUEPRINT_KEY}: <catalogue name or path>`",
        )
    bp_node = config.value[BLUEPRINT_KEY]
    if not isinstance(bp_node.value, str) or not bp_node.value:
        raise UserError.at(
            bp_node.loc,
            f"`{BLUEPRINT_KEY}` must be a catalogue name or a path",
            "e.g. `aifactory:blueprint: dgx-h200-sovereign-eu`",
        )
    overrides: list[YNode] = []
    if OVERRIDES_KEY in config.value:
        node = config.value[OVERRIDES_KEY]
        if not isinstance(node.value, dict):
            raise UserError.at(
                node.loc,
                f"`{OVERRIDES_KEY}` must be a mapping merged onto the blueprint",
                "write it like the blueprint itself, e.g. `compute: {scalable_units: 2}`",
            )
        overrides.append(node)
    return Target(display, load_blueprint(_blueprint_ref(path, bp_node.value), overrides, list(sets)), True)


def _blueprint_ref(stack: Path, ref: str) -> str:
    # A path in a stack file is relative to the stack file's folder (where `pulumi` runs), a bare name is a
    # catalogue entry.
    if ref.endswith((".yaml", ".yml")) or "/" in ref or os.sep in ref:
        return str(stack.parent / ref) if not os.path.isabs(ref) else ref
    return ref
