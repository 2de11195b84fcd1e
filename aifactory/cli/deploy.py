"""`aifactory deploy BLUEPRINT --inventory DIR`: the site playbook through ansible-runner;
`aifactory deploy BLUEPRINT --render-inventory DIR`: write the inventory the blueprint's plan gives."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aifactory.cli.common import Format
from aifactory.errors import Location, UserError
from aifactory.io import dumps_json


def _check_inputs(blueprint: Path, inventory: Path) -> Path:
    if not blueprint.is_file():
        raise UserError.at(
            Location(str(blueprint)), "blueprint file not found", hint="pass a blueprint YAML file"
        )
    for candidate in (inventory / "hosts.yml", inventory):
        if candidate.is_file():
            return inventory if candidate != inventory else candidate
    raise UserError.at(
        Location(str(inventory)),
        "inventory not found",
        hint="pass the folder written by the inventory renderer",
    )


def render_inventory_dir(blueprint: Path, directory: Path, sets: list[str]) -> list[str]:
    """Load and plan the blueprint, write its inventory atomically; returns the files written."""
    from aifactory.blueprint import load_blueprint
    from aifactory.design import plan
    from aifactory.io import atomic_write_tree
    from aifactory.render.group_vars import render_blueprint_inventory

    bp = load_blueprint(blueprint, sets=sets).model
    files = render_blueprint_inventory(bp, plan(bp).hosts)
    atomic_write_tree(directory, files)
    return sorted(files)


def deploy(
    blueprint: Annotated[Path, typer.Argument(help="Blueprint the inventory was rendered from.")],
    inventory: Annotated[
        Path | None, typer.Option("--inventory", "-i", help="Inventory folder or file.")
    ] = None,
    render_to: Annotated[
        Path | None,
        typer.Option("--render-inventory", help="Write the blueprint's inventory to this folder and stop."),
    ] = None,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="Override a blueprint value, PATH=VALUE; repeatable.")
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="Dry run: report what would change.")] = False,
    limit: Annotated[
        list[str] | None, typer.Option("--limit", help="Host, rack:NAME or su:N; repeatable.")
    ] = None,
    vault_password_file: Annotated[
        Path | None,
        typer.Option(
            "--vault-password-file",
            help="Password file for the Ansible Vault-encrypted vars holding the credentials the blueprint names "
            "(e.g. group_vars/all/vault.yml); must not be readable by others.",
        ),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
) -> None:
    """Converge the factory's hosts with the site playbook; exit 1 if any host fails."""
    if render_to is not None:
        if not blueprint.is_file():
            raise UserError.at(
                Location(str(blueprint)), "blueprint file not found", hint="pass a blueprint YAML file"
            )
        written = render_inventory_dir(blueprint, render_to, sets or [])
        report = {"directory": str(render_to), "files": written}
        typer.echo(dumps_json(report) if fmt is Format.json else f"inventory written to {render_to}")
        return
    if inventory is None:
        raise UserError.at(
            None, "no inventory given", hint="pass --inventory DIR, or --render-inventory DIR to write one"
        )
    from aifactory.cli.common import progress_bar
    from aifactory.deploy.ansible import check_vault_password_file, run_playbook, translate_limit

    inv = _check_inputs(blueprint, inventory)
    vault = check_vault_password_file(vault_password_file) if vault_password_file is not None else None
    progress = progress_bar(transient=True)
    with progress:
        task = progress.add_task("starting", total=None)
        result = run_playbook(
            inv,
            limit=translate_limit(limit or []),
            check=check,
            vault_password_file=vault,
            on_task=lambda host, name: progress.update(task, description=f"{host}: {name}"),
        )
    if fmt is Format.json:
        typer.echo(dumps_json(result.as_dict()))
    else:
        for name, host in sorted(result.hosts.items()):
            typer.echo(
                f"{name:<20} ok={host.ok} changed={host.changed} failed={host.failures} "
                f"unreachable={host.unreachable} skipped={host.skipped}"
            )
        for failed in result.failed_tasks:
            typer.echo(f"FAILED {failed['host']}: {failed['task']}: {failed['msg']}", err=True)
        typer.echo(f"{result.status} in {result.seconds:.1f}s")
    if not result.succeeded:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
