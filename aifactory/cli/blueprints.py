"""`aifactory blueprints ...`: the catalogue of reference blueprints (filled in below)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Browse the catalogue of validated reference blueprints.", no_args_is_help=True)
    app.add_typer(sub, name="blueprints")

    @sub.command("list")
    def list_() -> None:
        """List the reference blueprints."""
