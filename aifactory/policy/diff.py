"""`--diff-base REF`: load the base versions of the checked files from git (the whole tree at REF goes into a
temporary folder so `extends:` resolves there too), and keep only findings that are new against them."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from aifactory.blueprint.sources import display_path
from aifactory.errors import Location, UserError
from aifactory.policy.model import Finding

GIT_TIMEOUT_S = 60


def _git(args: list[str], cwd: Path) -> bytes:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise UserError.at(
            Location(str(cwd)), f"cannot run git: {err}", "install git; run inside a checkout"
        ) from None
    if done.returncode != 0:
        msg = done.stderr.decode(errors="replace").strip().splitlines()
        raise UserError.at(
            Location(str(cwd)),
            f"git {' '.join(args)} failed: {msg[-1] if msg else done.returncode}",
            "check that --diff-base names a commit, branch or tag of this repository",
        )
    return done.stdout


def repo_root(start: Path) -> Path:
    return Path(_git(["rev-parse", "--show-toplevel"], start).decode().strip())


@contextmanager
def base_tree(ref: str, root: Path) -> Iterator[Path]:
    """The repository at `ref`, extracted into a temporary folder that is removed afterwards."""
    _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    data = _git(["archive", "--format=tar", ref], root)
    with tempfile.TemporaryDirectory(prefix="aifactory-base-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp)


@contextmanager
def _catalogue(tmp: Path, root: Path) -> Iterator[None]:
    """Where the catalogue lives inside the repository under check (this project's own blueprints/), catalogue
    names in `extends:` resolve to its base version too; a user's repository keeps the installed catalogue."""
    from aifactory.blueprint.sources import blueprints_dir

    old = os.environ.get("AIFACTORY_BLUEPRINTS")
    current = blueprints_dir().resolve()
    folder = tmp / current.relative_to(root.resolve()) if current.is_relative_to(root.resolve()) else None
    if folder is None or not folder.is_dir():
        yield
        return
    os.environ["AIFACTORY_BLUEPRINTS"] = str(folder)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("AIFACTORY_BLUEPRINTS", None)
        else:
            os.environ["AIFACTORY_BLUEPRINTS"] = old


def base_identities(
    ref: str, files: list[str], check: Callable[[str], list[Finding]]
) -> set[tuple[str, ...]]:
    """Identities of the findings `check` reports on the base versions of `files` (files new since the base
    contribute none). Paths are mapped back to how they read in the working tree."""
    root = repo_root(Path.cwd())
    out: set[tuple[str, ...]] = set()
    with base_tree(ref, root) as tmp, _catalogue(tmp, root):
        (tmp / ".git").mkdir(exist_ok=True)  # `extends:` may not leave the (base) repository
        for file in files:
            rel = Path(file).resolve().relative_to(root) if Path(file).exists() else Path(file)
            if not (tmp / rel).is_file():
                continue
            for f in check(str(tmp / rel)):
                out.add(_rebase(f, tmp, root))
    return out


def _rebase(f: Finding, tmp: Path, root: Path) -> tuple[str, ...]:
    rule, file, pointer, value = f.identity
    path = Path(file)
    if not path.is_absolute():
        path = Path.cwd() / path
    # a value from outside the base tree (e.g. --set) keeps its label
    with contextlib.suppress(ValueError):
        file = display_path(root / path.resolve().relative_to(tmp.resolve()))
    return (rule, file, pointer, value)


def only_new(findings: list[Finding], base: set[tuple[str, ...]]) -> list[Finding]:
    return [f for f in findings if f.identity not in base]
