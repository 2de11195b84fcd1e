"""`aifactory new DIR --blueprint NAME --region REGION`: scaffold a platform team's own infrastructure repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aifactory.errors import Location, UserError


def register(app: typer.Typer) -> None:
    @app.command("new")
    def new(
        directory: Annotated[Path, typer.Argument(metavar="DIR", help="The new repository's folder (new or empty).")],
        blueprint: Annotated[str, typer.Option("--blueprint", "-b", help="Catalogue blueprint to extend.")],
        region: Annotated[str, typer.Option("--region", "-r", help="Region id, e.g. de-stuttgart.")],
        site: Annotated[
            str | None, typer.Option("--site", help="Site name (blueprints/SITE.yaml); default: the region.")
        ] = None,
        fmt: Annotated[str, typer.Option("--format", "-f", help="Report format: text or json.")] = "text",
    ) -> None:
        """Scaffold an infrastructure repository: a site blueprint extending a catalogue one, its Pulumi stack,
        ansible.cfg, pre-commit config, GitHub workflow and README."""
        from aifactory import scaffold
        from aifactory.io import dumps_json

        if fmt not in ("text", "json"):
            raise UserError.at(Location("--format"), f"{fmt!r} is not valid for --format", "one of text, json")
        scaffold.check_target(directory)  # refuse before any work
        built = scaffold.build(blueprint, region, site)
        written = scaffold.write(built, directory)
        if fmt == "json":
            typer.echo(dumps_json({"blueprint": built.blueprint, "directory": str(directory), "files": written,
                                   "region": built.region, "site": built.site}), nl=False)
            return
        typer.echo(f"wrote {directory}/ (site {built.site}, extends {built.blueprint}, region {built.region}):")
        for name in written:
            typer.echo(f"  {name}")
        typer.echo(f"next: cd {directory} && git init && aifactory validate blueprints/{built.site}.yaml "
                   f"stacks/Pulumi.{built.region}.yaml")
