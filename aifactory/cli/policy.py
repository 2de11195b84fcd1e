"""`aifactory policy ...`: check blueprints and stack files against the rule set, list and explain rules.

Imports stay inside the commands: `policy check` must start fast (no pulumi, no jsonschema on this path).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from aifactory.errors import Location, UserError

if TYPE_CHECKING:
    from aifactory.policy.model import Severity

_FORMATS = ("text", "json", "sarif", "junit", "github")
_SEVERITIES = ("critical", "high", "medium", "low", "info")


def _choice(value: str | None, valid: tuple[str, ...], flag: str) -> None:
    if value is not None and value not in valid:
        raise UserError.at(Location(flag), f"{value!r} is not valid for {flag}", f"one of {', '.join(valid)}")


def register(app: typer.Typer) -> None:
    sub = typer.Typer(
        help="Policy checks: sovereignty, security, power, cooling, fabric, storage, operations.",
        no_args_is_help=True,
    )
    app.add_typer(sub, name="policy")

    @sub.command("check")
    def check(
        files: Annotated[
            list[str],
            typer.Argument(
                help="Blueprints, stack files (stacks/Pulumi.<stack>.yaml), folders to search for them, or quoted "
                "globs ('blueprints/**/*.yaml')."
            ),
        ],
        fmt: Annotated[
            str, typer.Option("--format", "-f", help="text, json, sarif, junit or github.")
        ] = "text",
        sets: Annotated[list[str], typer.Option("--set", help="Override a value: PATH=VALUE.")] = [],  # noqa: B006
        fail_on: Annotated[
            str | None,
            typer.Option("--fail-on", help="Also fail on advisory findings of this severity or worse."),
        ] = None,
        config: Annotated[
            Path | None, typer.Option("--config", help="Policy config (default ./.aifactory-policy.yaml).")
        ] = None,
        diff_base: Annotated[
            str | None, typer.Option("--diff-base", help="Report only findings new against this git ref.")
        ] = None,
        baseline: Annotated[
            Path | None, typer.Option("--baseline", help="Baseline file of accepted findings.")
        ] = None,
        update_baseline: Annotated[
            bool, typer.Option("--update-baseline", help="Merge current findings into --baseline.")
        ] = False,
        owner: Annotated[str, typer.Option("--owner", help="Owner for new baseline entries.")] = "unassigned",
        reason: Annotated[str, typer.Option("--reason", help="Reason for new baseline entries.")] = (
            "accepted when the baseline was created"
        ),
        no_waivers: Annotated[
            bool, typer.Option("--no-waivers", help="Ignore all waivers (audits).")
        ] = False,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here.")] = None,
    ) -> None:
        """Check FILEs; exit 0 clean, 1 findings at or above the fail level, 2 unusable input."""
        code = _check(
            files, fmt, sets, fail_on, config, diff_base, baseline, update_baseline, owner, reason, no_waivers, output
        )
        raise typer.Exit(code)

    @sub.command("list")
    def list_(fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text") -> None:
        """List every rule: id, title, severity, default level and tags."""
        from aifactory.io import dumps_json
        from aifactory.policy.registry import all_rules

        _choice(fmt, ("text", "json"), "--format")
        rules = all_rules()
        if fmt == "json":
            typer.echo(dumps_json({"version": 1, "rules": [r.as_dict() for r in rules]}), nl=False)
            return
        for r in rules:
            level = f"{r.level}*" if r.sovereign else r.level
            typer.echo(f"{r.id:8} {r.severity:8} {level:10} {','.join(r.tags):20} {r.title}")
        typer.echo("* mandatory where site.sovereignty.enforced is true, advisory elsewhere")

    @sub.command("explain")
    def explain(
        rule_id: Annotated[str, typer.Argument(metavar="RULE", help="A rule id, e.g. SOV-001.")],
        fmt: Annotated[str, typer.Option("--format", "-f", help="text (markdown) or json.")] = "text",
    ) -> None:
        """Show a rule's rationale, remediation and documentation page."""
        from aifactory.io import dumps_json
        from aifactory.policy.docs import rule_page
        from aifactory.policy.registry import get_rule

        _choice(fmt, ("text", "json"), "--format")
        rule = get_rule(rule_id)
        typer.echo(dumps_json(rule.as_dict()) if fmt == "json" else rule_page(rule), nl=False)


def _check(
    files: list[str],
    fmt: str,
    sets: list[str],
    fail_on: str | None,
    config: Path | None,
    diff_base: str | None,
    baseline: Path | None,
    update_baseline: bool,
    owner: str,
    reason: str,
    no_waivers: bool,
    output: Path | None,
) -> int:
    from aifactory.policy.check import CheckOptions, run_check, without_baseline
    from aifactory.policy.config import load_config
    from aifactory.policy.inputs import expand

    _choice(fmt, _FORMATS, "--format")
    _choice(fail_on, _SEVERITIES, "--fail-on")
    if update_baseline and baseline is None:
        raise UserError.at(
            Location("--update-baseline"),
            "--update-baseline needs --baseline FILE",
            "add --baseline .aifactory-baseline.json",
        )
    files = expand(files)
    options = CheckOptions(
        tuple(sets), load_config(config), cast("Severity | None", fail_on), diff_base, baseline, no_waivers
    )
    report = run_check(files, without_baseline(options) if update_baseline else options)
    if update_baseline and baseline is not None:
        from aifactory.policy.baseline import update

        added = update(baseline, report.findings, owner, reason)
        typer.echo(f"baseline {baseline}: {added} entr{'y' if added == 1 else 'ies'} added", err=True)
        report = run_check(files, dataclasses.replace(options, baseline=baseline))
    _emit(report, fmt, output)
    return report.exit_code


def _emit(report: object, fmt: str, output: Path | None) -> None:
    from aifactory.policy.output import renderer
    from aifactory.policy.report import Report

    assert isinstance(report, Report)
    text = renderer(fmt)(report)
    if fmt == "github":
        from aifactory.policy.output.github_out import write_summary

        write_summary(report)
    if output is not None:
        from aifactory.io import atomic_write

        atomic_write(output, text)
    else:
        typer.echo(text, nl=False)
