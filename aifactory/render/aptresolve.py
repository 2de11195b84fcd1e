"""Resolve the manifest's Debian packages with apt itself, against a private copy of the release's index.

apt runs with its own configuration directory (`APT_CONFIG`, sources, lists, an empty dpkg status), never
this machine's: the answer is what a freshly installed host of the blueprint's release needs, recommends
included because the roles' apt tasks keep apt's default. `apt-get install --print-uris` gives every .deb
of the closure with its size and SHA-256 without downloading it; `apt-get download` into a folder then
fetches exactly those files, checked against the same index.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aifactory.errors import UserError

DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


@dataclass(frozen=True)
class Archive:
    """One apt source: an archive root with suites and components, checked with a keyring."""

    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...] = ("main",)
    keyring: str = DEBIAN_KEYRING

    def deb822(self) -> str:
        return (f"Types: deb\nURIs: {self.uri}\nSuites: {' '.join(self.suites)}\n"
                f"Components: {' '.join(self.components)}\nSigned-By: {self.keyring}\n")  # fmt: skip


# The archives a release's hosts install from: the release with its updates, and its security archive.
RELEASE_ARCHIVES = {
    "bookworm": (
        Archive("http://deb.debian.org/debian", ("bookworm", "bookworm-updates")),
        Archive("http://deb.debian.org/debian-security", ("bookworm-security",)),
    ),
}


@dataclass(frozen=True)
class Deb:
    """One .deb of a resolved closure."""

    name: str
    version: str
    architecture: str
    filename: str
    size: int
    sha256: str
    uri: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "architecture": self.architecture,
                "filename": self.filename, "size": self.size, "sha256": self.sha256, "uri": self.uri}  # fmt: skip


@dataclass
class AptRoot:
    """A private apt configuration directory: sources, index, cache and an empty dpkg status."""

    root: Path
    archives: Sequence[Archive]
    architecture: str = "amd64"
    _ready: bool = field(default=False, repr=False)

    def prepare(self) -> None:
        for sub in ("etc/apt.conf.d", "etc/preferences.d", "etc/trusted.gpg.d", "etc/sources.list.d",
                    "state/lists/partial", "cache/archives/partial"):  # fmt: skip
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "etc/sources.list").write_text("")
        (self.root / "state/status").touch()
        sources = "\n".join(a.deb822() for a in self.archives)
        (self.root / "etc/sources.list.d/archive.sources").write_text(sources)
        (self.root / "apt.conf").write_text(self.config())
        self._ready = True

    def config(self) -> str:
        r = self.root
        settings = {
            "Dir::Etc": f"{r}/etc/", "Dir::Etc::sourcelist": "sources.list", "Dir::Etc::sourceparts": "sources.list.d",
            "Dir::Etc::parts": "apt.conf.d", "Dir::Etc::main": "none", "Dir::Etc::preferences": "preferences",
            "Dir::Etc::preferencesparts": "preferences.d", "Dir::Etc::trusted": "trusted.gpg",
            "Dir::Etc::trustedparts": "trusted.gpg.d", "Dir::State": f"{r}/state/",
            "Dir::State::status": f"{r}/state/status", "Dir::Cache": f"{r}/cache/", "Dir::Log": f"{r}/log/",
            "APT::Architecture": self.architecture, "Acquire::Languages": "none", "Debug::NoLocking": "true",
            "APT::Install-Recommends": "true", "APT::Sandbox::User": "root", "Acquire::Retries": "2",
        }  # fmt: skip
        lines = [f'{k} "{v}";' for k, v in settings.items()]
        return "\n".join([*lines, f'APT::Architectures {{ "{self.architecture}"; }};', ""])

    def run(self, args: Sequence[str], timeout: int = 900, cwd: Path | None = None) -> str:
        if not self._ready:
            self.prepare()
        env = {**os.environ, "APT_CONFIG": str(self.root / "apt.conf"), "DEBIAN_FRONTEND": "noninteractive",
               "LC_ALL": "C"}  # fmt: skip
        done = subprocess.run(list(args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              check=False)  # fmt: skip
        if done.returncode != 0:
            raise AptError(args, done.returncode, done.stderr.strip() or done.stdout.strip())
        return done.stdout

    def update(self) -> None:
        self.run(["apt-get", "update", "-q"])

    def index(self) -> list[dict[str, str]]:
        """Which index the answer came from: each suite's InRelease `Date`, from the lists apt fetched."""
        out = []
        for release in sorted((self.root / "state/lists").glob("*_InRelease")):
            text = release.read_text(encoding="utf-8", errors="replace")
            # A clearsigned file: the fields follow the armour header's blank line.
            fields = _fields(text.split("\n\n", 1)[1] if text.startswith("-----BEGIN PGP") else text)
            out.append({"origin": fields.get("Origin", ""), "suite": fields.get("Suite", ""),
                        "codename": fields.get("Codename", ""), "date": fields.get("Date", "")})  # fmt: skip
        return sorted(out, key=lambda d: (d["origin"], d["suite"]))

    def versions(self, names: Iterable[str]) -> dict[str, list[str]]:
        """Every version the index holds of each name (apt-cache madison order: newest first)."""
        wanted = sorted(set(names))
        if not wanted:
            return {}
        text = self.run(["apt-cache", "madison", *wanted])
        out: dict[str, list[str]] = {}
        for line in text.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) >= 3 and parts[2].endswith("Packages") and parts[1] not in out.get(parts[0], []):
                out.setdefault(parts[0], []).append(parts[1])
        return out

    def closure(self, specs: Sequence[str], recommends: bool = True) -> list[Deb]:
        """The .debs `apt-get install SPECS` would fetch onto an empty system, with the index's SHA-256."""
        if not specs:
            return []
        args = ["apt-get", "install", "--print-uris", "-y", "-qq",
                "--install-recommends" if recommends else "--no-install-recommends", *specs]  # fmt: skip
        lines = [line for line in self.run(args).splitlines() if line.startswith("'")]
        return self.records([parse_uri_line(line) for line in lines])

    def records(self, picks: Sequence[tuple[str, str, str, str]]) -> list[Deb]:
        """(name, version, architecture, uri) to index records: apt prints whichever hash it likes with the
        URIs, so the SHA-256, size and file name come from `apt-cache show` of that exact version."""
        uris = {(n, v, a): u for n, v, a, u in picks}
        text = self.run(["apt-cache", "show", "--no-all-versions", *(f"{n}:{a}={v}" for n, v, a, _ in picks)])
        debs = []
        for stanza in text.split("\n\n"):
            fields = _fields(stanza)
            if "Package" not in fields:
                continue
            key = (fields["Package"], fields["Version"], fields["Architecture"])
            debs.append(Deb(key[0], key[1], key[2], fields["Filename"].rsplit("/", 1)[-1], int(fields["Size"]),
                            fields["SHA256"], uris.get(key, "")))  # fmt: skip
        return sorted(debs, key=lambda d: d.filename)

    def download(self, debs: Sequence[Deb], into: Path) -> list[Path]:
        """Fetch exactly these versions with `apt-get download` (apt checks each hash against the index)."""
        into.mkdir(parents=True, exist_ok=True)
        if debs:
            self.run(["apt-get", "download", "-q", *(f"{d.name}:{d.architecture}={d.version}" for d in debs)],
                     timeout=3600, cwd=into)  # fmt: skip
        return sorted(into.glob("*.deb"))


class AptError(RuntimeError):
    def __init__(self, args: Sequence[str], code: int, output: str) -> None:
        super().__init__(f"{' '.join(args[:3])} failed (exit {code}): {output[-2000:]}")
        self.output = output


def _fields(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        if ":" in line and not line.startswith((" ", "-")):
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def parse_uri_line(line: str) -> tuple[str, str, str, str]:
    """`'URI' FILE SIZE HASH` as apt-get --print-uris writes it, to (name, version, architecture, uri); the
    file name holds all three (the epoch's colon as %3a)."""
    uri, filename = line.split()[:2]
    name, version, arch = urllib.parse.unquote(filename)[: -len(".deb")].split("_")
    return name, version, arch, uri.strip("'")


@dataclass(frozen=True)
class Resolution:
    """A host class's packages as apt resolves them: the closure, and the specs the index cannot satisfy."""

    debs: tuple[Deb, ...]
    unresolved: tuple[dict[str, str], ...]


def resolve(apt: AptRoot, specs: Sequence[tuple[str, str]], recommends: bool = True) -> Resolution:
    """(name, version pattern) pairs to their closure; a pattern picks the newest version it matches."""
    known = apt.versions(name for name, _ in specs)
    chosen: list[str] = []
    unresolved: list[dict[str, str]] = []
    for name, pattern in specs:
        spec = f"{name}={pattern}" if pattern else name
        versions = known.get(name, [])
        matching = [v for v in versions if not pattern or fnmatch.fnmatchcase(v, pattern)]
        if not versions:
            unresolved.append({"spec": spec, "reason": "not in the index"})
        elif not matching:
            unresolved.append({"spec": spec, "reason": f"no version matches (index has {', '.join(versions)})"})
        else:
            chosen.append(f"{name}={matching[0]}" if pattern else name)
    try:
        debs = apt.closure(sorted(set(chosen)), recommends)
    except AptError as err:
        raise UserError.at(None, f"apt cannot install {' '.join(chosen)} together: {err.output[-600:]}",
                           "check the roles' package lists for the blueprint's release") from None  # fmt: skip
    return Resolution(tuple(debs), tuple(sorted(unresolved, key=lambda u: u["spec"])))
