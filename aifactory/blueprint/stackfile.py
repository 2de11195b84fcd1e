"""Pulumi stack files (`stacks/Pulumi.<stack>.yaml`): the one reader. `validate`, `plan`, `policy check`,
`render`, `init`, the Pulumi program behind `up`/`preview` and the CrossGuard pack all load stacks here.

    config:
      aifactory:blueprint: dgx-h200-sovereign-eu   # a catalogue name, or a path relative to the repository root
      aifactory:region: de-stuttgart               # optional; default: the merged blueprint's site.region
      aifactory:overrides: {site: {...}}           # deep-merged onto the blueprint (null deletes a key)

The repository root is the repository that holds the stack file (`stack_repository`): the folder above the
Pulumi project the stack file sits in, else the enclosing git checkout. A path is read against it by the
rule `extends:` uses (`sources.named_blueprint` is the one rule for both): an absolute path, a path that
leaves the repository (`../`, a symlink out) or a value that is no string is refused at the stack file's line.
Values the stack file sets keep its lines, and the loaded blueprint's `source` is the stack file (the file
under review).

Two ways in, one reader: the commands (`render --stack`, `policy check`, `validate`, ...) read the file
(`read_stack`); the Pulumi program reads the same keys from the stack's Pulumi configuration
(`stack_from_config`: what the engine hands the program, so ESC environments, `--config-file` and
`pulumi config set` count), and both go through `parse_stack`. Where a configured value equals the stack
file's, the file's node (and line) is used; a value only the configuration holds is attributed to the stack
file without a line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aifactory import resources
from aifactory.blueprint.loader import LoadedBlueprint, load_blueprint, load_tree, validate_tree
from aifactory.blueprint.sources import display_path, load_file, named_blueprint, repository_root
from aifactory.blueprint.yamlsrc import YNode, parse_text, to_plain
from aifactory.errors import Location, UserError
from aifactory.files import check_name, is_file

STACKS = resources.stacks_dir()  # the Pulumi project the package ships (in a checkout: its stacks/)
BLUEPRINT_KEY = "aifactory:blueprint"
OVERRIDES_KEY = "aifactory:overrides"
REGION_KEY = "aifactory:region"
_YAML = (".yaml", ".yml")
_REGION = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")  # as site.region: a DNS label


@dataclass(frozen=True)
class StackFile:
    """A stack file's settings, checked for shape; the blueprint it names is resolved by `blueprint_path`."""

    path: Path
    file: str  # the stack file as shown to the user
    blueprint_node: YNode  # the `aifactory:blueprint` value (a non-empty string) with its line
    region: str  # "" where the file names none
    overrides: YNode | None

    @property
    def blueprint(self) -> str:
        value: str = self.blueprint_node.value
        return value

    @property
    def name(self) -> str:
        """The Pulumi stack name: the part of the file name between `Pulumi.` and the suffix."""
        return self.path.name[len("Pulumi.") : -len(self.path.suffix)] if is_stack_name(self.path) else ""

    def blueprint_path(self) -> Path:
        """The blueprint file: a catalogue entry, or a file inside the repository enclosing the stack file."""
        root = stack_repository(self.path.resolve().parent)
        return named_blueprint(self.blueprint_node, BLUEPRINT_KEY, root, "the repository root")

    def region_of(self, loaded: LoadedBlueprint) -> str:
        return self.region or loaded.model.site.region


def stack_repository(folder: Path) -> Path:
    """The repository that holds the stack files in `folder`: where `folder` is a Pulumi project (it holds
    Pulumi.yaml), the folder above it, provided that lies inside the enclosing git checkout or there is none
    (this checkout's stacks/, a fresh `aifactory new` scaffold before `git init`, one inside a larger
    repository); otherwise the enclosing git checkout, else `folder` itself."""
    folder = folder.resolve()
    checkout = repository_root(folder)
    if any(is_file(folder / name) for name in ("Pulumi.yaml", "Pulumi.yml")):
        above = folder.parent
        if not (checkout / ".git").exists() or above.is_relative_to(checkout):
            return above
    return checkout


def is_stack_name(path: Path) -> bool:
    """`Pulumi.<stack>.yaml`, not the project file `Pulumi.yaml`."""
    return path.name.startswith("Pulumi.") and path.suffix in _YAML and path.stem != "Pulumi"


def parse_stack(doc: YNode, path: Path, file: str | None = None) -> StackFile | None:
    """The stack's settings; None where `doc` is not a stack (a file named `Pulumi.<stack>.yaml` must be one)."""
    file = file if file is not None else display_path(path)
    config = doc.value.get("config") if isinstance(doc.value, dict) else None
    if config is None or not isinstance(config.value, dict) or BLUEPRINT_KEY not in config.value:
        if not is_stack_name(path):
            return None
        raise UserError.at(
            doc.loc,
            f"stack file has no `config: {BLUEPRINT_KEY}:`",
            f"add `config:` with `{BLUEPRINT_KEY}: <catalogue name or path relative to the repository root>`",
        )
    ref = config.value[BLUEPRINT_KEY]
    if not isinstance(ref.value, str) or not ref.value:
        raise UserError.at(ref.loc, f"`{BLUEPRINT_KEY}` must be a catalogue name or a path",
                           "e.g. `aifactory:blueprint: dgx-h200-sovereign-eu` or `blueprints/lab.yaml` "
                           "(relative to the repository root)")
    overrides = config.value.get(OVERRIDES_KEY)
    if overrides is not None and not isinstance(overrides.value, dict):
        raise UserError.at(overrides.loc, f"`{OVERRIDES_KEY}` must be a mapping",
                           "write the keys to override under it, e.g. `site: {region: eu-central}`")
    region = config.value.get(REGION_KEY)
    if region is not None and (not isinstance(region.value, str) or not _REGION.fullmatch(region.value)):
        raise UserError.at(region.loc,
                           f"`{REGION_KEY}` must be a region id (a string of lowercase letters, digits and '-')",
                           "e.g. `aifactory:region: de-stuttgart` (or leave it out to use site.region)")
    return StackFile(path, file, ref, region.value if region is not None else "", overrides)


def project_stacks() -> Path:
    """The stacks folder a `--stack NAME` names: `stacks/` of the repository holding the working directory
    where that is a Pulumi project (a user's repository from `aifactory new`, or this checkout), else the
    Pulumi project the package ships."""
    here = repository_root(Path.cwd().resolve()) / "stacks"
    if any(is_file(here / name) for name in ("Pulumi.yaml", "Pulumi.yml")):
        return here
    return STACKS


def stack_names(folder: Path | None = None) -> list[str]:
    folder = folder or project_stacks()
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in folder.glob("Pulumi.*.yaml"))


def stack_path(stack: str, folder: Path | None = None) -> Path:
    """`folder/Pulumi.<stack>.yaml`; an unknown name (or one that is a path) is a UserError."""
    folder = folder or project_stacks()
    path = folder / f"Pulumi.{stack}.yaml"
    if "/" in stack or "\\" in stack or stack in ("", ".", "..") or not is_file(path):
        raise UserError.at(
            Location(display_path(path)),
            f"no stack named {stack!r}",
            f"valid stacks: {', '.join(stack_names(folder)) or '(none)'}; "
            "create one with `aifactory init --blueprint NAME --region REGION`",
        )
    return path


def read_stack_file(path: Path) -> StackFile:
    """A file that must be a stack file."""
    stack = parse_stack(load_file(path), path)
    if stack is None:
        raise UserError.at(
            Location(display_path(path), 1),
            f"not a stack file: no `config: {BLUEPRINT_KEY}:`",
            f"add `config:` with `{BLUEPRINT_KEY}: <catalogue name or path relative to the repository root>`",
        )
    return stack


def read_stack(stack: str, folder: Path | None = None) -> StackFile:
    """The stack named `stack` in the Pulumi project folder."""
    return read_stack_file(stack_path(stack, folder))


CONFIG_KEYS = (BLUEPRINT_KEY, REGION_KEY, OVERRIDES_KEY)


def _from_plain(value: Any, loc: Location) -> YNode:
    if isinstance(value, dict):
        return YNode({str(k): _from_plain(v, loc) for k, v in value.items()}, loc)
    if isinstance(value, list):
        return YNode([_from_plain(v, loc) for v in value], loc)
    return YNode(value, loc)


def _adopt(value: Any, known: YNode | None, loc: Location) -> YNode:
    """`value` as a YNode: the stack file's node where it holds the same value (its lines), key by key."""
    if known is not None and to_plain(known) == value:
        return known
    if isinstance(value, dict) and known is not None and isinstance(known.value, dict):
        return YNode({str(k): _adopt(v, known.value.get(str(k)), loc) for k, v in value.items()}, known.loc)
    return _from_plain(value, loc)


def stack_from_config(name: str, folder: Path, config: Mapping[str, Any]) -> StackFile:
    """The stack's settings from its Pulumi configuration (`CONFIG_KEYS` -> the value the engine hands the
    program, objects decoded); the same checks and result as reading a stack file holding those values."""
    path = folder / f"Pulumi.{name}.yaml"
    display = display_path(path)
    if config.get(BLUEPRINT_KEY) is None:
        raise UserError.at(
            Location(display),
            f"Pulumi config '{BLUEPRINT_KEY}' is not set for stack {name!r}",
            f"add `{BLUEPRINT_KEY}: <catalogue name or path relative to the repository root>` under `config:` "
            f"in {display} (or `pulumi config set {BLUEPRINT_KEY} NAME --stack {name}`)",
        )
    known: dict[str, YNode] = {}
    if is_file(path):
        doc = load_file(path)
        section = doc.value.get("config") if isinstance(doc.value, dict) else None
        if section is not None and isinstance(section.value, dict):
            known = section.value
    loc = Location(display)
    section_node = YNode(
        {key: _adopt(config[key], known.get(key), loc) for key in CONFIG_KEYS if config.get(key) is not None}, loc
    )
    return _parsed(parse_stack(YNode({"config": section_node}, loc), path, display), path)


def _parsed(stack: StackFile | None, path: Path) -> StackFile:
    assert stack is not None, path  # a document with `config: aifactory:blueprint` always parses to a stack
    return stack


def stack_from_text(text: str, path: Path) -> StackFile | None:
    """The settings of a stack file about to be written at `path` (`aifactory init` checks before it writes)."""
    return parse_stack(parse_text(text, display_path(path)), path)


def load_stack(stack: StackFile, sets: Iterable[str] = (), allow_secrets: bool = False) -> LoadedBlueprint:
    """The stack's blueprint with its overrides, then `--set` values, merged on; validated."""
    overrides = [stack.overrides] if stack.overrides is not None else []
    tree = load_tree(str(stack.blueprint_path()), overrides, sets)
    return validate_tree(tree, stack.file, allow_secrets)


def load_source(ref: str, sets: Iterable[str] = (),
                allow_secrets: bool = False) -> tuple[LoadedBlueprint, StackFile | None]:
    """What a command argument names: a stack file, a blueprint file or a catalogue name; `--set` applies last."""
    check_name(ref, ref)
    path = Path(ref)
    if path.name in ("Pulumi.yaml", "Pulumi.yml") and is_file(path):
        raise UserError.at(
            Location(display_path(path), 1),
            "this is a Pulumi project file; it names no blueprint",
            f"check the stack files beside it instead: {path.parent / 'Pulumi.<stack>.yaml'}",
        )
    if is_file(path):
        stack = parse_stack(load_file(path), path)
        if stack is not None:
            return load_stack(stack, sets, allow_secrets), stack
    return load_blueprint(ref, sets=sets, allow_secrets=allow_secrets), None
