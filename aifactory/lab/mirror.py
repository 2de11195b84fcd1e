"""Fill a site's mirrors from a manifest, on this machine, and serve them over HTTP.

- apt: the manifest's .debs fetched with `apt-get download` through the manifest's own private apt
  directory, indexed by `dpkg-scanpackages` into `dists/SUITE/main/binary-ARCH/Packages`, with a `Release`
  signed by a local key (`InRelease`, `Release.gpg`). Hosts trust that key through `Signed-By`, never
  `[trusted=yes]`: a host on the lab network must not take packages from whoever answers on its address.
- pypi: the locked wheels fetched with `pip download --require-hashes`, laid out as a PEP 503 simple index
  (`simple/NAME/index.html`, links with `#sha256=`).

The result is cached under `cache_dir()` keyed by the manifest's content (every .deb's and wheel's hash), like
the lab image: a second fill of the same manifest does nothing. `serve` starts `python -m http.server` as a child
bound to one address, records its PID, and `stop` ends that PID only.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aifactory.io import dumps_json
from aifactory.lab.paths import cache_dir

KEY_NAME = "aifactory-mirror.asc"
KEY_UID = "aifactory lab mirror <mirror@aifactory.invalid>"
COMPLETE = ".complete"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _run(cmd: Sequence[str], **kwargs: Any) -> str:
    done = subprocess.run(list(cmd), capture_output=True, text=True, check=False, timeout=3600, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed (exit {done.returncode}): {(done.stderr or done.stdout)[-2000:]}")
    return str(done.stdout)


@dataclass(frozen=True)
class SigningKey:
    """A GnuPG home holding the mirror's signing key; made once and kept, so hosts keep trusting it."""

    home: Path

    def _gpg(self, *args: str, stdin: str | None = None) -> str:
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            return _run(["gpg", "--homedir", str(self.home), "--batch", "--pinentry-mode", "loopback",
                         "--passphrase", "", *args], input=stdin)  # fmt: skip
        finally:
            # gpg starts an agent for this home; end it rather than leave a daemon behind.
            subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "gpg-agent"], check=False,
                           capture_output=True)  # fmt: skip

    def ensure(self) -> None:
        if not self._gpg("--list-secret-keys", "--with-colons").strip():
            self._gpg("--quick-generate-key", KEY_UID, "ed25519", "sign", "never")

    def public(self) -> str:
        self.ensure()
        return self._gpg("--armor", "--export", KEY_UID)

    def sign(self, release: Path) -> None:
        self.ensure()
        self._gpg("--yes", "--local-user", KEY_UID, "--clearsign", "-o", str(release.parent / "InRelease"),
                  str(release))  # fmt: skip
        self._gpg("--yes", "--local-user", KEY_UID, "--armor", "--detach-sign", "-o",
                  str(release.parent / "Release.gpg"), str(release))  # fmt: skip


def release_text(suite: str, arch: str, date: str, files: Mapping[str, bytes], component: str = "main") -> str:
    """A Release file for one suite: its identity and the size and hashes of every index under it."""
    head = ["Origin: aifactory", "Label: aifactory mirror", f"Suite: {suite}", f"Codename: {suite}",
            f"Date: {date}", f"Architectures: {arch}", f"Components: {component}",
            "Description: packages of an aifactory manifest"]  # fmt: skip
    md5 = [f" {hashlib.md5(data).hexdigest()} {len(data)} {name}" for name, data in sorted(files.items())]
    sha = [f" {hashlib.sha256(data).hexdigest()} {len(data)} {name}" for name, data in sorted(files.items())]
    return "\n".join([*head, "MD5Sum:", *md5, "SHA256:", *sha, ""])


def build_apt_repo(debs: Sequence[Path], root: Path, suite: str, key: SigningKey, date: str,
                   arch: str = "amd64") -> Path:  # fmt: skip
    """`root/pool/main/*.deb` and `root/dists/SUITE/` (Packages, Packages.gz, signed Release) from .debs."""
    pool = root / "pool" / "main"
    pool.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        shutil.copy2(deb, pool / deb.name)
    # Paths in Packages are relative to the repository root, where apt joins them to the source's URI.
    packages = _run(["dpkg-scanpackages", "--multiversion", "--arch", arch, "pool", "/dev/null"], cwd=root)
    data = packages.encode()
    packed = gzip.compress(data, mtime=0)
    rel = f"main/binary-{arch}"
    dist = root / "dists" / suite
    (dist / rel).mkdir(parents=True, exist_ok=True)
    (dist / rel / "Packages").write_bytes(data)
    (dist / rel / "Packages.gz").write_bytes(packed)
    release = dist / "Release"
    release.write_text(release_text(suite, arch, date, {f"{rel}/Packages": data, f"{rel}/Packages.gz": packed}))
    key.sign(release)
    (root / KEY_NAME).write_text(key.public())
    return root


def normalize(name: str) -> str:
    """PEP 503 project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_project(filename: str) -> str:
    return normalize(filename.split("-", 1)[0])


def build_pypi_index(wheels: Sequence[Path], root: Path) -> Path:
    """`root/files/*.whl` and `root/simple/` (PEP 503): one page per project, each link with its SHA-256."""
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[tuple[str, str]]] = {}
    for wheel in sorted(wheels, key=lambda p: p.name):
        shutil.copy2(wheel, files / wheel.name)
        projects.setdefault(wheel_project(wheel.name), []).append((wheel.name, sha256_file(wheel)))
    simple = root / "simple"
    simple.mkdir(parents=True, exist_ok=True)
    links = [f'<a href="{name}/">{name}</a><br>' for name in sorted(projects)]
    (simple / "index.html").write_text(_page("Simple index", links))
    for name, entries in projects.items():
        (simple / name).mkdir(exist_ok=True)
        body = [f'<a href="../../files/{html.escape(f)}#sha256={h}">{html.escape(f)}</a><br>' for f, h in entries]
        (simple / name / "index.html").write_text(_page(f"Links for {name}", body))
    return root


def _page(title: str, body: Sequence[str]) -> str:
    return "\n".join(["<!DOCTYPE html>", f"<html><head><title>{title}</title></head><body>", *body,
                      "</body></html>", ""])  # fmt: skip


def download_wheels(lock: Path, into: Path) -> list[Path]:
    """The lock's wheels for this machine's Python and platform, each checked against the lock's hashes."""
    into.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "pip", "download", "--require-hashes", "--no-deps", "--only-binary", ":all:",
          "-q", "-d", str(into), "-r", str(lock)])  # fmt: skip
    return sorted(into.glob("*.whl"))


def mirror_key(doc: Mapping[str, Any]) -> str:
    """Content key of a manifest's mirrors: every .deb's and wheel's hash, nothing else."""
    content = {"apt": [(p["filename"], p["sha256"]) for p in doc["apt"].get("packages", [])],
               "suite": doc["apt"]["suite"], "pypi": [(w["name"], w["version"], w["sha256"])
                                                      for w in doc["pypi"]["wheels"]]}  # fmt: skip
    return hashlib.sha256(dumps_json(content).encode()).hexdigest()[:16]


def newest_index_date(doc: Mapping[str, Any]) -> str:
    """The Release date of the mirror: the newest suite date apt resolved against (so refills agree)."""
    from email.utils import parsedate_to_datetime

    dates = [d["date"] for d in doc["apt"].get("index", []) if d.get("date")]
    return max(dates, key=parsedate_to_datetime) if dates else "Thu, 01 Jan 1970 00:00:00 UTC"


def fill(doc: Mapping[str, Any], lock: Path, cache: Path | None = None) -> Path:
    """Build (or find) the mirrors of a resolved manifest: `DIR/apt`, `DIR/pypi`, `DIR/aifactory-mirror.asc`."""
    from aifactory.render.manifest import apt_root_for

    if "packages" not in doc["apt"]:
        raise ValueError("the manifest is not resolved (made with --no-resolve): nothing to fetch")
    base = cache or cache_dir()
    dest = base / f"mirror-{mirror_key(doc)}"
    if (dest / COMPLETE).exists():
        return dest
    base.mkdir(parents=True, exist_ok=True)
    key = SigningKey(base / "mirror-gnupg")
    with tempfile.TemporaryDirectory(prefix="mirror-", dir=base) as tmp:
        work = Path(tmp)
        apt = apt_root_for(doc["apt"]["suite"], base / "apt-index")
        apt.update()
        debs = fetch_debs(apt, doc["apt"]["packages"], work / "debs")
        build_apt_repo(debs, work / "out" / "apt", doc["apt"]["suite"], key, newest_index_date(doc))
        build_pypi_index(download_wheels(lock, work / "wheels"), work / "out" / "pypi")
        shutil.copy2(work / "out" / "apt" / KEY_NAME, work / "out" / KEY_NAME)
        (work / "out" / COMPLETE).write_text(mirror_key(doc) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        (work / "out").rename(dest)
    return dest


def fetch_debs(apt: Any, packages: Sequence[Mapping[str, Any]], into: Path) -> list[Path]:
    """Download the manifest's .debs and check each one's SHA-256 against the manifest."""
    from aifactory.render.aptresolve import Deb

    debs = [Deb(p["name"], p["version"], p["architecture"], p["filename"], p["size"], p["sha256"], p["uri"])
            for p in packages]  # fmt: skip
    apt.download(debs, into)
    out = []
    for deb in debs:
        path = into / deb.filename
        # apt-get download names a file after the version with its epoch (`dmsetup_2%3a1.02.185-2_amd64.deb`),
        # the archive's Filename drops it (`dmsetup_1.02.185-2_amd64.deb`): keep the archive's name.
        fetched = into / downloaded_name(deb.name, deb.version, deb.architecture)
        if not path.exists() and fetched.exists():
            fetched.rename(path)
        if not path.exists() or sha256_file(path) != deb.sha256:
            raise RuntimeError(f"{deb.filename}: missing or not the manifest's SHA-256 after download")
        out.append(path)
    return out


def downloaded_name(name: str, version: str, arch: str) -> str:
    """The file name `apt-get download` gives a package: the version's `:` quoted as `%3a`."""
    return f"{name}_{version.replace(':', '%3a')}_{arch}.deb"


@dataclass(frozen=True)
class Server:
    """A running `http.server` child: its PID and the address it answers on."""

    pid: int
    address: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}"


_SERVING = re.compile(r"Serving HTTP on \S+ port (\d+)")


def serve(root: Path, address: str, port: int = 0, pid_file: Path | None = None, timeout: float = 15) -> Server:
    """Serve `root` over HTTP on `address:port` (0: a free port) in a child process; returns once it listens."""
    log = Path(tempfile.mkstemp(prefix="mirror-http-", suffix=".log")[1])
    cmd = [sys.executable, "-u", "-m", "http.server", "--bind", address, "--directory", str(root), str(port)]
    pid, bound = spawn(cmd, log, _SERVING, timeout)
    server = Server(pid, address, bound)
    if pid_file is not None:
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(f"{server.pid} {server.address} {server.port}\n")
    return server


def spawn(cmd: Sequence[str], log: Path, listening: re.Pattern[str], timeout: float = 15) -> tuple[int, int]:
    """Start a server as a child in its own session, its output in `log`; returns its PID and the port it
    reports (`listening`'s first group) once it does. A child that exits or stays silent is stopped and the
    end of its log raised."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        child = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = listening.search(log.read_text(errors="replace"))
        if match:
            return child.pid, int(match.group(1))
        if child.poll() is not None:
            break
        time.sleep(0.05)
    stop(child.pid)
    raise RuntimeError(f"{' '.join(cmd)} did not start: {log.read_text(errors='replace')[-500:]}")


def stop(pid: int, timeout: float = 10) -> None:
    """End the server with this PID (SIGTERM, then SIGKILL), and reap it when it is our child."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child: poll for it to go
            done = 0 if _alive(pid) else pid
        if done:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_recorded(pid_file: Path) -> bool:
    """Stop the server a `serve(..., pid_file=...)` recorded; False when none was recorded."""
    if not pid_file.exists():
        return False
    stop(int(pid_file.read_text().split()[0]))
    pid_file.unlink()
    return True
