"""Stack files: `stacks/Pulumi.<region>.yaml` names a blueprint and the region's overrides.

    config:
      aifactory:blueprint: dgx-h200-sovereign-eu   # catalogue name or path relative to the repository
      aifactory:region: de-stuttgart
      aifactory:overrides: {site: {...}}           # deep-merged onto the blueprint (null deletes a key)

The file is read with the blueprint loader's YAML reader, so an error in an override points at the stack
file's line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aifactory.blueprint import LoadedBlueprint, load_blueprint
from aifactory.blueprint.sources import display_path
from aifactory.blueprint.yamlsrc import YNode, parse_text, read_text
from aifactory.errors import Location, UserError

REPO = Path(__file__).resolve().parents[3]
STACKS = REPO / "stacks"
PREFIX = "aifactory:"


@dataclass(frozen=True)
class StackFile:
    path: Path
    stack: str  # the Pulumi stack name (the part of the file name between `Pulumi.` and `.yaml`)
    blueprint: str
    region: str
    overrides: YNode | None


def stack_names(folder: Path = STACKS) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in folder.glob("Pulumi.*.yaml"))


def stack_path(stack: str, folder: Path = STACKS) -> Path:
    path = folder / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise UserError.at(
            Location(display_path(path)),
            f"no stack named {stack!r}",
            f"valid stacks: {', '.join(stack_names(folder)) or '(none)'}; "
            "create one with `aifactory init --blueprint NAME --region REGION`",
        )
    return path


def read_stack(stack: str, folder: Path = STACKS) -> StackFile:
    path = stack_path(stack, folder)
    shown = display_path(path)
    root = parse_text(read_text(path, shown), shown)
    config = root.value.get("config") if isinstance(root.value, dict) else None
    if config is None or not isinstance(config.value, dict):
        raise UserError.at(
            root.loc,
            "a stack file needs a `config:` mapping",
            "write `config:` with aifactory:blueprint and aifactory:region",
        )
    values = config.value
    for key in ("blueprint", "region"):
        node = values.get(PREFIX + key)
        if node is None or not isinstance(node.value, str) or not node.value:
            raise UserError.at(
                config.loc,
                f"`{PREFIX}{key}` is missing or not a string",
                f"add `{PREFIX}{key}: ...` under config:",
            )
    overrides = values.get(PREFIX + "overrides")
    if overrides is not None and not isinstance(overrides.value, dict):
        raise UserError.at(
            overrides.loc,
            f"`{PREFIX}overrides` must be a mapping",
            "write the blueprint keys to override, e.g. `site: {region: ...}`",
        )
    return StackFile(
        path, stack, values[PREFIX + "blueprint"].value, values[PREFIX + "region"].value, overrides
    )


def blueprint_ref(ref: str) -> str:
    """A catalogue name stays a name; a path is taken relative to the repository."""
    if "/" in ref or ref.endswith((".yaml", ".yml")):
        return str(REPO / ref)
    return ref


def load_stack(stack: StackFile, sets: Iterable[str] = ()) -> LoadedBlueprint:
    overrides = [stack.overrides] if stack.overrides is not None else []
    return load_blueprint(blueprint_ref(stack.blueprint), overrides=overrides, sets=sets)
