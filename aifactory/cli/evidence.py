"""`aifactory evidence BLUEPRINT_OR_STACK`: the sovereignty evidence report (docs/evidence.md)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from aifactory.cli.common import SetOpt


class EvidenceFormat(StrEnum):
    text = "text"
    md = "md"
    json = "json"
    html = "html"


def evidence(
    source: Annotated[str, typer.Argument(help="Catalogue name, blueprint file or stack file.")],
    fmt: Annotated[
        EvidenceFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = EvidenceFormat.text,
    out: Annotated[Path | None, typer.Option("--out", help="Write the report to this file (atomically).")] = None,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="Folder of the bundle (manifest.json, manifest.json.asc).")
    ] = None,
    burnin: Annotated[
        list[str] | None,
        typer.Option("--burnin", help="Burn-in report, or folder searched for burnin-report.json. Repeatable."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date of the report (YYYY-MM-DD); default: the file's last commit.")
    ] = None,
    sets: SetOpt = None,
) -> None:
    """Map the design to the EU Cloud Sovereignty Framework (SOV-1..SOV-8, SEAL levels) and Gaia-X: each
    objective's blueprint values, policy rule results, plan, catalogue, bundle and burn-in facts at file:line,
    the SEAL level reached and what the next level needs."""
    from aifactory.evidence import evidence as build
    from aifactory.evidence import parse_date
    from aifactory.evidence.render import RENDERERS
    from aifactory.io import atomic_write, check_output

    if out is not None:
        check_output(out, folder=False)  # an unusable --out is refused before any work
    date = parse_date(as_of) if as_of is not None else None
    doc = build(source, sets or [], bundle, burnin or [], date)
    text = RENDERERS[fmt.value](doc)
    if out is not None:
        atomic_write(out, text)
        typer.echo(f"wrote {out} ({fmt.value}, SEAL-{doc['summary']['seal']}, {doc['digest']})")
    else:
        typer.echo(text, nl=False)


def register(app: typer.Typer) -> None:
    app.command("evidence")(evidence)
