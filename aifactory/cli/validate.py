"""`aifactory validate FILE...` and `aifactory schema`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aifactory.cli.common import Format, FormatOpt, SetOpt, echo_json
from aifactory.errors import Problem, UserError


def _check(ref: str, sets: list[str]) -> tuple[dict[str, object], list[Problem]]:
    from aifactory.blueprint.stackfile import load_source

    try:
        loaded, stack = load_source(ref, sets)
    except UserError as err:
        return {"file": ref, "valid": False, "problems": [p.as_dict() for p in err.problems]}, err.problems
    bp = loaded.model
    return {"file": ref, "valid": True, "name": bp.name, "stack": stack.region_of(loaded) if stack else None,
            "problems": []}, []


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate(
        files: Annotated[list[str], typer.Argument(help="Blueprint files, stack files or catalogue names.")],
        fmt: FormatOpt = Format.text,
        sets: SetOpt = None,
    ) -> None:
        """Validate blueprints: schema, types, catalogue ids. Exit 0 valid, 2 unusable input."""
        results, problems = [], []
        for ref in files:
            result, found = _check(ref, sets or [])
            results.append(result)
            problems += found
        if fmt is Format.json:
            echo_json({"schema_version": 1, "valid": not problems, "results": results})
        else:
            for r in results:
                if r["valid"]:
                    typer.secho(f"ok    {r['file']} ({r['name']})", fg="green")
        if problems:
            if fmt is Format.json:
                raise typer.Exit(2)
            raise UserError(problems)

    @app.command("schema")
    def schema(
        out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    ) -> None:
        """Print the blueprint JSON Schema for editors.

        Point the YAML language server at it with a comment line in a blueprint:
        `# yaml-language-server: $schema=../schema/blueprint.schema.json`
        """
        from aifactory.blueprint.jsonschema import blueprint_schema
        from aifactory.io import atomic_write, dumps_json

        text = dumps_json(blueprint_schema())
        if out is None:
            typer.echo(text, nl=False)
        else:
            atomic_write(out, text)
            typer.echo(f"wrote {out}")
