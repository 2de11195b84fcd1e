"""Where the product's own files live: the one place that knows.

Everything aifactory brings besides its Python code ships inside the package, under `aifactory/share/`, and is
found through `importlib.resources`, never through a path relative to the source tree:

    share/blueprints/                          the reference blueprints (the catalogue `extends:` names)
    share/ansible_collections/aifactory/factory/
        roles/ playbooks/ meta/ galaxy.yml     the Ansible collection aifactory.factory (site playbook, roles)
    share/ansible.cfg                          roles and collection paths for runs from the installed package
    share/modules/                             the Pulumi layer modules (module.yaml + Python)
    share/stacks/                              the Pulumi program (`__main__.py`, `Pulumi.yaml`) and example stacks
    share/policypack/                          the CrossGuard policy pack `aifactory preview/up` run
    share/schema/blueprint.schema.json         the blueprint JSON Schema
    share/requirements/lab.txt                 the lab hosts' locked Python set
    share/docs/                                the documentation pages

In a source checkout (and an editable install of it) those entries are symlinks to the top-level folders
(`aifactory/share/roles` style links, resolved here), so the checkout's `roles/`, `blueprints/`... are what
runs; setuptools follows the links and copies the files into the wheel and the sdist.

Paths returned are real, resolved file-system paths: an installed wheel and an editable install are plain
directories; a package imported from a zip file is unpacked through `as_file` for the life of the process
(folders need Python 3.12's `as_file`; pip never installs a wheel zipped).
"""

from __future__ import annotations

import atexit
import contextlib
from functools import cache
from importlib.resources import as_file, files
from pathlib import Path

PACKAGE = "aifactory"
COLLECTION = ("ansible_collections", "aifactory", "factory")
_unpacked = contextlib.ExitStack()
atexit.register(_unpacked.close)


def _real(parts: tuple[str, ...]) -> Path:
    node = files(PACKAGE).joinpath(*parts)
    if isinstance(node, Path):
        return node
    return Path(_unpacked.enter_context(as_file(node)))  # a zipped package: unpacked for this process


@cache
def package_dir() -> Path:
    """The installed `aifactory` package folder."""
    return _real(()).resolve()


@cache
def share_dir() -> Path:
    """`aifactory/share`, as installed (links not resolved: paths shown relative to it stay the same)."""
    return _real(("share",)).absolute()


def data(*parts: str) -> Path:
    """A file or folder under `aifactory/share`, resolved (in a checkout: the top-level one it links to)."""
    return share_dir().joinpath(*parts).resolve()


def source_root() -> Path | None:
    """The source checkout this package runs from (its `pyproject.toml` beside `aifactory/`), or None for an
    installed wheel. Only developer tooling that writes beside the sources (molecule scenarios) needs it."""
    root = package_dir().parent
    return root if (root / "pyproject.toml").is_file() and (root / PACKAGE / "share").is_dir() else None


def blueprints_dir() -> Path:
    return data("blueprints")


def collections_path() -> Path:
    """The folder to hand to ANSIBLE_COLLECTIONS_PATH: it holds `ansible_collections/aifactory/factory`."""
    return share_dir()


def collection_dir() -> Path:
    """The collection aifactory.factory: `roles/`, `playbooks/`, `meta/runtime.yml`, `galaxy.yml`."""
    return share_dir().joinpath(*COLLECTION)


def roles_dir() -> Path:
    return data(*COLLECTION, "roles")


def playbooks_dir() -> Path:
    return data(*COLLECTION, "playbooks")


def site_playbook() -> Path:
    return playbooks_dir() / "site.yml"


def ansible_cfg() -> Path:
    """Ansible settings for runs from the package: the collection's roles by plain name and as the collection."""
    return data("ansible.cfg")


def modules_dir() -> Path:
    return data("modules")


def stacks_dir() -> Path:
    """The Pulumi project shipped with the package: the program (`__main__.py`, `Pulumi.yaml`) and the example
    stacks (in a checkout: its `stacks/`)."""
    return data("stacks")


def stack_program() -> Path:
    return stacks_dir() / "__main__.py"


def policy_pack_dir() -> Path:
    """The CrossGuard policy pack (`PulumiPolicy.yaml`, `__main__.py`) that `aifactory preview/up` run."""
    return data("policypack")


def schema_file() -> Path:
    return data("schema", "blueprint.schema.json")


def lab_lock() -> Path:
    return data("requirements", "lab.txt")


def docs_dir() -> Path:
    return data("docs")


def package_file(*parts: str) -> Path:
    """A data file of the package's own modules (e.g. `catalog/data/compat.yaml`)."""
    return _real(parts).resolve()


def display(path: Path) -> str:
    """A shipped file as users see it, the same from a checkout and from a wheel: relative to the checkout,
    else to `aifactory/share`, else the path as given."""
    real = path.resolve()
    bases = [b for b in (source_root(), share_dir().resolve()) if b is not None]
    for base in bases:
        with contextlib.suppress(ValueError):
            return str(real.relative_to(base))
    return str(path)
