"""`aifactory up --stack REGION` and `aifactory preview --stack REGION`: the Pulumi Automation API."""

from __future__ import annotations

from typing import Annotated

import typer

from aifactory.io import dumps_json

StackOpt = Annotated[str, typer.Option("--stack", help="Region stack (stacks/Pulumi.<REGION>.yaml).")]
FormatOpt = Annotated[str, typer.Option("--format", help="Report format: text or json.")]


def _report(op: str, stack: str, changes: dict[str, int], fmt: str) -> None:
    if fmt == "json":
        typer.echo(dumps_json({"operation": op, "stack": stack, "changes": changes}), nl=False)
    else:
        summary = ", ".join(f"{k} {v}" for k, v in sorted(changes.items())) or "no changes"
        typer.echo(f"{op} {stack}: {summary}")


def preview(stack: StackOpt, fmt: FormatOpt = "text") -> None:
    """Show what `up` would change for a region stack."""
    from aifactory.deploy import pulumi as deploy

    deploy.pulumi_binary()
    _report("preview", stack, deploy.preview(stack, on_output=None if fmt == "json" else typer.echo), fmt)


def up(stack: StackOpt, fmt: FormatOpt = "text") -> None:
    """Create or update a region stack: the Kubernetes/MLOps layer and the Ansible-converged node groups."""
    from aifactory.deploy import pulumi as deploy

    deploy.pulumi_binary()
    _report("up", stack, deploy.up(stack, on_output=None if fmt == "json" else typer.echo), fmt)


def register(app: typer.Typer) -> None:
    app.command("preview")(preview)
    app.command("up")(up)
