"""The one error type users see.

A `UserError` is a mistake in the user's input (a file, a flag, a design). The CLI prints it without a
traceback and exits 2. It carries one or more `Problem`s, each pointing at a file, line and column with a
hint saying how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import click


@dataclass(frozen=True, slots=True)
class Location:
    """A position in a source file; line and column are 1-based, 0 means unknown."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line and self.column:
            return f"{self.file}:{self.line}:{self.column}"
        if self.line:
            return f"{self.file}:{self.line}"
        return self.file


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: where, what, and how to fix it."""

    location: Location | None
    message: str
    hint: str = ""
    path: str = ""  # dotted path inside the document, e.g. "compute.nodes"

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        what = f"{self.path}: " if self.path else ""
        text = f"{where}{what}{self.message}"
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text

    def as_dict(self) -> dict[str, object]:
        loc = self.location
        return {
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class UserError(click.ClickException):
    """Unusable input. Exit code 2, no traceback."""

    exit_code = 2  # unusable input (ClickException's own default is 1)

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.format_message())


    @classmethod
    def at(cls, location: Location | None, message: str, hint: str = "", path: str = "") -> UserError:
        return cls([Problem(location, message, hint, path)])

    def format_message(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0].render()
        lines = [f"{len(self.problems)} problems:"]
        lines += [p.render() for p in self.problems]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format_message()
