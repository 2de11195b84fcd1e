"""`aifactory bundle`: the signed air-gap bundle of a design (create, key, verify, fill); docs/bundle.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from aifactory.cli.common import Format, FormatOpt, SetOpt

bundle_app = typer.Typer(help="Signed air-gap bundles: every artifact a factory needs from outside the site.",
                         no_args_is_help=True)  # fmt: skip

# A registry as image references name it: a host name, IPv4 or bracketed IPv6 address, and a port.
_REGISTRY_HOST = re.compile(r"(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}")
KeyOpt = Annotated[Path, typer.Option("--key", help="Site key folder made by `aifactory bundle key`.")]


@bundle_app.command("key")
def key(
    out: Annotated[Path, typer.Option("--out", help="New folder for the key (gnupg/ and site-key.asc).")],
    uid: Annotated[str, typer.Option("--uid", help="The key's user id.")] = "aifactory site <site@aifactory.invalid>",
    fmt: FormatOpt = Format.text,
) -> None:
    """Make an offline site signing key (ed25519) and export its public half to OUT/site-key.asc."""
    from aifactory.bundle.sign import PUBLIC_KEY, SiteKey
    from aifactory.io import check_output, dumps_json

    check_output(out, folder=True)
    fingerprint = SiteKey(out).create(uid)
    if fmt == Format.json:
        typer.echo(dumps_json({"fingerprint": fingerprint, "public_key": str(out / PUBLIC_KEY)}), nl=False)
    else:
        typer.echo(f"site key {fingerprint}\npublic key: {out / PUBLIC_KEY}")


@bundle_app.command("create")
def create(
    blueprint: Annotated[str | None, typer.Argument(help="Catalogue name, blueprint file or stack file.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder to write manifest.json and its signature to.")
    ] = None,
    key_dir: KeyOpt = Path("site-key"),
    stack: Annotated[
        str | None, typer.Option("--stack", help="The region's stack (STACKS_DIR/Pulumi.STACK.yaml).")
    ] = None,
    stacks_dir: Annotated[Path | None, typer.Option("--stacks-dir", help="Stack files folder.")] = None,
    resolve: Annotated[
        bool,
        typer.Option(
            "--resolve/--no-resolve",
            help="Resolve .debs with apt (needs the Debian index), or list what the roles ask for.",
        ),
    ] = False,
    pin: Annotated[
        Path | None,
        typer.Option(
            "--pin-from",
            help="A filled mirror folder: pin the image digests and chart hashes not resolvable here to what it holds.",
        ),
    ] = None,
    sets: SetOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Write the bundle manifest (Debian packages, wheels, images, charts, models, each with its source, its
    in-jurisdiction mirror and its hash) and sign it with the site key."""
    from aifactory.bundle.manifest import MANIFEST, SIGNATURE, bundle_manifest, design_packages, pin_from
    from aifactory.bundle.sign import SiteKey
    from aifactory.errors import UserError
    from aifactory.io import dumps_json, replace_tree

    if out is None:
        raise UserError.at(None, "no output folder", "add --out DIR")
    loaded, region, stack_name = _load(blueprint, stack, stacks_dir, sets or [])
    doc = bundle_manifest(loaded, region, design_packages(loaded, resolve), stack_name)
    if pin is not None:
        if not pin.is_dir():
            raise UserError.at(None, f"--pin-from {pin}: no such mirror folder", "fill one with `bundle fill`")
        doc = pin_from(doc, pin)
    data = dumps_json(doc).encode()
    signature = SiteKey(key_dir).sign(data)
    replace_tree(out, {MANIFEST: data, SIGNATURE: signature})
    if fmt == Format.json:
        typer.echo(dumps_json({"manifest": str(out / MANIFEST), "signature": str(out / SIGNATURE),
                               "counts": doc["counts"], "unresolved": doc["unresolved"]}), nl=False)  # fmt: skip
    else:
        typer.echo(_create_text(doc, out))


def _load(blueprint: str | None, stack: str | None, stacks_dir: Path | None, sets: list[str]) -> Any:
    from aifactory.blueprint.stackfile import load_source, load_stack, read_stack
    from aifactory.errors import UserError

    if stack is not None:
        stack_file = read_stack(stack, stacks_dir)
        if blueprint is not None and blueprint != stack_file.blueprint:
            raise UserError.at(None, f"stack {stack!r} builds blueprint {stack_file.blueprint!r}, not {blueprint!r}",
                               f"drop the blueprint argument, or name {stack_file.blueprint}")  # fmt: skip
        loaded = load_stack(stack_file, sets)
        return loaded, stack_file.region_of(loaded), stack_file.name
    if blueprint is None:
        raise UserError.at(None, "name a blueprint or a stack", "e.g. `aifactory bundle create lab --out DIR`")
    loaded, source_stack = load_source(blueprint, sets)
    if source_stack is None:
        return loaded, loaded.model.site.region, ""
    return loaded, source_stack.region_of(loaded), source_stack.name


def _create_text(doc: dict[str, Any], out: Path) -> str:
    from aifactory.bundle.manifest import summary

    where = f"{doc['blueprint']}" + (f" (stack {doc['stack']})" if doc["stack"] else f" (region {doc['region']})")
    lines = [f"bundle of {where}: {', '.join(summary(doc))}",
             f"  without a hash or digest here: {len(doc['unresolved'])} (images and charts need registry "
             "access, .debs --resolve)"]  # fmt: skip
    kinds: dict[str, int] = {}
    for item in doc["unresolved"]:
        kinds[item.split(" ", 1)[0]] = kinds.get(item.split(" ", 1)[0], 0) + 1
    lines += [f"    {kind}: {n}" for kind, n in sorted(kinds.items())]
    lines += [f"  note: {note}" for note in doc["notes"]]
    lines.append(f"wrote {out / 'manifest.json'} and its signature manifest.json.asc")
    return "\n".join(lines)


@bundle_app.command("verify")
def verify(
    bundle: Annotated[Path, typer.Argument(help="The bundle folder (or its manifest.json).")],
    mirror: Annotated[Path, typer.Option("--mirror", help="The mirror folder to check.")],
    public_key: Annotated[Path, typer.Option("--key", help="The site's public key (site-key.asc).")],
    fmt: FormatOpt = Format.text,
) -> None:
    """Check the signature and that the mirror holds every artifact with its hash or digest; exit 1 if not."""
    from aifactory.bundle.verify import text_report, verify_bundle
    from aifactory.io import dumps_json

    report = verify_bundle(bundle, mirror, public_key)
    typer.echo(dumps_json(report) if fmt == Format.json else text_report(report), nl=fmt != Format.json)
    if not report["passed"]:
        raise typer.Exit(1)


@bundle_app.command("fill")
def fill(
    bundle: Annotated[Path, typer.Argument(help="The bundle folder (or its manifest.json).")],
    mirror: Annotated[Path, typer.Option("--mirror", help="The mirror folder to write (replaced whole).")],
    source: Annotated[
        Path | None,
        typer.Option(
            "--from", help="Local folder holding debs/, wheels/, oci/ or dir/ image layouts, and charts/ to copy from."
        ),
    ] = None,
    push_to: Annotated[
        str | None,
        typer.Option("--push-to", help="Also push the filled images to this registry (HOST:PORT, e.g. the lab's)."),
    ] = None,
    plain_http: Annotated[
        bool, typer.Option("--plain-http", help="The --push-to registry speaks plain HTTP (the lab's registry).")
    ] = False,
    fmt: FormatOpt = Format.text,
) -> None:
    """Fill a mirror folder from the manifest (apt repository, PyPI index, OCI layouts by skopeo, a chart
    repository); what the source folder does not hold is listed as not fetchable here. With --push-to, the
    filled images are pushed to a running registry too (exit 1 when one cannot be)."""
    from aifactory.bundle.fill import fill as fill_mirror
    from aifactory.bundle.fill import push_images
    from aifactory.bundle.manifest import load_manifest
    from aifactory.errors import UserError
    from aifactory.io import check_output, dumps_json
    from aifactory.lab.paths import cache_dir

    if push_to is not None and not _REGISTRY_HOST.fullmatch(push_to):
        raise UserError.at(None, f"--push-to {push_to!r} is not a registry HOST:PORT",
                           "give its address and port, e.g. 10.99.1.1:5000 (no scheme, no path)")  # fmt: skip
    doc = load_manifest(bundle)
    check_output(mirror, folder=True)
    report = fill_mirror(doc, source, mirror, cache_dir() / "mirror-gnupg")
    if push_to is not None:
        report["push"] = push_images(doc, mirror, push_to, tls_verify=not plain_http)
    failed = bool(push_to) and bool(report["push"]["not_pushed"])
    if fmt == Format.json:
        typer.echo(dumps_json(report), nl=False)
        if failed:
            raise typer.Exit(1)
        return
    typer.echo(f"filled {mirror}: {len(report['filled'])} artifacts")
    missing = report["not_fetchable"]
    typer.echo(f"  not fetchable on this machine: {len(missing)}")
    for item in missing[:10]:
        typer.echo(f"    {item['artifact']}: {item['reason']}")
    if len(missing) > 10:
        typer.echo(f"    ... and {len(missing) - 10} more (--format json lists all)")
    if push_to is not None:
        typer.echo(f"pushed to {push_to}: {len(report['push']['pushed'])} images")
        for item in report["push"]["not_pushed"]:
            typer.echo(f"    NOT PUSHED {item['artifact']}: {item['reason']}")
        if failed:
            raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(bundle_app, name="bundle")
