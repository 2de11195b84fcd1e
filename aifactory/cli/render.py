"""`aifactory render BLUEPRINT --out DIR --kubernetes`: the Kubernetes layer as YAML for GitOps users;
`--workloads`: the blueprint's mlops.workloads for Slurm and Kubernetes, and its energy schedule."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

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
    workloads: Annotated[
        bool, typer.Option("--workloads", help="Write mlops.workloads (sbatch, systemd, TrainJob, "
                           "InferenceService...) and the energy schedule to OUT/workloads.")
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

    if not (kubernetes or workloads):
        raise UserError.at(None, "nothing to render", "add --kubernetes, --workloads or both")
    if fmt not in ("text", "json"):
        raise UserError.at(None, f"unknown format {fmt!r}", "use --format text or --format json")
    if (blueprint is None) == (stack is None):
        raise UserError.at(None, "name one blueprint or stack to render",
                           "give a blueprint or stack file, or --stack NAME for stacks/Pulumi.NAME.yaml, not both")
    check_output(out, folder=True)
    for part, on in (("kubernetes", kubernetes), ("workloads", workloads)):
        if on:
            check_output(out / part, folder=True)
    stack_file: StackFile | None
    if stack is not None:
        stack_file = read_stack(stack, stacks_dir)
        loaded = load_stack(stack_file, sets or [])
    else:
        assert blueprint is not None
        loaded, stack_file = load_source(blueprint, sets or [])
    region = stack_file.region_of(loaded) if stack_file is not None else loaded.model.site.region
    report: dict[str, object] = {"region": region, "blueprint": loaded.model.name}
    lines: list[str] = []
    staged: list[tuple[Path, Mapping[str, Any]]] = []  # every output built before any is written
    if kubernetes:
        staged.append((out / "kubernetes", gitops_files(build(loaded, region), flux_path(out / "kubernetes"))))
    if workloads:
        from aifactory.render.workloads import render_workloads

        files, summary = render_workloads(loaded, region)
        staged.append((out / "workloads", files))
        report["workloads"] = summary
        lines += workload_lines(summary)
    written: list[Path] = []
    heads = []
    for folder, content in staged:
        done = replace_tree(folder, content)
        written += done
        heads.append(f"wrote {len(done)} files to {folder} (region {region})")
    lines = heads + lines
    report["files"] = [str(p) for p in written]
    if fmt == "json":
        typer.echo(dumps_json(report), nl=False)
    else:
        typer.echo("\n".join(lines))


def workload_lines(summary: dict[str, object]) -> list[str]:
    """The workloads and the energy schedule, a line each, for the text report."""
    out = []
    for kind in ("training", "evaluations", "serving", "benchmarks"):
        for w in summary[kind]:  # type: ignore[attr-defined]
            out.append(f"  {kind[:-1] if kind.endswith('s') else kind} {w['name']} on {w['on']}")
    energy = summary.get("energy")
    if isinstance(energy, dict):
        wins = ", ".join(f"{w['start']} +{w['hours']}h" for w in energy["training_windows"])
        caps = ", ".join(f"{w['start']} +{w['hours']}h" for w in energy["capped_windows"])
        out.append(f"  energy ({energy['kind']}, {energy['signal']}): training windows {wins or 'none'}")
        low, cap = energy["gpu_cap_low_w"], energy["gpu_cap_w"]
        out.append(f"  GPUs capped at {low} W (from {cap} W) in {caps or 'no hour'}:"
                   f" facility {energy['facility_low_w'] / 1e3:.0f} kW (from {energy['facility_w'] / 1e3:.0f} kW,"
                   f" budget {energy['facility_budget_w'] / 1e3:.0f} kW)")
    return out


def register(app: typer.Typer) -> None:
    app.command("render")(render)
