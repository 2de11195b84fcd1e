"""`aifactory plan` and `aifactory diff`: derive, check and draw the physical factory from a blueprint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aifactory.cli.common import Format

if TYPE_CHECKING:
    from aifactory.blueprint import LoadedBlueprint
    from aifactory.design import Plan


SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="Override a value: path=value (repeatable).")
]
FormatOption = Annotated[Format, typer.Option("--format", help="Output format.")]


def located_findings(lb: LoadedBlueprint, p: Plan) -> list[dict[str, Any]]:
    """The plan's findings with file:line:column of the value that caused each (and of its budget)."""
    from aifactory.design.report import check_json

    out = []
    for check in p.checks:
        item = check_json(check)
        loc = lb.locate(*check.path)
        item.update({"file": loc.file, "line": loc.line, "column": loc.column})
        if check.related:
            item["related_location"] = str(lb.locate(*check.related))
        out.append(item)
    return out


def load_and_plan(ref: str, sets: list[str] | None) -> tuple[LoadedBlueprint, Plan, dict[str, Any]]:
    from aifactory.blueprint.stackfile import load_source
    from aifactory.design import plan

    lb, _ = load_source(ref, sets or [])
    p = plan(lb.model)
    data = p.to_json()
    data["findings"] = located_findings(lb, p)
    return lb, p, data


def write_artifacts(p: Plan, data: dict[str, Any], out: Path) -> None:
    """Render every artifact in memory, then write them all atomically (nothing half-written on failure)."""
    from aifactory.design import cabling
    from aifactory.design.inventory import hosts_csv
    from aifactory.io import Content, dumps_json, replace_tree

    bom = "item,model,count\n" + "".join(f"{r['item']},{r['model']},{r['count']}\n" for r in data["bom"])
    files: dict[str, Content] = {
        "plan.json": dumps_json(data),
        "bom.csv": bom,
        "cabling.csv": cabling.csv_chunks(p),  # streamed into the staging folder
        "hosts.csv": hosts_csv(p.hosts),
    }
    from aifactory.render.pictures import pictures

    files.update(pictures(p))
    replace_tree(out, files)


def warn_slurm(lb: LoadedBlueprint, p: Plan) -> None:
    """On stderr (stdout stays the report): what the Slurm the pin installs cannot express of the design, at
    the line of `software.slurm` (of `software.os` where unpinned, the distribution's Slurm)."""
    from aifactory.render.slurm_install import capability_notes

    if getattr(lb.model.mlops.orchestrator, "slurm", None) is None:
        return
    where = lb.locate("software", "slurm" if lb.model.software.slurm is not None else "os")
    for note in capability_notes(lb.model, p.sku.nvlink_domain_nodes):
        typer.echo(f"warning: {where}: {note}", err=True)


def print_summary(data: dict[str, Any], out: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    c, pw, co, st, k = (
        data["fabric"]["compute"],
        data["power"],
        data["cooling"],
        data["storage"],
        data["kpi"],
    )
    console.print(
        f"[bold]{data['blueprint']}[/bold]: {data['nodes']} x {data['node_sku']} = "
        f"{data['gpus']} {data['gpu_model']} GPUs in {c['scalable_units']} SU(s)"
    )
    table = Table(
        "network", "switch", "tiers", "leaf", "spine", "core", "node links", "leaf-spine", "spine-core"
    )
    for name, n in sorted(data["fabric"].items()):
        table.add_row(
            name,
            n["switch"],
            str(n["tiers"]),
            str(n["leaf_switches"]),
            str(n["spine_switches"]),
            str(n["core_switches"]),
            str(n["node_links"]),
            str(n["leaf_spine_links"]),
            str(n["spine_core_links"]),
        )
    console.print(table)
    console.print(
        f"compute fabric: {c['rails']} rails at {c['link_speed_gbps']}G, oversubscription "
        f"{c['oversubscription']:g}:1, fabric manager ports {c['fabric_manager']['ports']}"
    )
    console.print(
        f"power: IT {pw['it_kw']:,.1f} kW, facility {pw['facility_kw']:,.1f} kW (PUE {pw['pue']:g}) "
        f"of {pw['facility_budget_kw']:,.1f} kW budget"
    )
    console.print(
        f"racks: {co['racks']} ({co['compute_racks']} compute at {co['nodes_per_rack']} nodes, "
        f"{co['max_rack_kw']:.1f} kW max; {co['network_racks']} network), {co['pdus']} PDUs"
    )
    for g in co.get("cdus", []):
        console.print(
            f"CDUs ({g['group']}): {g['cdus']} x {g['model']} ({g['needed']} for {g['liquid_kw']:,.1f} kW of liquid "
            f"heat at {g['capacity_kw']:g} kW each, {g['spares']} spare), up to {g['racks_per_cdu']} racks each"
        )
    console.print(
        f"storage ({st['tier']}): read {st['read_gbps']:g} GB/s ({st['read_gbps_per_gpu']:.3f} per GPU, "
        f"tier asks {st['target_read_gbps']:g}), write {st['write_gbps']:g} GB/s; checkpoints "
        f"{st['checkpoint_tb']:g} TB of {st['capacity_tb']:g} TB"
    )
    tokens = (
        f"{k['tokens_per_s']:,.0f} tokens/s; tokens/J {k['tokens_per_joule_node_max_power']} at node maximum "
        f"power, {k['tokens_per_joule_it_load']} of IT load"
        if k["tokens_per_s"]
        else "no sourced token figure"
    )
    console.print(
        f"KPIs: {k['peak_pflops_bf16']:,.1f} PFLOPS bf16, {k['peak_pflops_fp8']:,.1f} fp8; {tokens}"
    )
    for f in data["findings"]:
        console.print(
            f"[red]{f['file']}:{f['line']}:{f['column']}: {f['code']}[/red]: {f['message']}\n"
            f"  fix: {f['hint']}"
        )
    if not data["findings"]:
        console.print("[green]no findings[/green]")
    if "what_if" in data:
        w = data["what_if"]
        b, cap, pc = w["bandwidth"], w["capacity"], w["power_cooling"]
        failed = ", ".join(f"{n} {k}" for k, n in w["failed"].items())
        core = f", spine-core {b['spine_core_remaining']:.1%}" if "spine_core_remaining" in b else ""
        console.print(
            f"what if {failed} fail: leaf-spine uplinks {b['leaf_spine_remaining']:.1%} "
            f"({b['leaf_spine_gbps_remaining']:,} of {b['leaf_spine_gbps']:,} Gb/s), worst pod "
            f"{b['worst_pod_uplinks_remaining']:.1%}{core}; GPUs {cap['gpus_remaining']:,} of {cap['gpus']:,} up "
            f"({cap['gpus_without_their_nic']:,} without their NIC, {cap['compute_racks_down']} racks down); "
            f"rack margin {pc['rack_margin_kw']:,.1f} kW of {pc['rack_budget_kw']:,.1f} kW, "
            f"{pc['feeds_per_rack']} feed(s) per rack"
        )
        if "cdu" in w:
            cd = w["cdu"]
            console.print(
                f"what if {cd['failed']} of {cd['cdus']} CDUs fail ({cd['group']}): cooling margin "
                f"{cd['cooling_margin_kw']:,.1f} kW ({cd['capacity_kw_remaining']:,.1f} kW left for "
                f"{cd['liquid_kw']:,.1f} kW), {cd['spares_left']} spare(s) left, {cd['racks_throttled']} rack(s) to "
                f"throttle or shut down ({cd['gpus_affected']:,} GPUs)"
            )
    if out is not None:
        console.print(f"artifacts written to {out}")


def print_diff(result: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(highlight=False)
    console.print(f"[bold]{result['base']} -> {result['head']}[/bold]")
    for f in result["figures"]:
        delta = f" ({f['delta']:+g})" if f["delta"] is not None else ""
        console.print(f"  {f['figure']}: {f['base']} -> {f['head']}{delta}")
    for b in result["bom"]:
        console.print(f"  bom {b['item']} {b['model']}: {b['base']} -> {b['head']} ({b['delta']:+d})")
    for f in result["findings_added"]:
        console.print(f"  [red]+ {f['code']}: {f['message']}[/red]")
    for f in result["findings_removed"]:
        console.print(f"  [green]- {f['code']}: {f['message']}[/green]")
    if not (result["figures"] or result["bom"] or result["findings_added"] or result["findings_removed"]):
        console.print("  no change")


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan_cmd(
        blueprint: Annotated[str, typer.Argument(help="Blueprint file, stack file or catalogue name.")],
        set_: SetOption = None,
        fmt: FormatOption = Format.text,
        out: Annotated[
            Path | None,
            typer.Option(
                "--out",
                help="Write plan.json, bom.csv, cabling.csv, hosts.csv and the pictures (SVG, PNG) here.",
            ),
        ] = None,
        what_if: Annotated[
            str | None,
            typer.Option(
                "--what-if",
                help="A failure scenario: fail:KIND=N[,KIND=N] with KIND leaf, spine, core (compute fabric, one "
                "plane), feed (rack power feeds) or cdu (coolant distribution units of the liquid group); adds "
                "`what_if` (bandwidth, capacity, margins) to the output.",
            ),
        ] = None,
    ) -> None:
        """Derive the physical design (fabric, addresses, power, heat, storage, KPIs, BOM) and check it.

        Exit 0: the design holds; 1: findings (each names its file:line); 2: unusable input."""
        from aifactory.design.whatif import failures, parse_failures
        from aifactory.io import check_output, dumps_json

        if out is not None:
            check_output(out, folder=True)
        scenario = parse_failures(what_if) if what_if is not None else None
        lb, p, data = load_and_plan(blueprint, set_)
        warn_slurm(lb, p)
        if scenario is not None:
            data["what_if"] = failures(p, scenario)
        if out is not None:
            write_artifacts(p, data, out)
        if fmt is Format.json:
            typer.echo(dumps_json(data), nl=False)
        else:
            print_summary(data, out)
        if data["findings"]:
            raise typer.Exit(1)

    @app.command("diff")
    def diff_cmd(
        base: Annotated[str, typer.Argument(help="The blueprint before the change.")],
        head: Annotated[str, typer.Argument(help="The blueprint after the change.")],
        fmt: FormatOption = Format.text,
    ) -> None:
        """What a change does to GPUs, switches, cables, power, heat and the bill of materials.

        Exit 0 when HEAD plans without findings, 1 when it has findings, 2 on unusable input."""
        from aifactory.design.diff import diff_plans
        from aifactory.io import dumps_json

        _, _, before = load_and_plan(base, None)
        _, _, after = load_and_plan(head, None)
        result = diff_plans(before, after)
        if fmt is Format.json:
            typer.echo(dumps_json(result), nl=False)
        else:
            print_diff(result)
        if after["findings"]:
            raise typer.Exit(1)
