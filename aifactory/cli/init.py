"""`aifactory init --blueprint NAME --region REGION`: write a region's Pulumi stack file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from aifactory.errors import Location, UserError

HEADER = """\
# Pulumi stack for region {region}, written by `aifactory init`.
# `pulumi up -s {region}` (or `aifactory up --stack {region}`) builds blueprint {blueprint} with the overrides
# below deep-merged onto it (a null removes a key). Check the registry mirrors under site.sovereignty before a
# sovereign deployment: they must be inside {jurisdiction}. `aifactory policy check` this file in pull requests.
"""


def stack_document(blueprint: str, region: str) -> tuple[str, dict[str, Any]]:
    """The stack file's text and its data, for a catalogue blueprint re-homed to `region`."""
    from aifactory.blueprint import load_blueprint
    from aifactory.catalog import get_catalog, suggest

    regions = get_catalog().regions
    if region not in regions:
        raise UserError.at(Location(f"--region {region}"), f"unknown region {region!r}",
                           suggest(region, list(regions)).replace("valid ids", "known regions"))
    bp = load_blueprint(blueprint).model
    where = regions[region]
    j = where.jurisdiction
    site: dict[str, Any] = {"name": f"{bp.name}-{region}"[:63].rstrip("-"), "region": region, "jurisdiction": j,
                            "city": where.city}
    site["sovereignty"] = {
        "residency": {k: j for k in ("data", "replicas", "backups", "logs", "telemetry")},
        "key_custody": {"location": j},
        "operator_location": j,
    }
    overrides: dict[str, Any] = {"site": site}
    if bp.storage.backups is not None:
        overrides["storage"] = {"backups": {"location": j}}
    config = {"config": {"aifactory:blueprint": blueprint, "aifactory:region": region,
                         "aifactory:overrides": overrides}}
    body = yaml.safe_dump(config, sort_keys=True, default_flow_style=False, width=110)
    return HEADER.format(region=region, blueprint=blueprint, jurisdiction=j) + body, config


def check_stack_text(text: str, file: str) -> None:
    """Load the stack's blueprint from the text about to be written; raises UserError as `validate` would."""
    from aifactory.blueprint.loader import load_tree, validate_tree
    from aifactory.blueprint.stackfile import read_stack, stack_blueprint_ref
    from aifactory.blueprint.yamlsrc import parse_text

    stack = read_stack(parse_text(text, file), file)
    assert stack is not None  # stack_document always writes the blueprint key
    overrides = [stack.overrides] if stack.overrides else []
    validate_tree(load_tree(stack_blueprint_ref(stack), overrides), file)


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(
        blueprint: Annotated[str, typer.Option("--blueprint", "-b", help="Catalogue name or blueprint path.")],
        region: Annotated[str, typer.Option("--region", "-r", help="Region id, e.g. de-stuttgart.")],
        stacks_dir: Annotated[Path, typer.Option("--stacks-dir", help="Pulumi project folder.")] = Path("stacks"),
        force: Annotated[bool, typer.Option("--force", help="Overwrite an existing stack file.")] = False,
    ) -> None:
        """Write stacks/Pulumi.REGION.yaml naming the blueprint and the region's overrides."""
        from aifactory.io import atomic_write

        target = stacks_dir / f"Pulumi.{region}.yaml"
        if target.exists() and not force:
            raise UserError.at(Location(str(target)), "the stack file already exists",
                               "pass --force to overwrite it, or edit it by hand")
        text, _ = stack_document(blueprint, region)
        check_stack_text(text, str(target))  # validate before writing: a failed check loses no old file
        atomic_write(target, text)
        typer.echo(f"wrote {target} (blueprint {blueprint}, region {region})")
