"""Where policy findings point: repository-relative paths, and inherited values anchored in the user's file.

The one rule: the repository of a checked file is the git work tree holding it (the nearest folder upwards with a
`.git` entry, a folder or a worktree's file), else the current directory. Every location in policy output (text,
JSON, SARIF, JUnit, GitHub annotations) is a path relative to that folder, written with `/`.

A value the checked file got from the catalogue (through `extends:` or a stack's `aifactory:blueprint`) or from a
`--set` argument is not in any file the user can change. Such a finding is reported at the line of the user's
file that inherited it: the nearest key on the value's path that the user's files set, else the `extends:` (or
`aifactory:blueprint:`) line, else the file's first line. Where the value really is stays in `Finding.inherited`:
the catalogue file relative to the catalogue folder (`Location.base == "catalogue"`), or the `--set` argument.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from aifactory.errors import Location
from aifactory.policy.model import Finding

CATALOGUE = "catalogue"
SET_PREFIX = "--set "


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return path.absolute()


def repository_of(path: Path) -> Path:
    """The git work tree holding `path`, else the current directory (both resolved)."""
    real = _real(path)
    for folder in real.parents:
        try:
            if (folder / ".git").exists():
                return folder
        except OSError:
            continue
    return _real(Path.cwd())


def catalogue_folder() -> Path | None:
    from aifactory.blueprint.sources import blueprints_dir

    folder = _real(Path(blueprints_dir()))
    return folder if folder.is_dir() else None


def is_set(loc: Location) -> bool:
    return loc.file.startswith(SET_PREFIX)


@dataclass(frozen=True)
class Locator:
    """Maps the loader's locations (paths as shown relative to the current directory, or absolute) for one
    checked file: `root` is its repository, `own` the checked file itself."""

    root: Path
    own: Path
    catalogue: Path | None

    @classmethod
    def for_file(cls, file: str) -> Locator:
        own = _real(Path.cwd() / file)
        return cls(repository_of(own), own, catalogue_folder())

    def real(self, loc: Location) -> Path:
        """The file behind a location: relative to the current directory, else a catalogue file as
        `sources.display_path` names it (`blueprints/NAME.yaml` wherever the package is installed, or
        `catalogue:NAME.yaml`)."""
        from aifactory.blueprint.sources import CATALOGUE_PREFIX

        if self.catalogue is not None and loc.file.startswith(CATALOGUE_PREFIX):
            return _real(self.catalogue / loc.file.removeprefix(CATALOGUE_PREFIX))
        here = Path.cwd() / loc.file
        head, _, rest = loc.file.partition("/")
        if self.catalogue is not None and head == "blueprints" and rest and not here.exists():
            return _real(self.catalogue / rest)
        return _real(here)

    def in_catalogue(self, loc: Location) -> bool:
        """A location in a catalogue blueprint other than the checked file: a value the user inherited."""
        if is_set(loc) or self.catalogue is None:
            return False
        real = self.real(loc)
        return real != self.own and real.is_relative_to(self.catalogue)

    def user_file(self, loc: Location) -> bool:
        return not is_set(loc) and not self.in_catalogue(loc)

    def relative(self, loc: Location) -> Location:
        """`loc` relative to the repository, or to the catalogue (base "catalogue") for inherited values."""
        if is_set(loc):
            return loc
        real = self.real(loc)
        inside = self.catalogue is not None and real.is_relative_to(self.catalogue)
        if self.catalogue is not None and inside and (self.in_catalogue(loc) or not real.is_relative_to(self.root)):
            return Location(real.relative_to(self.catalogue).as_posix(), loc.line, loc.column, CATALOGUE)
        if real.is_relative_to(self.root):
            return Location(real.relative_to(self.root).as_posix(), loc.line, loc.column)
        return Location(Path(os.path.relpath(real, self.root)).as_posix(), loc.line, loc.column)

    def file(self, file: str) -> str:
        """A checked file's name as reported (repository-relative)."""
        return self.relative(Location(file)).file


def anchor(
    finding: Finding, locator: Locator, locations: dict[tuple[str | int, ...], Location], fallback: Location
) -> Finding:
    """`finding` with repository-relative locations; an inherited value anchored in the user's file (see the
    module docstring). `fallback` is the `extends:` / `aifactory:blueprint:` line, or the checked file."""
    loc = finding.location
    related = None if finding.related is None else locator.relative(finding.related)
    if locator.user_file(loc):
        return finding.with_(location=locator.relative(loc), related=related)
    where = fallback
    for n in range(len(finding.path) - 1, 0, -1):
        up = locations.get(tuple(finding.path[:n]))
        if up is not None and locator.user_file(up):
            where = up
            break
    return finding.with_(location=locator.relative(where), related=related, inherited=locator.relative(loc))
