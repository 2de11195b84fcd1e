"""`aifactory render BLUEPRINT --out DIR --kubernetes`: the Kubernetes layer as YAML for GitOps users."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aifactory.errors import UserError
from aifactory.io import check_output, dumps_json, replace_tree


def render(
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
    blueprint: Annotated[
        str | None, typer.Argument(help="Catalogue name, blueprint file or stack file (or --stack NAME).")
    ] = None,
    kubernetes: Annotated[
        bool, typer.Option("--kubernetes", help="Write the Kubernetes/MLOps layer.")
    ] = False,
    stack: Annotated[
        str | None, typer.Option("--stack", help="Render this stack (STACKS_DIR/Pulumi.<STACK>.yaml) instead.")
    ] = None,
    stacks_dir: Annotated[
        Path | None, typer.Option("--stacks-dir", help="Stack files folder (default: this repository's stacks/).")
    ] = None,
    sets: Annotated[list[str] | None, typer.Option("--set", help="PATH=VALUE override (repeatable).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="Report format: text or json.")] = "text",
) -> None:
    """Write one YAML file per object (Helm releases as Flux HelmReleases) and a kustomization.yaml."""
    from aifactory.blueprint.stackfile import StackFile, load_source, load_stack, read_stack
    from aifactory.render.k8s.gitops import flux_path, gitops_files
    from aifactory.render.kubernetes import build

    if not kubernetes:
        raise UserError.at(None, "nothing to render", "add --kubernetes")
    if fmt not in ("text", "json"):
        raise UserError.at(None, f"unknown format {fmt!r}", "use --format text or --format json")
    if (blueprint is None) == (stack is None):
        raise UserError.at(None, "name one blueprint or stack to render",
                           "give a blueprint or stack file, or --stack NAME for stacks/Pulumi.NAME.yaml, not both")
    check_output(out, folder=True)
    check_output(out / "kubernetes", folder=True)
    stack_file: StackFile | None
    if stack is not None:
        stack_file = read_stack(stack, stacks_dir)
        loaded = load_stack(stack_file, sets or [])
    else:
        assert blueprint is not None
        loaded, stack_file = load_source(blueprint, sets or [])
    region = stack_file.region_of(loaded) if stack_file is not None else loaded.model.site.region
    files = gitops_files(build(loaded, region), flux_path(out / "kubernetes"))
    written = replace_tree(out / "kubernetes", files)
    if fmt == "json":
        typer.echo(
            dumps_json(
                {"region": region, "blueprint": loaded.model.name, "files": [str(p) for p in written]}
            ),
            nl=False,
        )
    else:
        typer.echo(f"wrote {len(written)} files to {out / 'kubernetes'} (region {region})")


def register(app: typer.Typer) -> None:
    app.command("render")(render)
