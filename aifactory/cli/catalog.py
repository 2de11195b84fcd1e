"""`aifactory catalog list [KIND]`: the hardware catalogue, each figure with its source."""

from __future__ import annotations

from typing import Annotated

import typer

from aifactory.cli.common import TableFormat, echo_json
from aifactory.errors import Location, UserError


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Browse the hardware catalogue (GPUs, nodes, switches, optics, cooling, CDUs, regions).",
                      no_args_is_help=True)
    app.add_typer(sub, name="catalog")

    @sub.command("list")
    def list_(
        kind: Annotated[
            str | None, typer.Argument(help="gpus, nodes, switches, transceivers, cooling, cdus, regions")
        ] = None,
        fmt: Annotated[TableFormat, typer.Option("--format", "-f", case_sensitive=False)] = TableFormat.table,
    ) -> None:
        """List catalogue ids (all kinds, or one kind with every figure and its source)."""
        from aifactory.catalog import KINDS, get_catalog, suggest

        if kind is not None and kind not in KINDS:
            raise UserError.at(Location(f"catalog list {kind}"), f"unknown catalogue kind {kind!r}",
                               suggest(kind, list(KINDS)).replace("valid ids", "kinds"))
        cat = get_catalog()
        kinds = [kind] if kind else list(KINDS)
        data = {k: {i: e.model_dump() for i, e in getattr(cat, k).items()} for k in kinds}
        if fmt is TableFormat.json:
            echo_json(data)
            return
        for k in kinds:
            typer.secho(k, bold=True)
            for ident, entry in data[k].items():
                typer.echo(f"  {ident:<20} {entry['name']}")
                if kind:
                    sources = entry.pop("sources")
                    for field, value in entry.items():
                        if field != "name":
                            src = f"  [{sources[field]}]" if field in sources else ""
                            typer.echo(f"      {field}: {value}{src}")
