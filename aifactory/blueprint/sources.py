"""Where blueprints come from: the catalogue folder, `extends:` chains, stack overrides and `--set`."""

from __future__ import annotations

import os
from pathlib import Path

from aifactory import resources
from aifactory.blueprint.merge import merge
from aifactory.blueprint.yamlsrc import YNode, parse_text, read_text, to_plain
from aifactory.errors import Location, UserError
from aifactory.files import check_name, is_file

MAX_EXTENDS = 8


def blueprints_dir() -> Path:
    """The reference catalogue: $AIFACTORY_BLUEPRINTS, else the blueprints the package ships."""
    env = os.environ.get("AIFACTORY_BLUEPRINTS")
    return Path(env) if env else resources.blueprints_dir()


def catalogue_names() -> list[str]:
    folder = blueprints_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def repository_root(start: Path) -> Path:
    """The enclosing git checkout, else the file's own folder: `extends:` may not leave it."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def real_path(path: Path) -> Path:
    """`path.resolve()`, or the absolute path where it cannot be resolved (a symlink loop, too long a name):
    the reader then refuses the file with the reason."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return path.absolute()


CATALOGUE_PREFIX = "catalogue:"


def display_path(path: Path) -> str:
    """A file as messages and outputs name it: relative to the working directory; a file of the catalogue the
    package ships as `blueprints/NAME.yaml` (the same from a checkout and from any installed copy), or
    `catalogue:NAME.yaml` where the working directory has another file by that name; else as given."""
    real = real_path(path)
    try:
        return str(real.relative_to(Path.cwd().resolve()))
    except ValueError:
        pass
    catalogue = resources.blueprints_dir()
    if real.is_relative_to(catalogue):
        shown = Path("blueprints") / real.relative_to(catalogue)
        # A different file of that name in the working directory (a user's copy): the name says "catalogue",
        # so that a name always means one file (the policy locator reads names back).
        return str(shown) if not _exists(shown) else f"{CATALOGUE_PREFIX}{real.relative_to(catalogue)}"
    return str(path)


def resolve_reference(ref: str, loc: Location | None) -> Path:
    """A CLI argument or `extends:` value: a file path, or a catalogue name."""
    check_name(ref, ref)
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or os.sep in ref or _exists(path):
        return path
    if ref in catalogue_names():
        return blueprints_dir() / f"{ref}.yaml"
    from aifactory.catalog import suggest

    raise UserError.at(loc or Location(ref), f"no blueprint file or catalogue entry named {ref!r}",
                       suggest(ref, catalogue_names()).replace("valid ids", "catalogue"))


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long for the file system is not a catalogue name either
        return True


def load_file(path: Path) -> YNode:
    display = display_path(path)
    return parse_text(read_text(path, display), display)


def load_with_extends(path: Path, chain: tuple[Path, ...] = ()) -> YNode:
    """Load a blueprint and, recursively, what it `extends:`; the child's values win."""
    chain = (*chain, real_path(path))
    doc = load_file(path)
    if not isinstance(doc.value, dict):
        raise UserError.at(doc.loc, "a blueprint must be a mapping of keys to values",
                           "start with `apiVersion: aifactory/v1` and `kind: Blueprint`")
    parent = doc.value.pop("extends", None)
    if parent is None:
        return doc
    if not isinstance(parent.value, str):
        raise UserError.at(parent.loc, "`extends:` must be a catalogue name or a relative path",
                           "e.g. `extends: dgx-h100-superpod` or `extends: ./base.yaml`")
    target = _parent_path(chain[-1], parent)
    _check_link(target, chain, parent)
    return merge(load_with_extends(target, chain), doc)


def _check_link(target: Path, chain: tuple[Path, ...], ref: YNode) -> None:
    """Errors about an `extends:` link point at the `extends:` line that makes them, not at a whole file."""
    if real_path(target) in chain:
        cycle = " -> ".join(display_path(p) for p in (*chain, target))
        raise UserError.at(ref.loc, f"`extends:` forms a cycle: {cycle}",
                           "remove one `extends:` so the chain ends at a blueprint without one")
    if len(chain) >= MAX_EXTENDS:
        raise UserError.at(ref.loc, f"`extends:` chain is longer than {MAX_EXTENDS} files",
                           "flatten the chain: copy the values of a middle blueprint into its child")


def _parent_path(child: Path, ref: YNode) -> Path:
    return named_blueprint(ref, "extends", child.parent, "this file")


def named_blueprint(ref: YNode, key: str, base: Path, relative_to: str) -> Path:
    """The one rule for a blueprint named inside a file (`extends:`, a stack's `aifactory:blueprint`): a
    catalogue name, or a path relative to `base` (told to the user as `relative_to`) that stays inside the
    repository enclosing `base` (or inside the catalogue folder) once symlinks are followed, and names a file.
    Every refusal points at `ref`'s line."""
    name: str = ref.value
    check_name(name, str(ref.loc))
    if name in catalogue_names() and not name.endswith((".yaml", ".yml")):
        return blueprints_dir() / f"{name}.yaml"
    if os.path.isabs(name):
        raise UserError.at(ref.loc, f"`{key}: {name}` is an absolute path",
                           f"use a catalogue name or a path relative to {relative_to}")
    try:
        target = (base / name).resolve()
    except (OSError, RuntimeError):  # RuntimeError: Python 3.11's resolve() on a symlink loop
        raise UserError.at(ref.loc, f"`{key}: {name}` cannot be resolved (a symlink loop or too long a path)",
                           "name a real file inside the repository") from None
    roots = {repository_root(base.resolve()), blueprints_dir().resolve()}
    if not any(target.is_relative_to(root) for root in roots):
        raise UserError.at(ref.loc, f"`{key}: {name}` points outside the repository",
                           "keep base blueprints inside the repository (or use a catalogue name)")
    if not is_file(target):
        from aifactory.catalog import suggest

        hint = suggest(name, catalogue_names()).replace("valid ids", "catalogue names")
        raise UserError.at(ref.loc, f"`{key}: {name}` is neither a catalogue blueprint nor a file "
                           f"(looked for {display_path(target)})",
                           f"give a catalogue name or a path relative to {relative_to}; {hint}")
    return target


def apply_set(root: YNode, expr: str) -> YNode:
    """Apply `--set cooling.rack_groups.0.capacity=50kW` to a loaded tree (the value is parsed as YAML)."""
    loc = Location(f"--set {expr}")
    key, sep, raw = expr.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(parts):
        raise UserError.at(loc, "expected PATH=VALUE", "e.g. --set compute.scalable_units=2")
    value = YNode(parse_text(raw if raw.strip() else '""', loc.file).value, loc)
    return _set(root, parts, value, loc)


def _set(node: YNode, parts: list[str], value: YNode, loc: Location) -> YNode:
    if not parts:
        return merge(node, value)
    head, rest = parts[0], parts[1:]
    if isinstance(node.value, list):
        if not head.isdigit() or int(head) >= len(node.value):
            raise UserError.at(loc, f"{head!r} is not an index of the list at {node.loc}",
                               f"use an index from 0 to {len(node.value) - 1}")
        items = list(node.value)
        items[int(head)] = _set(items[int(head)], rest, value, loc)
        return YNode(items, node.loc)
    if node.value is not None and not isinstance(node.value, dict):
        # Without this the scalar would silently become a mapping and the error would blame the file.
        shown = repr(to_plain(node))[:60]  # the plain value: a YNode's repr is no user's business
        raise UserError.at(loc, f"{head!r} cannot go under the value {shown} at {node.loc}",
                           "set the value itself (drop the last part of PATH), or fix PATH")
    mapping = dict(node.value) if isinstance(node.value, dict) else {}
    child = mapping.get(head, YNode({}, loc))
    mapping[head] = _set(child, rest, value, loc)
    # `--set a.b=null` deletes `b`: a required key then goes missing from `a`, and that is the flag's doing.
    return YNode(mapping, loc if not rest and value.value is None else node.loc)
