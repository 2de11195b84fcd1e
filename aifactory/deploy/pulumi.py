"""The Pulumi program (`run_program`, called by stacks/__main__.py) and the Automation API wrapper behind
`aifactory up` / `aifactory preview`.

The program loads the stack's blueprint, validates and plans it, and stops before creating anything when a
mandatory policy finding exists; then it instantiates every registered layer module in order. Pulumi itself is
imported only inside the functions that need it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aifactory import resources
from aifactory.blueprint import LoadedBlueprint
from aifactory.blueprint.stackfile import (
    BLUEPRINT_KEY,
    OVERRIDES_KEY,
    REGION_KEY,
    load_stack,
    project_stacks,
    read_stack,
    stack_from_config,
)
from aifactory.errors import Location, Problem, UserError
from aifactory.modules import Registry, StackContext, discover
from aifactory.render.kubernetes import build

# The checkout the program runs from (put on the program's PYTHONPATH), None for an installed package; the
# local state backend lives at its root, else in the folder the command runs in.
REPO = resources.source_root()
STATE_DIR = (REPO or Path.cwd()) / ".pulumi-state"


@dataclass(frozen=True)
class GateFinding:
    """A mandatory finding that stops a stack before any resource is created."""

    rule: str
    message: str
    location: Location | None
    hint: str = ""


Gate = Callable[[LoadedBlueprint, Any], list[GateFinding]]


class PolicyGateError(UserError):
    """The stack violates mandatory policy; nothing was created."""


def make_plan(loaded: LoadedBlueprint) -> Any:
    """The design engine's plan of the stack's blueprint."""
    from aifactory.design import plan

    return plan(loaded.model)


def default_gate(loaded: LoadedBlueprint, plan: Any) -> list[GateFinding]:
    """What fails `aifactory policy check` on the stack file (the policy gate: the config's levels and
    `fail_on`, waivers, baseline), run from where this process runs (the program runs at the repository root)."""
    from aifactory.policy.check import Target, default_options, gate

    report = gate([Target(loaded.source, loaded, True)], default_options())
    return [GateFinding(f.rule, f.message, f.location, f.remediation) for f in report.failing]


def check_gate(loaded: LoadedBlueprint, plan: Any, gate: Gate | None = None) -> None:
    findings = (gate or default_gate)(loaded, plan)
    if findings:
        problems = [Problem(f.location, f"[{f.rule}] {f.message}", f.hint) for f in findings]
        problems.append(
            Problem(
                None,
                f"stack stopped before creating any resource: {len(findings)} mandatory policy finding(s)",
                "fix the findings above, or run `aifactory policy check`",
            )
        )
        raise PolicyGateError(problems)


def prepare(
    stack: str,
    stacks: Path | None = None,
    gate: Gate | None = None,
    sets: Iterable[str] = (),
    config: Mapping[str, Any] | None = None,
) -> StackContext:
    """Load, validate, plan, gate and render one stack; raises before anything is created. The stack's
    settings come from `config` (the program's Pulumi configuration, `program_config`) where given, else
    from its stack file (as every command reads it)."""
    folder = stacks or project_stacks()
    stack_file = read_stack(stack, folder) if config is None else stack_from_config(stack, folder, config)
    loaded = load_stack(stack_file, sets)
    region = stack_file.region_of(loaded)
    plan = make_plan(loaded)
    check_gate(loaded, plan, gate)
    hosts = tuple(getattr(plan, "hosts", ()) or ())
    return StackContext(
        loaded=loaded,
        region=region,
        stack=stack,
        rendered=build(loaded, region),
        plan=plan,
        hosts=hosts,
    )


def program_config() -> dict[str, Any]:
    """The stack settings as the engine hands them to the program (stack file, ESC environment,
    `--config-file`, `pulumi config set`): `aifactory:blueprint`, `aifactory:region`, `aifactory:overrides`."""
    import pulumi

    cfg = pulumi.Config("aifactory")
    out: dict[str, Any] = {BLUEPRINT_KEY: cfg.get("blueprint"), REGION_KEY: cfg.get("region")}
    try:
        out[OVERRIDES_KEY] = cfg.get_object("overrides")
    except pulumi.ConfigTypeError:
        raise UserError.at(
            None,
            f"Pulumi config '{OVERRIDES_KEY}' is not a mapping",
            "write the keys to override under it, e.g. `site: {region: eu-central}`",
        ) from None
    return out


def instantiate(ctx: StackContext, registry: Registry | None = None) -> dict[str, Any]:
    """Create every registered module's component, in order; each depends on the ones before it, except that
    Kubernetes layer components (`GRAPH_ORDERED`) do not wait for each other as a whole: their children wait
    for exactly what the stack's dependency graph names (one failing chart blocks only what needs it). A
    module that is not graph-ordered (the compute layer, a user's module) waits for every earlier one."""
    import pulumi

    components: dict[str, Any] = {}
    chained: list[Any] = []  # the components that are not graph-ordered: Kubernetes layers wait for these
    for spec in (registry or discover()).ordered():
        cls = spec.component_class()
        graph_ordered = bool(getattr(cls, "GRAPH_ORDERED", False))
        args = spec.args_class().from_stack(ctx)
        after = chained if graph_ordered else list(components.values())
        opts = pulumi.ResourceOptions(depends_on=list(after))
        components[spec.name] = cls(f"{ctx.region}-{spec.name}", args, opts=opts)
        if not graph_ordered:
            chained.append(components[spec.name])
    return components


def missing_secrets(ctx: StackContext) -> list[Problem]:
    """A problem for each config secret the stack's Secrets need and its config lacks, naming the key and the
    command that sets it, before anything is created (the blueprint names the keys, never the values)."""
    import pulumi

    cfg = pulumi.Config()
    out = []
    for spec in ctx.rendered.secrets:
        for key in spec.keys:
            if cfg.get_secret(key.secret) is None:
                out.append(
                    Problem(
                        ctx.loaded.locate(*key.path),
                        f"Pulumi config secret '{cfg.full_key(key.secret)}' is not set (Secret "
                        f"{spec.namespace}/{spec.name}, key {key.key})",
                        f"run `pulumi config set --secret {key.secret} --stack {ctx.stack}` in the Pulumi project "
                        "folder (the value is prompted for and stored encrypted, never in the blueprint)",
                        ".".join(map(str, key.path)),
                    )
                )
    return out


def run_program(
    stack: str | None = None,
    stacks: Path | None = None,
    gate: Gate | None = None,
    registry: Registry | None = None,
) -> dict[str, Any]:
    """The whole program: what `stacks/__main__.py` runs for the current Pulumi stack."""
    import pulumi

    from aifactory.render.k8s.pulumi_resources import KubeStack, missing_cluster_config

    name = stack or pulumi.get_stack()
    ctx = prepare(name, stacks, gate, config=program_config())
    kubernetes = bool(ctx.rendered.objects or ctx.rendered.releases or ctx.rendered.secrets)
    missing = missing_secrets(ctx) + (missing_cluster_config(name) if kubernetes else [])
    if missing:
        raise UserError(missing)
    if kubernetes:
        ctx = replace(ctx, kubernetes=KubeStack.create(ctx.region, ctx.rendered))
    components = instantiate(ctx, registry)
    pulumi.export("region", ctx.region)
    pulumi.export("blueprint", ctx.loaded.model.name)
    pulumi.export("modules", sorted(components))
    pulumi.export("evidence", evidence_output(ctx))
    return components


def evidence_output(ctx: StackContext) -> dict[str, Any]:
    """The stack's `evidence` output: the SEAL level per objective and the digest of the evidence report that
    `aifactory evidence stacks/Pulumi.<stack>.yaml --format json` writes for the same design (docs/evidence.md)."""
    from aifactory.evidence import evidence_for
    from aifactory.evidence.report import summary
    from aifactory.policy.check import Target

    target = Target(ctx.loaded.source, ctx.loaded, True)
    return summary(evidence_for(target, planned=ctx.plan))


# --- Automation API ---


def pulumi_binary() -> str:
    """The `pulumi` CLI the Automation API drives; exit 2 with a clear message where there is none."""
    found = shutil.which("pulumi")
    if found is None:
        raise UserError.at(
            None,
            "the `pulumi` command is not installed (the Automation API drives it)",
            "install the Pulumi CLI (https://www.pulumi.com/docs/install/) and put it on PATH; "
            "`aifactory render --kubernetes` writes the same objects without it",
        )
    return found


def _workspace_env() -> dict[str, str]:
    passphrase = os.environ.get("PULUMI_CONFIG_PASSPHRASE")
    if passphrase is None and "PULUMI_CONFIG_PASSPHRASE_FILE" not in os.environ:
        raise UserError.at(
            None,
            "PULUMI_CONFIG_PASSPHRASE is not set (it encrypts the stack's secrets)",
            "export PULUMI_CONFIG_PASSPHRASE=... (or PULUMI_CONFIG_PASSPHRASE_FILE)",
        )
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join(p for p in (str(REPO or ""), os.environ.get("PYTHONPATH", "")) if p)
    return {
        "PULUMI_BACKEND_URL": f"file://{STATE_DIR}",
        "PYTHONPATH": path,
        **({"PULUMI_CONFIG_PASSPHRASE": passphrase} if passphrase is not None else {}),
    }


def select_stack(stack: str, stacks: Path | None = None) -> Any:
    """The local program in `stacks/` as an Automation API stack, with a file backend under .pulumi-state/."""
    pulumi_binary()
    stacks = stacks or project_stacks()
    read_stack(stack, stacks)  # a clear error for an unknown stack before Pulumi starts
    from pulumi import automation as auto

    opts = auto.LocalWorkspaceOptions(work_dir=str(stacks), env_vars=_workspace_env())
    return auto.create_or_select_stack(stack_name=stack, work_dir=str(stacks), opts=opts)


def policy_packs() -> list[str]:
    """The CrossGuard pack every preview and up runs (`policypack/`, shipped with the package): the same rules
    as `aifactory policy check`, over the resources the program registers."""
    pack = resources.policy_pack_dir()
    if not (pack / "PulumiPolicy.yaml").is_file():
        raise UserError.at(
            None,
            f"the CrossGuard policy pack is missing ({pack / 'PulumiPolicy.yaml'} not found)",
            "reinstall sovereign-aifactory (the pack ships in the package)",
        )
    return [str(pack)]


def preview(stack: str, on_output: Callable[[str], None] | None = None) -> dict[str, int]:
    """Run `pulumi preview` for a stack with the policy pack; returns the planned change counts by operation."""
    result = select_stack(stack).preview(on_output=on_output, policy_packs=policy_packs())
    return {str(k): int(v) for k, v in (result.change_summary or {}).items()}


def up(stack: str, on_output: Callable[[str], None] | None = None) -> dict[str, int]:
    """Run `pulumi up` for a stack with the policy pack; returns the change counts by operation."""
    result = select_stack(stack).up(on_output=on_output, policy_packs=policy_packs())
    return {str(k): int(v) for k, v in (result.summary.resource_changes or {}).items()}
