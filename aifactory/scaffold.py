"""`aifactory new`: a platform team's own infrastructure repository, not a fork of this one.

The scaffold holds a site blueprint that `extends:` a catalogue blueprint with the site's and region's values,
the Pulumi project (`stacks/`) whose program is the one shipped in the installed package, an `ansible.cfg`
pointing at the installed Ansible collection, a pre-commit config and a GitHub workflow using this project's
hook and action, and a README. Everything is rendered in memory, checked (the stack loads and validates), then
written into a sibling temporary folder that is renamed into place: a refused or failed run leaves nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aifactory import __version__
from aifactory.errors import Location, UserError

PROJECT_URL = "https://github.com/aifactory/aifactory"
# What the scaffold's workflow triggers on and what its policy step then checks; the action's `files` and
# `also-on` inputs are these same globs, so every path that triggers the workflow is looked at.
CHECK_GLOBS = ("blueprints/**/*.yaml", "stacks/Pulumi.*.yaml")
SETTINGS_GLOBS = (".aifactory-policy.yaml", ".aifactory-baseline.json")


def ansible_collections_path() -> Path:
    """The folder holding `ansible_collections/aifactory/factory` of the installed package: what the
    scaffold's ansible.cfg names as `collections_path` (aifactory.resources knows where the package keeps it)."""
    from aifactory import resources

    return resources.collections_path()


@dataclass(frozen=True)
class Scaffold:
    blueprint: str
    region: str
    site: str
    files: dict[str, str]  # repository-relative POSIX path -> text


def build(blueprint: str, region: str, site: str | None = None) -> Scaffold:
    """The scaffold's files, in memory; unknown blueprints or regions are UserErrors with suggestions."""
    from aifactory.blueprint import load_blueprint
    from aifactory.blueprint.sources import catalogue_names
    from aifactory.catalog import suggest
    from aifactory.cli.init import known_region, region_overrides, stack_document

    if blueprint not in catalogue_names():
        raise UserError.at(Location(f"--blueprint {blueprint}"), f"no catalogue blueprint named {blueprint!r}",
                           suggest(blueprint, catalogue_names()).replace("valid ids", "catalogue") +
                           " (`aifactory blueprints` lists them)")
    where = known_region(region)
    site = site or region
    _check_site(site)
    base = load_blueprint(blueprint).model
    overrides = region_overrides(base, region)
    overrides["site"]["name"] = site
    site_file = f"blueprints/{site}.yaml"
    stack_text, _ = stack_document(site_file, region, reference=site_file, overrides={})
    files = {
        site_file: _site_blueprint(blueprint, site, region, where, overrides),
        "stacks/Pulumi.yaml": _pulumi_project(site),
        f"stacks/Pulumi.{region}.yaml": stack_text,
        "stacks/__main__.py": PROGRAM,
        "ansible.cfg": _ansible_cfg(),
        ".pre-commit-config.yaml": _pre_commit(),
        ".github/workflows/aifactory.yml": workflow(),
        ".gitignore": GITIGNORE,
        "README.md": _readme(blueprint, site, region, where.jurisdiction),
        SCHEMA: _schema(),
    }
    return Scaffold(blueprint, region, site, files)


SCHEMA = "schema/blueprint.schema.json"  # the installed version's schema; `aifactory schema --out` refreshes it


def _schema() -> str:
    from aifactory.blueprint.jsonschema import blueprint_schema
    from aifactory.io import dumps_json

    return dumps_json(blueprint_schema())


def _check_site(site: str) -> None:
    import re

    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", site):
        raise UserError.at(Location(f"--site {site}"), "the site name must be a DNS label",
                           "lowercase letters, digits and '-', at most 63, e.g. --site ai-factory-de-1")


def _site_blueprint(blueprint: str, site: str, region: str, where: Any, overrides: dict[str, Any]) -> str:
    head = (
        f"# Site blueprint {site}: catalogue blueprint {blueprint} (from the installed sovereign-aifactory\n"
        f"# {__version__}) re-homed to region {region} ({where.city}, jurisdiction {where.jurisdiction}).\n"
        "# Values here are deep-merged onto the catalogue blueprint (a null removes a key); `aifactory validate`\n"
        f"# and `aifactory policy check` this file. Written by `aifactory new`.\n"
        f"# yaml-language-server: $schema=../{SCHEMA}\n"
    )
    doc: dict[str, Any] = {
        "extends": blueprint,
        "name": site,
        **overrides,
    }
    return head + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=110)


def _pulumi_project(site: str) -> str:
    doc = {
        "name": site,
        "description": f"AI factory {site}: one stack per region (Pulumi.<region>.yaml).",
        "runtime": {"name": "python", "options": {"toolchain": "pip"}},
        "main": ".",
    }
    return (
        "# The Pulumi project of this repository. Its program (__main__.py) is the one in the installed\n"
        "# sovereign-aifactory package: run `pulumi preview -s REGION` here with that package's Python active.\n"
        + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    )


PROGRAM = '''\
"""This repository's Pulumi program: the one the installed sovereign-aifactory package ships.

Pulumi starts it in this folder (stacks/, the project). The packaged program reads the stack files here and
runs at the repository root, the folder above, where `aifactory policy check stacks/Pulumi.<stack>.yaml`
runs, so the policy gate sees the same policy config, waivers and baseline.
"""

import runpy

from aifactory import resources

runpy.run_path(str(resources.stack_program()), run_name="__main__")
'''

GITIGNORE = """\
# Local Pulumi state (`aifactory up` keeps it here) and Python caches.
.pulumi-state/
__pycache__/
"""


def _ansible_cfg() -> str:
    return (
        "# Ansible settings for this repository: the roles and playbooks are the Ansible collection\n"
        "# aifactory.factory that the installed sovereign-aifactory package ships. The path below is where that\n"
        "# package was installed when `aifactory new` ran; after reinstalling it elsewhere, update it (print it\n"
        "# with `python -c 'from aifactory.scaffold import ansible_collections_path as p; print(p())'`).\n"
        "[defaults]\n"
        f"collections_path = {ansible_collections_path()}\n"
    )


def _pre_commit() -> str:
    doc = {"repos": [{"repo": PROJECT_URL, "rev": f"v{__version__}", "hooks": [{"id": "aifactory-policy"}]}]}
    return (
        "# pre-commit: `aifactory policy check` on staged blueprints and stack files (`pre-commit install`).\n"
        + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    )


def workflow() -> str:
    """The scaffold's GitHub workflow: this project's action on every pull request that changes a blueprint,
    a stack file or the policy settings (the `paths:` triggers are the action's `files` and `also-on`)."""

    def items(globs: tuple[str, ...], indent: str) -> str:
        return "".join(f"{indent}{g}\n" for g in globs)

    def listed(globs: tuple[str, ...]) -> str:
        return "".join(f'      - "{g}"\n' for g in globs)

    return f"""\
# Policy checks on pull requests with the aifactory action: annotations on the changed lines, the full table
# in the job summary, SARIF for code scanning; the job fails on findings at the fail level. The `paths:`
# below are exactly the action's `files` and `also-on`: a change to the policy settings re-checks every file.
name: aifactory
on:
  pull_request:
    paths:
{listed(CHECK_GLOBS)}{listed(SETTINGS_GLOBS)}permissions:
  contents: read
  security-events: write  # upload SARIF to code scanning
jobs:
  policy:
    runs-on: ubuntu-latest
    timeout-minutes: 15
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # the action compares against the pull request's base commit
      - name: aifactory policy check
        uses: aifactory/aifactory@v{__version__}
        with:
          files: |
{items(CHECK_GLOBS, "            ")}          also-on: |
{items(SETTINGS_GLOBS, "            ")}"""


def _readme(blueprint: str, site: str, region: str, jurisdiction: str) -> str:
    return f"""\
# AI factory {site}

Infrastructure repository for the AI factory `{site}` in region `{region}` (jurisdiction {jurisdiction}),
scaffolded by `aifactory new` from catalogue blueprint `{blueprint}` of sovereign-aifactory {__version__}.
The toolkit itself is not part of this repository: install it (pin the version in CI) with

    pip install sovereign-aifactory=={__version__}

## Layout

- `blueprints/{site}.yaml`: the site blueprint. It `extends: {blueprint}` and sets what is this site's own
  (site, sovereignty, backups); add any other value to override the catalogue's.
- `stacks/`: the Pulumi project. `Pulumi.{region}.yaml` is the stack of region `{region}`; add a region with
  `aifactory init --blueprint blueprints/{site}.yaml --region REGION --stacks-dir stacks`. `__main__.py` runs
  the Pulumi program shipped in the installed package.
- `ansible.cfg`: points Ansible at the installed collection `aifactory.factory` (roles and playbooks).
- `.pre-commit-config.yaml`: the `aifactory-policy` hook on staged blueprints and stack files.
- `.github/workflows/aifactory.yml`: the aifactory action on pull requests.
- `schema/blueprint.schema.json`: the blueprint JSON Schema of the installed version, for editors (the site
  blueprint's `yaml-language-server` comment names it); after upgrading the package, refresh it with
  `aifactory schema --out schema/blueprint.schema.json`.

## Everyday commands (from this folder)

    aifactory validate blueprints/{site}.yaml stacks/Pulumi.{region}.yaml
    aifactory policy check blueprints/{site}.yaml stacks/Pulumi.{region}.yaml
    aifactory plan stacks/Pulumi.{region}.yaml
    aifactory render stacks/Pulumi.{region}.yaml --kubernetes --out build/{region}
    cd stacks && pulumi preview -s {region}

Credentials are named in the blueprint (`{{secret: NAME}}`, e.g. `minio_root_password`), never written there: set
each once per stack with `cd stacks && pulumi config set --secret NAME -s {region}` (the program stops naming
any that is missing), and keep node-layer ones (the munge key) in an ansible-vault encrypted vars file.

Policy settings go in `.aifactory-policy.yaml`, accepted findings in `.aifactory-baseline.json` (both at the
repository root; the workflow re-checks every file when either changes).
"""


def check(scaffold: Scaffold, root: Path) -> None:
    """Load and validate the scaffold's stack from `root` (where it has been written) as every command would."""
    from aifactory.blueprint.stackfile import load_stack, read_stack_file

    load_stack(read_stack_file(root / "stacks" / f"Pulumi.{scaffold.region}.yaml"))


def _refuse(target: Path, message: str, hint: str) -> UserError:
    return UserError.at(Location(str(target)), message, hint)


def check_target(target: Path) -> None:
    """DIR must be new or an empty folder, in a writable folder that exists."""
    for up in (target, *target.parents):
        if up.is_file() or (up.exists() and not up.is_dir()):
            where = "is a file" if up == target else f"is under a file ({up})"
            raise _refuse(target, f"the target {where}", "choose a new folder for the repository")
        if up.exists():
            break
    if target.is_dir():
        try:
            empty = not any(target.iterdir())
        except OSError as err:
            raise _refuse(target, f"the target folder cannot be read: {err.strerror}",
                          "choose another folder") from None
        if not empty:
            raise _refuse(target, "the target folder exists and is not empty",
                          "choose a new folder (aifactory new never writes into an existing repository)")
    parent = target.absolute().parent
    if not parent.is_dir():
        raise _refuse(target, f"the folder it goes in does not exist ({parent})", f"create it: mkdir -p {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _refuse(target, f"the folder it goes in is not writable ({parent})", "choose a folder you can write to")


def write(scaffold: Scaffold, target: Path) -> list[str]:
    """Write the scaffold at `target` in one step: into a sibling temporary folder, checked there, then renamed
    into place (over an empty folder). Returns the files written, sorted."""
    check_target(target)
    parent = target.absolute().parent
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".new", dir=parent))
    except OSError as err:
        raise _refuse(target, f"cannot write in {parent}: {err.strerror}", "choose a folder you can write to") from None
    umask = os.umask(0)
    os.umask(umask)
    try:
        for name in sorted(scaffold.files):
            dest = tmp / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            with dest.open("w", encoding="utf-8", newline="\n") as fh:
                fh.write(scaffold.files[name])
        for folder in (tmp, *sorted({p for p in tmp.rglob("*") if p.is_dir()})):
            folder.chmod(0o777 & ~umask)
        check(scaffold, tmp)
        os.replace(tmp, target)  # rename(2) also replaces an empty folder
    except OSError as err:
        raise _refuse(target, f"cannot write the repository: {err.strerror}",
                      "check the folder's permissions") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return sorted(scaffold.files)
