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

SITE_HEADER = """\
# Pulumi stack for region {region}, written by `aifactory new`.
# `pulumi up -s {region}` (in this folder) builds the site blueprint {blueprint}, which holds the
# site's values (region, jurisdiction {jurisdiction}, sovereignty). `aifactory policy check` this file in pull
# requests.
"""


def stack_document(
    blueprint: str,
    region: str,
    stacks_dir: Path = Path("stacks"),
    *,
    reference: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The stack file's text and its data, for a blueprint re-homed to `region`. A blueprint path is written
    relative to the repository that holds `stacks_dir`, the way every command reads it back. `aifactory new`
    passes the `reference` it writes and the `overrides` it keeps (none: its site blueprint holds them)."""
    where = known_region(region)
    if overrides is None:
        from aifactory.blueprint import load_blueprint

        overrides = region_overrides(load_blueprint(blueprint).model, region)
    ref = reference if reference is not None else stack_reference(blueprint, stacks_dir)
    settings: dict[str, Any] = {"aifactory:blueprint": ref, "aifactory:region": region}
    if overrides:
        settings["aifactory:overrides"] = overrides
    config = {"config": settings}
    body = yaml.safe_dump(config, sort_keys=True, default_flow_style=False, width=110)
    header = HEADER if overrides else SITE_HEADER
    return header.format(region=region, blueprint=ref, jurisdiction=where.jurisdiction) + body, config


def known_region(region: str) -> Any:
    """The catalogue's region entry; an unknown id is a UserError naming the nearest known ones."""
    from aifactory.catalog import get_catalog, suggest

    regions = get_catalog().regions
    if region not in regions:
        raise UserError.at(Location(f"--region {region}"), f"unknown region {region!r}",
                           suggest(region, list(regions)).replace("valid ids", "known regions"))
    return regions[region]


def region_overrides(bp: Any, region: str) -> dict[str, Any]:
    """What re-homes blueprint `bp` (a validated model) to `region`: the site, its residency, key custody and
    operator location in the region's jurisdiction, and the backups' location where it has backups."""
    where = known_region(region)
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
    return overrides


def stack_reference(blueprint: str, stacks_dir: Path) -> str:
    """`--blueprint` as a stack file names it: a catalogue name stays a name; a file becomes its path relative
    to the root of the repository holding `stacks_dir` (it must lie inside it)."""
    import os

    from aifactory.blueprint.sources import catalogue_names
    from aifactory.blueprint.stackfile import stack_repository

    path = Path(blueprint)
    path_like = path.suffix in (".yaml", ".yml") or os.sep in blueprint or path.exists()
    if not path_like and blueprint in catalogue_names():
        return blueprint
    root = stack_repository(stacks_dir)
    target = path.resolve()
    if not target.is_relative_to(root):
        raise UserError.at(
            Location(f"--blueprint {blueprint}"),
            f"the blueprint is outside the repository that holds {stacks_dir} ({root})",
            "move the blueprint into the repository, or use a catalogue name",
        )
    ref = target.relative_to(root).as_posix()
    return f"./{ref}" if ref in catalogue_names() else ref  # a bare catalogue name would be read as the entry


def check_stack_text(text: str, path: Path) -> None:
    """Load the stack's blueprint from the text about to be written at `path`, with the one stack reader every
    command uses; raises UserError as they would."""
    from aifactory.blueprint.stackfile import load_stack, stack_from_text

    stack = stack_from_text(text, path)
    assert stack is not None  # stack_document always writes the blueprint key
    load_stack(stack)


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
        text, _ = stack_document(blueprint, region, stacks_dir)
        check_stack_text(text, target)  # validate before writing: a failed check loses no old file
        atomic_write(target, text)
        typer.echo(f"wrote {target} (blueprint {blueprint}, region {region})")
