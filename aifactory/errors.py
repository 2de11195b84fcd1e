"""The one error type users see.

A `UserError` is a mistake in the user's input (a file, a flag, a design). The CLI prints it without a
traceback and exits 2. It carries one or more `Problem`s, each pointing at a file, line and column with a
hint saying how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """A position in a source file; line and column are 1-based, 0 means unknown. `base` names the folder
    `file` is relative to where that is not the repository: "catalogue" for the package's blueprint catalogue."""

    file: str
    line: int = 0
    column: int = 0
    base: str = ""

    def __str__(self) -> str:
        file = f"{self.base}:{self.file}" if self.base else self.file
        if self.line and self.column:
            return f"{file}:{self.line}:{self.column}"
        if self.line:
            return f"{file}:{self.line}"
        return file


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: where, what, and how to fix it."""

    location: Location | None
    message: str
    hint: str = ""
    path: str = ""  # dotted path inside the document, e.g. "compute.nodes"

    def render(self) -> str:
        from aifactory.secrets import redact  # a message never repeats a secret found in the input

        where = f"{redact(str(self.location))}: " if self.location else ""  # `--set PATH=VALUE` is one
        what = f"{redact(self.path)}: " if self.path else ""
        text = f"{where}{what}{redact(self.message)}"
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


class UserError(Exception):
    """Unusable input. The CLI entry (`aifactory.cli.main`) prints it and exits 2, without a traceback."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | None = None) -> None:
        self.problems: list[Problem] = list(problems or [])
        super().__init__(self.format_message())

    def __reduce__(self) -> tuple[type[UserError], tuple[list[Problem]]]:
        # Pickled as its problems (an Exception pickles its message, which is no list of problems).
        return type(self), (self.problems,)

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
