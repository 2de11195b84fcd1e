"""What `policy check` is given: files, directories and globs, taken as Checkov and conftest take them.

- A file (or a catalogue name) is checked as named, whatever its content.
- A directory is walked for blueprints and stack files: `*.yaml` and `*.yml` files, every level down, in sorted
  order; folders whose name starts with `.` (`.git`, `.venv`) and `node_modules` are skipped, and symlinked
  folders are not followed. Any other YAML file (a workflow, a Kubernetes manifest, `Pulumi.yaml`) is ignored.
- An argument holding `*`, `?` or `[` that names no existing path is a glob, expanded by the tool itself so a
  quoted pattern works the same in every shell and in CI (`'blueprints/**/*.yaml'`: `**` is any depth). Matched
  folders are walked and matched files kept when they are blueprints or stack files, as in a walk.
- A directory or glob that yields no blueprint or stack file is unusable input (exit 2) naming it.
- Order: the arguments as given, each one's files sorted by path; a file reached twice is checked once.

A YAML file is a blueprint when, at its top level (keys in column 0), it has `kind: Blueprint` or
`apiVersion: aifactory/...`, or it has `extends:` and only keys a blueprint has. It is a stack file when it is
named `Pulumi.<stack>.yaml` and sets `aifactory:blueprint`. Telling them apart reads the file's first 64 KiB
through the one input reader, so a FIFO, a device or a symlink loop named `*.yaml` is refused (exit 2) just as
when it is named on the command line.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator
from pathlib import Path

from aifactory.errors import Location, UserError

HEAD_BYTES = 64 * 1024
_SUFFIXES = (".yaml", ".yml")
_GLOB = re.compile(r"[*?\[]")
_TOP_KEY = re.compile(r"""^(?:"([^"\n]*)"|'([^'\n]*)'|([^\s#"'\-?:][^:\n]*?))[ \t]*:(?:[ \t]|$)""", re.M)
_KIND = re.compile(r"""^kind[ \t]*:[ \t]*["']?Blueprint["']?[ \t]*(?:#.*)?$""", re.M)
_API = re.compile(r"""^apiVersion[ \t]*:[ \t]*["']?aifactory/""", re.M)
_STACK_KEY = re.compile(r"""^[ \t]+["']?aifactory:blueprint["']?[ \t]*:""", re.M)


def _blueprint_keys() -> frozenset[str]:
    from aifactory.blueprint.model import Blueprint

    return frozenset(f.alias or name for name, f in Blueprint.model_fields.items()) | {"extends"}


def kind_of(path: Path, display: str) -> str:
    """"blueprint", "stack" or "" (not ours), from the file's first bytes."""
    from aifactory.blueprint.stackfile import is_stack_name
    from aifactory.files import read_head

    text = read_head(path, display, HEAD_BYTES).decode("utf-8", errors="replace")
    if is_stack_name(path):
        return "stack" if _STACK_KEY.search(text) else ""
    if _KIND.search(text) or _API.search(text):
        return "blueprint"
    keys = {next(g for g in m.groups() if g is not None) for m in _TOP_KEY.finditer(text)}
    if "extends" in keys and keys <= _blueprint_keys():
        return "blueprint"
    return ""


def _walk(folder: Path) -> Iterator[Path]:
    for here, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "node_modules")
        for name in sorted(files):
            if name.endswith(_SUFFIXES):
                yield Path(here) / name


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir() and not path.is_symlink()
    except (OSError, ValueError):
        return False


def _exists(path: Path) -> bool:
    try:
        return os.path.lexists(path)
    except (OSError, ValueError):
        return True


def _ours(candidates: list[Path]) -> list[str]:
    return [str(p) for p in candidates if kind_of(p, str(p))]


def expand(args: list[str]) -> list[str]:
    """The files to check, in order (see the module docstring)."""
    from aifactory.files import check_name

    out: list[str] = []
    for arg in args:
        check_name(arg, arg)
        path = Path(arg)
        if _is_dir(path):
            found = _ours(list(_walk(path)))
            what = f"the folder {arg}"
        elif _GLOB.search(arg) and not _exists(path):
            found = []
            for match in sorted(glob.glob(arg, recursive=True)):
                m = Path(match)
                found += _ours(list(_walk(m))) if _is_dir(m) else _ours([m]) if match.endswith(_SUFFIXES) else []
            what = f"the pattern {arg!r}"
        else:
            out.append(arg)
            continue
        if not found:
            raise UserError.at(
                Location(arg),
                f"{what} matches no blueprint or stack file",
                "check the pattern (quote it so the shell leaves it to aifactory); blueprints are *.yaml files "
                "with `kind: Blueprint` or `extends:`, stack files are stacks/Pulumi.<stack>.yaml",
            )
        out += found
    return _once(out)


def _once(files: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for file in files:
        try:
            key = str(Path(file).resolve()) if _exists(Path(file)) else file
        except (OSError, RuntimeError, ValueError):
            key = file
        if key not in seen:
            seen.add(key)
            out.append(file)
    return out
