"""`aifactory blueprints list|show`: the catalogue of validated reference blueprints."""

from __future__ import annotations

from typing import Annotated

import typer

from aifactory.cli.common import TableFormat, echo_json


def _summary(name: str) -> dict[str, object]:
    from aifactory.blueprint import load_blueprint
    from aifactory.catalog import get_catalog

    bp = load_blueprint(name).model
    sku = get_catalog().nodes[bp.compute.node_sku]
    nodes = bp.compute.nodes or bp.compute.scalable_units * bp.compute.nodes_per_su
    return {
        "name": bp.name,
        "description": bp.description,
        "reference_architecture": bp.reference_architecture,
        "jurisdiction": bp.site.jurisdiction,
        "sovereign": bp.site.sovereignty.enforced,
        "node_sku": bp.compute.node_sku,
        "gpu": sku.gpu,
        "gpus_per_node": sku.gpus,
        "max_nodes": nodes,
        "fabric": bp.fabric.compute.type,
        "storage": bp.storage.filesystem.type,
        "cooling": sorted({g.type for g in bp.cooling.rack_groups}),
        "orchestrator": bp.mlops.orchestrator.type,
    }


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Browse the catalogue of validated reference blueprints.", no_args_is_help=True)
    app.add_typer(sub, name="blueprints")

    @sub.command("list")
    def list_(
        fmt: Annotated[TableFormat, typer.Option("--format", "-f", case_sensitive=False)] = TableFormat.table,
    ) -> None:
        """List the reference blueprints with what each is for."""
        from aifactory.blueprint.sources import catalogue_names

        rows = [_summary(n) for n in catalogue_names()]
        if fmt is TableFormat.json:
            echo_json({"blueprints": rows})
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Reference blueprints", title_justify="left")
        for col in ("name", "GPUs", "fabric", "storage", "cooling", "orchestrator", "where"):
            table.add_column(col)
        for r in rows:
            where = f"{r['jurisdiction']}{' (sovereign)' if r['sovereign'] else ''}"
            gpus = f"{r['gpus_per_node']}x {str(r['gpu']).upper()}/node"
            cooling = ", ".join(r["cooling"])  # type: ignore[arg-type]  # a list of names, built above
            table.add_row(str(r["name"]), gpus, str(r["fabric"]), str(r["storage"]), cooling,
                          str(r["orchestrator"]), where)
        Console(width=120).print(table)

    @sub.command("show")
    def show(name: Annotated[str, typer.Argument(help="Catalogue name, e.g. dgx-h100-superpod.")]) -> None:
        """Print a reference blueprint's YAML (start your own from it)."""
        from aifactory.blueprint.sources import resolve_reference
        from aifactory.blueprint.yamlsrc import read_text

        path = resolve_reference(name, None)
        _summary(name)  # validates: never show a broken catalogue entry
        typer.echo(read_text(path, str(path)), nl=False)
