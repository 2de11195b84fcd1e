"""`aifactory manifest BLUEPRINT_OR_STACK`: every package and version the design needs from outside the site."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from aifactory.cli.common import Format, FormatOpt, SetOpt


def manifest(
    source: Annotated[str, typer.Argument(help="Catalogue name, blueprint file or stack file.")],
    fmt: FormatOpt = Format.text,
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON manifest to this file.")] = None,
    no_resolve: Annotated[
        bool, typer.Option("--no-resolve", help="List what the roles ask for without asking apt (offline).")
    ] = False,
    sets: SetOpt = None,
) -> None:
    """List the Debian packages each host class installs (resolved by apt with their dependencies against the
    blueprint's release) and the locked Python wheels; the input of `aifactory lab mirror` and of a
    sovereign site's own mirrors (docs/mirrors.md)."""
    from aifactory.blueprint.stackfile import load_source
    from aifactory.deploy.ansible import ROLES_DIR, SITE_PLAYBOOK
    from aifactory.design import plan
    from aifactory.io import atomic_write, dumps_json
    from aifactory.lab.paths import cache_dir
    from aifactory.render.manifest import apt_root_for, debian_suite, host_classes, require_ansible, resolve_apt
    from aifactory.render.manifest import manifest as design_manifest

    require_ansible("aifactory manifest")
    loaded, _ = load_source(source, sets or [])
    bp = loaded.model
    hosts = plan(bp).hosts
    doc = design_manifest(bp, hosts, ROLES_DIR, SITE_PLAYBOOK)
    if not no_resolve:
        suite = debian_suite(bp, loaded.locate("software", "os"))
        classes = host_classes(bp, hosts, ROLES_DIR, SITE_PLAYBOOK)
        doc = resolve_apt(doc, classes, apt_root_for(suite, cache_dir() / "apt-index"))
    if out is not None:
        atomic_write(out, dumps_json(doc))
    if fmt == Format.json:
        typer.echo(dumps_json(doc), nl=False)
    else:
        typer.echo(text_report(doc))


def text_report(doc: dict[str, Any]) -> str:
    apt = doc["apt"]
    lines = [f"manifest of {doc['blueprint']} (site {doc['site']}, {apt['os']})"]
    for cls in apt["host_classes"]:
        lines.append(f"  {cls['name']}: {cls['hosts']} ({cls['host_count']} hosts)")
        for role, specs in cls["requested"].items():
            lines.append(f"    {role}: {' '.join(specs)}")
        if "resolved" in cls:
            lines.append(f"    resolved: {len(cls['resolved'])} packages with dependencies")
    if "packages" in apt:
        size = sum(p["size"] for p in apt["packages"]) / 1e6
        lines.append(f"  apt: {len(apt['packages'])} .debs, {size:.1f} MB")
        lines += [f"  not in the index: {u['spec']} (role {', '.join(u['roles'])})" for u in apt["unresolved"]]
    else:
        lines.append(f"  apt: {len(apt['requested'])} packages requested (not resolved)")
    lines.append(f"  pypi: {len(doc['pypi']['wheels'])} locked wheels from {doc['pypi']['lock']}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    app.command("manifest")(manifest)
