"""The `aifactory` command.

Command groups live one per file in this package; each exposes `register(app)`. Heavy libraries (torch,
pulumi, ansible) are imported inside the commands that need them so `--help`, `validate` and
`policy check` start fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from aifactory import __version__
from aifactory.errors import UserError

# Order is the order of `aifactory --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "aifactory.cli.blueprints",
    "aifactory.cli.validate",
    "aifactory.cli.init",
    "aifactory.cli.new",
    "aifactory.cli.catalog",
    "aifactory.cli.plan",
    "aifactory.cli.size",
    "aifactory.cli.policy",
    "aifactory.cli.evidence",
    "aifactory.cli.render",
    "aifactory.cli.manifest",
    "aifactory.cli.bundle",
    "aifactory.cli.stack",
    "aifactory.cli.deploy",
    "aifactory.cli.lab",
    "aifactory.cli.burnin",
)



class _Group(TyperGroup):
    """The one place a UserError is caught: any command's (and any sub-group's) becomes `error: ...` on stderr
    and exit 2, for every caller of the app (`main()`, `python -m`, `typer.testing.CliRunner`). Commands do
    not catch it themselves.
    """

    def invoke(self, ctx: Any) -> Any:  # Any: Typer's Context type differs across Typer versions
        try:
            return super().invoke(ctx)
        except UserError as err:
            typer.echo(f"error: {err.format_message()}", err=True)
            raise typer.Exit(err.exit_code) from None


app = typer.Typer(
    cls=_Group,
    name="aifactory",
    help="Declarative toolkit that turns validated blueprints into running, sovereign GPU AI factories.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aifactory {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for internal errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    if debug:
        os.environ["AIFACTORY_DEBUG"] = "1"


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console-script entry point: user errors exit 2 without a traceback (`_Group.invoke`); bugs exit 3
    (with --debug, the traceback)."""
    try:
        app()
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(130)
    except Exception as err:  # a bug, not a user mistake
        if os.environ.get("AIFACTORY_DEBUG") or "--debug" in sys.argv:
            raise
        typer.echo(
            f"internal error: {type(err).__name__}: {err} (run with --debug for the traceback)", err=True
        )
        sys.exit(3)
