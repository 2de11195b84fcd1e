"""`aifactory size`: the largest valid design of a blueprint within a power, cooling and rack envelope."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aifactory.cli.common import Format
from aifactory.cli.plan import FormatOption, SetOption

if TYPE_CHECKING:
    from aifactory.design import Plan


def _power(raw: str | None, flag: str) -> float | None:
    from aifactory.blueprint.types import parse_power
    from aifactory.errors import UserError

    if raw is None:
        return None
    try:
        watts = parse_power(raw)
    except (ValueError, TypeError) as err:
        raise UserError.at(None, f"{flag} {raw!r}: {err}", f"write {flag} 20MW (W, kW or MW)") from None
    if watts <= 0:
        raise UserError.at(None, f"{flag} {raw!r} must be above zero", f"write {flag} 20MW")
    return watts


def print_size(result: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(highlight=False)
    b = result["binding"]
    console.print(
        f"[bold]{result['blueprint']}[/bold]: {result['scalable_units']} SU(s), {result['nodes']} nodes, "
        f"{result['gpus']} GPUs, {result['racks']} racks ({result['compute_racks']} compute); "
        f"IT {result['it_kw']:,.1f} kW, facility {result['facility_kw']:,.1f} kW"
    )
    console.print(f"binding at {b['scalable_units']} SU(s): {', '.join(b['constraints'])}")
    for reason in b["reasons"]:
        console.print(f"  {reason}")


def register(app: typer.Typer) -> None:
    @app.command("size")
    def size_cmd(
        blueprint: Annotated[str, typer.Argument(help="Blueprint file, stack file or catalogue name.")],
        power: Annotated[str, typer.Option("--power", help="Facility power budget, e.g. 20MW.")],
        cooling: Annotated[
            str | None, typer.Option("--cooling", help="Heat the facility can reject (the IT load), e.g. 15MW.")
        ] = None,
        racks: Annotated[int | None, typer.Option("--racks", help="Racks the site holds.", min=1)] = None,
        set_: SetOption = None,
        fmt: FormatOption = Format.text,
    ) -> None:
        """The largest valid design within the limits: SUs, nodes, GPUs, racks and power, and the constraint
        that binds. Each candidate is planned by the real engine (`aifactory plan`), SUs doubling then bisected.

        Exit 0 with the result; 2: unusable input or no design fits."""
        from aifactory.blueprint.stackfile import load_source
        from aifactory.design import plan
        from aifactory.design.whatif import Limits, size
        from aifactory.io import dumps_json

        watts = _power(power, "--power")
        assert watts is not None
        limits = Limits(watts, _power(cooling, "--cooling"), racks)
        base = [*(set_ or []), f"cooling.facility_power={watts}W"]
        model = load_source(blueprint, base)[0].model
        c = model.compute
        # A blueprint that pins compute.nodes grows by its nodes per SU (whole NVL72 racks stay whole);
        # otherwise nodes follow the SUs (every slot less the fabric manager's).
        per_su = math.ceil(c.nodes / max(c.scalable_units, math.ceil(c.nodes / c.nodes_per_su))) if c.nodes else 0

        def plan_at(n: int) -> Plan:
            nodes = [f"compute.nodes={n * per_su}"] if per_su else []
            return plan(load_source(blueprint, [*base, f"compute.scalable_units={n}", *nodes])[0].model)

        result = {"blueprint": model.name, **size(plan_at, limits)}
        if fmt is Format.json:
            typer.echo(dumps_json(result), nl=False)
        else:
            print_size(result)
