"""`aifactory lab up|status|converge|down|molecule`: a real miniature factory on this machine."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from aifactory.cli.common import Format
from aifactory.errors import UserError
from aifactory.io import dumps_json

lab_app = typer.Typer(help="Stand up, inspect and remove the local lab factory (needs root).", no_args_is_help=True)


def _progress() -> tuple[Any, Any]:
    from aifactory.cli.common import progress_bar

    progress = progress_bar(transient=False)
    return progress, progress.add_task("starting", total=None)


def _summary(data: dict[str, Any]) -> str:
    lines = ["", "Lab factory is up:"]
    for name, addr in sorted(data["addresses"].items()):
        lines.append(f"  {name:<12} {addr}")
    lines.append("Services:")
    lines += [f"  {svc:<12} {url}" for svc, url in sorted(data["services"].items())]
    burnin = data.get("burnin") or {}
    if burnin.get("status") == "ran":
        lines.append(f"Burn-in job: verdicts {burnin.get('verdicts')}, MLflow run {burnin.get('mlflow_run_id', '-')}")
    elif burnin:
        lines.append(f"Burn-in: {burnin.get('status')} ({burnin.get('reason', '')})")
    lines += production_lines(data.get("production") or {})
    if data.get("registry", {}).get("image"):
        lines.append(f"Host image: {data['registry']['image']} (from the lab's registry)")
    lines.append(f"Timings (s): {data['timings']}")
    lines.append(
        f"Try: podman exec {data['controller']} srun -N{len(data['addresses']) - 1} hostname   |   "
        "aifactory lab status   |   aifactory lab down"
    )
    return "\n".join(lines)


def production_lines(prod: dict[str, Any]) -> list[str]:
    """What the factory produced, measured, next to the plan's estimate."""
    if "bench" not in prod:  # not run: skipped or failed, with why
        return (
            [f"Production: {prod.get('status')} ({prod.get('reason') or prod.get('error', '')[:600]})"] if prod else []
        )
    train, ev, srv, bench, plan = prod["train"], prod["eval"], prod["serving"], prod["bench"], prod["plan"]
    estimate = (
        f"{plan['tokens_per_s']:,.1f} tokens/s" if plan["tokens_per_s"] is not None else f"none ({plan['reason']})"
    )
    energy = prod["energy"]
    joules = (f"{energy['tokens_per_joule']} tokens/J ({energy['source']})" if energy["tokens_per_joule"] is not None
              else energy["reason"])  # fmt: skip
    metric = next((k for k in ev if k not in ("model", "version", "promoted", "job")), "")
    return [
        f"Trained: {train.get('processes', '?')} processes across the compute nodes, {train.get('steps')} steps in "
        f"{train['seconds']} s (job {train['job']}); registered {ev['model']} v{ev['version']}",
        f"Evaluated: {metric} {ev.get(metric)} -> {'champion' if ev['promoted'] else 'refused'}",
        f"Serving: {srv['model']}@champion v{srv['version']} on {srv['host']} ({srv['url']}, KServe model server)",
        f"Tokens: {bench.get('output_tokens_per_s', 0):,.1f} tokens/s measured, p50 {bench.get('p50_e2el_ms')} ms, "
        f"p99 {bench.get('p99_e2el_ms')} ms over {bench.get('completed')} requests (benchmark job {bench['job']})",
        f"Plan estimate: {estimate}",
        f"Energy: {joules}",
    ]


@lab_app.command("up")
def up(
    nodes: Annotated[
        int, typer.Option("--nodes", help="Compute nodes besides the controller (1-3, blueprints/lab.yaml).")
    ] = 2,
    burnin: Annotated[bool, typer.Option("--burnin/--no-burnin", help="Run the burn-in job after converging.")] = True,
    produce: Annotated[
        bool,
        typer.Option("--produce/--no-produce", help="Train, evaluate, serve and benchmark the blueprint's workloads."),
    ] = True,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
) -> None:
    """Build N lab hosts, converge them with the site playbook, run burn-in as a Slurm job, then train, serve and
    measure the lab's language model."""
    from aifactory.lab.config import lab_design
    from aifactory.lab.setup import ensure_packages, require_root
    from aifactory.lab.up import lab_up

    lab_design(nodes)  # a node count outside 1-3 is unusable input: exit 2 before anything is made
    require_root()
    ensure_packages()
    progress, task = _progress()
    with progress:
        result = lab_up(nodes, lambda text: progress.update(task, description=text), burnin=burnin,
                        production=produce)  # fmt: skip
    conv = result.converge
    data = {
        "addresses": result.state.addresses,
        "controller": result.state.controller,
        "burnin": {k: v for k, v in result.burnin.items() if k != "output_tail"},
        "converge": conv.as_dict() if conv else None,
        "mirror": result.state.mirror,
        "registry": result.state.registry,
        "network": {"name": result.state.network, "bridge": result.state.bridge, "gateway": result.state.gateway},
        "services": result.state.services,
        "production": result.production,
        "timings": result.state.timings,
    }
    ok = (conv is not None and conv.succeeded and result.burnin.get("rc", 0) == 0
          and result.production.get("status") != "failed")  # fmt: skip
    typer.echo(dumps_json(data) if fmt is Format.json else _summary(data) if ok else dumps_json(data))
    if not ok:
        raise typer.Exit(1)


@lab_app.command("converge")
def converge_cmd(
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
    full: Annotated[
        bool, typer.Option("--full", help="Run every task, even on hosts unchanged since their last converge.")
    ] = False,
) -> None:
    """Run the site playbook again against the running lab (a second run should change nothing)."""
    from aifactory.lab.setup import require_root
    from aifactory.lab.up import converge

    require_root()
    state = _state()
    progress, task = _progress()
    with progress:
        result = converge(
            state,
            lambda text: progress.update(task, description=text),
            key="reconverge_full_s" if full else "reconverge_s",
            full=full,
        )
    data = result.as_dict()
    typer.echo(dumps_json(data) if fmt is Format.json else f"changed={result.changed} in {result.seconds:.1f}s")
    if not result.succeeded:
        raise typer.Exit(1)


def _state() -> Any:
    from aifactory.lab.state import LabState

    state = LabState.load()
    if state is None:
        raise UserError.at(None, f"no lab is up (no state file at {LabState.path()})", hint="run `aifactory lab up`")
    return state


@lab_app.command("status")
def status(fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text) -> None:
    """Hosts, daemons, services and Slurm jobs of the running lab."""
    from aifactory.lab.setup import require_root
    from aifactory.lab.status import lab_status

    require_root()
    data = lab_status(_state())
    if fmt is Format.json:
        typer.echo(dumps_json(data))
        return
    for name, host in data["hosts"].items():
        state = "running" if host["running"] else "STOPPED"
        typer.echo(f"{name:<12} {host['address']:<15} {state:<8} {' '.join(host['daemons'])}")
    for svc, info in data["services"].items():
        typer.echo(f"{svc:<12} {info['url']:<28} {'up' if info['up'] else 'DOWN'}")
    typer.echo(f"slurm nodes: {data['slurm_nodes']}  queue: {len(data['queue'])} job(s)")
    serving = data.get("serving")
    if serving:
        typer.echo(
            f"serving      {serving['url']:<28} {'up' if serving['ready'] else 'DOWN'} version {serving['version']}"
        )
    for line in production_lines(data.get("production") or {}):
        typer.echo(line)
    for it in data.get("iterations", []):
        typer.echo(iteration_line(it))


def iteration_line(it: dict[str, Any]) -> str:
    d, traffic = it["decision"], it["traffic"]
    metric = next((k for k in d if k not in ("model", "version", "promoted")), "")
    verdict = "promoted" if d["promoted"] else "refused"
    return (f"Iteration {it['tag']}: successor v{d['version']} {metric} {d.get(metric)} {verdict}; champion "
            f"v{it['before']['champion']} -> v{it['after']['champion']}, served v{it['before']['served']} -> "
            f"v{it['after']['served']}; {traffic['completed']} requests during the cycle, "
            f"{traffic['failed']} failed")  # fmt: skip


@lab_app.command("iterate")
def iterate_cmd(
    steps: Annotated[int, typer.Option("--steps", min=1, max=100_000, help="Training steps of the successor.")] = 150,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Train the successor from random weights, not from the champion.")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
) -> None:
    """One cycle of continuous iteration: new data arrives, a successor trains as a Slurm job while the champion
    serves under load, the evaluation gate promotes or refuses it, and serving follows with no failed request."""
    from aifactory.lab import produce
    from aifactory.lab.config import lab_design
    from aifactory.lab.setup import require_root
    from aifactory.lab.venv import venv_dir

    require_root()
    state = _state()
    design = lab_design(len([h for h in state.containers if h != state.controller]))
    progress, task = _progress()
    try:
        with progress:
            result = produce.iterate(state, design, str(venv_dir()),
                                     lambda text: progress.update(task, description=text),
                                     steps=steps, fresh=fresh)  # fmt: skip
    except produce.ProduceError as err:
        typer.echo(f"iteration failed: {err}", err=True)
        raise typer.Exit(1) from err
    typer.echo(dumps_json(result) if fmt is Format.json else iteration_line(result))
    if result["traffic"]["failed"]:
        raise typer.Exit(1)


@lab_app.command("down")
def down() -> None:
    """Remove everything `lab up` made (containers, network, state); the image cache stays."""
    from aifactory.lab.down import lab_down
    from aifactory.lab.setup import require_root

    require_root()
    left = lab_down()
    if left:
        typer.echo(f"could not remove: {', '.join(left)}", err=True)
        raise typer.Exit(1)
    typer.echo("lab removed")


@lab_app.command("molecule")
def molecule_cmd(
    roles: Annotated[list[str] | None, typer.Argument(help="Roles to test (default: all with a scenario).")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
) -> None:
    """Run the roles' molecule scenarios (converge, idempotence, verify) in containers from the lab image."""
    from aifactory.lab import molecule
    from aifactory.lab.image import ensure_image
    from aifactory.lab.paths import state_dir
    from aifactory.lab.podman import containers_conf
    from aifactory.lab.setup import ensure_packages, require_root

    selected = molecule.select_roles(roles or [])
    require_root()
    ensure_packages()
    log_dir = state_dir() / "molecule"
    progress, task = _progress()
    with progress:
        progress.update(task, description="lab image")
        image = ensure_image(log_dir / "image.log", "molecule")
        results = molecule.run_all(
            selected, image, containers_conf(), log_dir, lambda role: progress.update(task, description=f"role {role}")
        )
    if fmt is Format.json:
        typer.echo(dumps_json({"image": image, "results": [r.as_dict() for r in results]}))
    else:
        for r in results:
            verdict = "passed" if r.passed else f"FAILED at {r.failed_step} (log: {r.log})"
            typer.echo(f"{r.role:<18} {r.seconds:6.1f}s  {verdict}")
    if not all(r.passed for r in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(lab_app, name="lab")
