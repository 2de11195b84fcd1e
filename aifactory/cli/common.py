"""Options and printers shared by the command groups."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from aifactory.io import dumps_json


class Format(StrEnum):
    text = "text"
    json = "json"


class TableFormat(StrEnum):
    table = "table"
    json = "json"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a value: PATH=VALUE (YAML), e.g. compute.scalable_units=2. Repeatable."),
]


def echo_json(obj: Any) -> None:
    typer.echo(dumps_json(obj), nl=False)


def progress_bar(transient: bool) -> Any:
    """A Rich spinner with elapsed time, drawn on stderr so that stdout carries only the report
    (`--format json` output stays parseable while the bar runs)."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        transient=transient, console=Console(stderr=True),
    )  # fmt: skip
