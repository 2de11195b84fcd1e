"""`aifactory burnin ...`: a thin Typer face on `aifactory.burnin` (which also runs as `python -m`).

Only this file knows about blueprints: `--blueprint` loads the pydantic model and the catalogue here and
hands plain thresholds and a GPU id to the suite, which must run on nodes without pydantic.
"""

from __future__ import annotations

import importlib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from aifactory.cli.common import Format
from aifactory.errors import Location, UserError


class Profile(StrEnum):
    quick = "quick"
    acceptance = "acceptance"
    soak = "soak"


class RunFormat(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"


class DeviceType(StrEnum):
    auto = "auto"
    cuda = "cuda"
    cpu = "cpu"


class Target(StrEnum):
    slurm = "slurm"
    k8s = "k8s"


def _user_error(err: Any) -> UserError:
    return UserError.at(Location(err.file) if err.file else None, err.message, err.hint)


def _guard(fn: Any) -> int:
    """Run a library call; its result is the exit code, its input errors a UserError (exit 2 at the CLI entry)."""
    from aifactory.burnin import BurninInputError

    try:
        code: int = fn()
    except BurninInputError as err:
        raise _user_error(err) from None
    return code


def _from_blueprint(path: Path) -> tuple[Any, str | None]:
    """Thresholds and the catalogue GPU id from a blueprint (the lead's pydantic loader and catalogue)."""
    from aifactory.burnin.thresholds import Thresholds

    try:
        load_blueprint = importlib.import_module("aifactory.blueprint").load_blueprint
        get_catalog = importlib.import_module("aifactory.catalog").get_catalog
    except (ImportError, AttributeError):
        raise UserError.at(
            Location(str(path)),
            "this installation has no blueprint loader",
            "pass the acceptance thresholds with --thresholds FILE instead",
        ) from None
    loaded = load_blueprint(path)
    blueprint = getattr(loaded, "model", loaded)  # the loader returns the model with its source locations
    acceptance = getattr(blueprint, "acceptance", None)
    mapping = acceptance.model_dump() if acceptance is not None else {}
    sku = blueprint.compute.node_sku
    node = get_catalog().nodes.get(sku)
    return Thresholds.from_mapping(mapping, source=str(path)), (node.gpu if node is not None else None)


def register(app: typer.Typer) -> None:
    sub = typer.Typer(
        help="Burn in GPU nodes: verdicts, reports, fleet comparison, scale-out.", no_args_is_help=True
    )
    app.add_typer(sub, name="burnin")

    @sub.command("run")
    def run(
        profile: Annotated[
            Profile | None, typer.Option(help="Default: the blueprint's acceptance.profile.")
        ] = None,
        devices: Annotated[str | None, typer.Option(help="Comma-separated indices, or all.")] = None,
        device_type: Annotated[
            DeviceType, typer.Option(help="auto: CUDA if present, else CPU mode.")
        ] = DeviceType.auto,
        blueprint: Annotated[
            Path | None, typer.Option(help="Blueprint whose acceptance section sets the limits.")
        ] = None,
        thresholds: Annotated[
            Path | None, typer.Option(help="YAML acceptance mapping (without a blueprint).")
        ] = None,
        gpu: Annotated[
            str | None, typer.Option(help="Catalogue GPU id (default: from the blueprint or NVML).")
        ] = None,
        phases: Annotated[
            str | None, typer.Option(help="Comma-separated subset; the rest count as skipped.")
        ] = None,
        phase_timeout: Annotated[
            float | None, typer.Option(help="Seconds per phase before a worker is killed.")
        ] = None,
        fmt: Annotated[RunFormat, typer.Option("--format", help="What to print.")] = RunFormat.text,
        out: Annotated[Path | None, typer.Option(help="Folder for JSON, summary, JUnit and plots.")] = None,
        no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNG plots.")] = False,
    ) -> None:
        """Burn in this node: every GPU at once, phase by phase; exit 0 pass/warn, 1 fail, 2 bad input."""
        from aifactory.burnin.main import execute, load_thresholds
        from aifactory.burnin.suite import SuiteOptions, parse_devices, parse_phases

        def go() -> int:
            limits, gpu_id = (
                _from_blueprint(blueprint)
                if blueprint
                else (load_thresholds(str(thresholds) if thresholds else None), None)
            )
            opts = SuiteOptions(
                profile=profile.value if profile else None,
                device_type=device_type.value,
                devices=parse_devices(devices),
                gpu_id=gpu or gpu_id,
                thresholds=limits,
                phases=parse_phases(phases),
                phase_timeout_s=phase_timeout,
                progress=lambda phase: typer.echo(f"burn-in: {phase}", err=True),
            )
            return execute(opts, fmt.value, str(out) if out else None, not no_plots, typer.echo)

        raise typer.Exit(_guard(go))

    @sub.command("compare")
    def compare(
        results: Annotated[list[str], typer.Argument(help="Reports, or folders holding burnin-report.json.")],
        fmt: Annotated[Format, typer.Option("--format")] = Format.text,
        out: Annotated[Path | None, typer.Option(help="Folder for burnin-fleet.json and .txt.")] = None,
    ) -> None:
        """Fleet-wide outliers and recalibrated baselines; exit 1 on an outlier or a failed node."""
        from aifactory.burnin.compare import cmd_compare

        raise typer.Exit(
            _guard(lambda: cmd_compare(results, fmt.value, str(out) if out else None, typer.echo))
        )

    @sub.command("pairs")
    def pairs(
        device_type: Annotated[DeviceType, typer.Option()] = DeviceType.auto,
        size: Annotated[int | None, typer.Option("--bytes", help="Message size.")] = None,
        iters: Annotated[int | None, typer.Option(help="Timed iterations per pair.")] = None,
        min_busbw: Annotated[float | None, typer.Option(help="Absolute pair floor, GB/s.")] = None,
        fmt: Annotated[Format, typer.Option("--format")] = Format.text,
        out: Annotated[Path | None, typer.Option(help="Folder for burnin-pairs.json (rank 0).")] = None,
    ) -> None:
        """Multi-node pair test: run one rank per node (srun, or a Kubernetes Indexed Job)."""
        from aifactory.burnin.multinode import cmd_pairs

        raise typer.Exit(
            _guard(
                lambda: cmd_pairs(
                    device_type.value,
                    size,
                    iters,
                    str(out) if out else None,
                    fmt.value,
                    typer.echo,
                    min_busbw,
                )
            )
        )

    @sub.command("render")
    def render(
        target: Annotated[
            Target, typer.Argument(help="slurm (sbatch script) or k8s (Service + Indexed Job).")
        ],
        nodes: Annotated[int, typer.Option(help="Nodes to burn in.")],
        gpus_per_node: Annotated[int, typer.Option()] = 8,
        profile: Annotated[Profile, typer.Option()] = Profile.acceptance,
        results: Annotated[str, typer.Option(help="Shared results folder (Slurm).")] = "/shared/burnin",
        image: Annotated[str, typer.Option(help="Container image (Kubernetes).")] = "aifactory-burnin:latest",
        out: Annotated[Path | None, typer.Option(help="File to write; default standard output.")] = None,
    ) -> None:
        """Render the fleet burn-in for Slurm or Kubernetes (results gathered in one folder)."""
        from aifactory.burnin.main import cmd_render
        from aifactory.burnin.scaleout import ScaleOut

        scale = ScaleOut(nodes, gpus_per_node, profile.value, results, image=image)
        raise typer.Exit(
            _guard(lambda: cmd_render(target.value, scale, str(out) if out else None, typer.echo))
        )
