"""The lab's mirrors for real: an apt repository built from real .debs and a PEP 503 index of a real wheel,
served over HTTP on loopback, and accepted by apt and pip with private configurations and no other source."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from aifactory.lab import mirror
from aifactory.render.aptresolve import AptRoot, Archive, resolve

DATE = "Mon, 01 Jun 2026 00:00:00 UTC"
needs_tools = pytest.mark.skipif(
    any(not Path(f"/usr/bin/{t}").exists() for t in ("dpkg-deb", "dpkg-scanpackages", "gpg", "apt-get")),
    reason="needs dpkg-dev, gpg and apt (scripts/debian-packages.txt)",
)


def make_deb(tmp: Path, name: str, version: str, depends: str = "") -> Path:
    """A real binary package built by dpkg-deb: one file under /usr/share/NAME."""
    root = tmp / f"{name}-build"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr/share" / name).mkdir(parents=True)
    (root / "usr/share" / name / "README").write_text(f"{name} {version}\n")
    control = f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: lab <lab@example.invalid>\n"
    control += f"Depends: {depends}\n" if depends else ""
    control += f"Description: aifactory mirror test package {name}\n"
    (root / "DEBIAN/control").write_text(control)
    out = tmp / f"{name}_{version}_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(out)], check=True,
                   capture_output=True)  # fmt: skip
    return out


@pytest.fixture
def served_repo(tmp_path: Path):  # type: ignore[no-untyped-def]
    debs = [make_deb(tmp_path, "aif-alpha", "1.0-1", depends="aif-beta (>= 2.0)"),
            make_deb(tmp_path, "aif-beta", "2.1-1"), make_deb(tmp_path, "aif-gamma", "0.3-2")]  # fmt: skip
    key = mirror.SigningKey(tmp_path / "gnupg")
    root = mirror.build_apt_repo(debs, tmp_path / "site" / "apt", "bookworm", key, DATE)
    server = mirror.serve(tmp_path / "site", "127.0.0.1", 0, pid_file=tmp_path / "http.pid")
    try:
        yield server, root
    finally:
        mirror.stop_recorded(tmp_path / "http.pid")


@needs_tools
def test_apt_accepts_the_signed_repository_and_fetches_through_it(served_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, root = served_repo
    keyring = root / mirror.KEY_NAME
    apt = AptRoot(tmp_path / "client", [Archive(f"{server.url}/apt", ("bookworm",), ("main",), str(keyring))],
                  architecture="amd64")  # fmt: skip
    apt.update()  # fails on a bad or missing signature: apt refuses unsigned repositories
    answer = resolve(apt, [("aif-alpha", ""), ("aif-missing", "")])
    assert ["aif-alpha", "aif-beta"] == [d.name for d in answer.debs]
    assert ({"spec": "aif-missing", "reason": "not in the index"},) == answer.unresolved
    fetched = apt.download(list(answer.debs), tmp_path / "fetched")
    assert ["aif-alpha_1.0-1_all.deb", "aif-beta_2.1-1_all.deb"] == [p.name for p in fetched]
    assert (root / "pool/main/aif-beta_2.1-1_all.deb").read_bytes() == fetched[1].read_bytes()


@needs_tools
def test_apt_rejects_the_repository_under_another_key(served_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, _ = served_repo
    other = mirror.SigningKey(tmp_path / "other-gnupg")
    (tmp_path / "other.asc").write_text(other.public())
    apt = AptRoot(tmp_path / "client", [Archive(f"{server.url}/apt", ("bookworm",), ("main",),
                                                str(tmp_path / "other.asc"))])  # fmt: skip
    with pytest.raises(RuntimeError, match=r"NO_PUBKEY|not signed|signatures couldn.t be verified"):
        apt.update()


@needs_tools
def test_release_lists_the_indexes_it_signs(served_repo) -> None:  # type: ignore[no-untyped-def]
    _, root = served_repo
    dist = root / "dists/bookworm"
    release = (dist / "Release").read_text()
    packages = (dist / "main/binary-amd64/Packages").read_bytes()
    assert f" {hashlib.sha256(packages).hexdigest()} {len(packages)} main/binary-amd64/Packages" in release
    assert "Filename: pool/main/aif-gamma_0.3-2_all.deb" in packages.decode()
    assert (dist / "InRelease").read_text().startswith("-----BEGIN PGP SIGNED MESSAGE-----")


def make_wheel(tmp: Path, name: str, version: str) -> Path:
    """A real, minimal pure-Python wheel (module, METADATA, WHEEL, RECORD)."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": f"VALUE = {version!r}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: aifactory-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{path},sha256={_b64(data)},{len(data.encode())}" for path, data in files.items()]
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,", ""])
    out = tmp / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return out


def _b64(data: str) -> str:
    import base64

    return base64.urlsafe_b64encode(hashlib.sha256(data.encode()).digest()).rstrip(b"=").decode()


def test_pip_installs_from_the_served_simple_index_with_hashes_only(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "aif_probe", "1.2.3")
    mirror.build_pypi_index([wheel], tmp_path / "site" / "pypi")
    page = (tmp_path / "site/pypi/simple/aif-probe/index.html").read_text()
    assert f"#sha256={mirror.sha256_file(wheel)}" in page
    server = mirror.serve(tmp_path / "site", "127.0.0.1", 0)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
        reqs = tmp_path / "req.txt"
        reqs.write_text(f"aif-probe==1.2.3 --hash=sha256:{mirror.sha256_file(wheel)}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        env.update(PIP_CONFIG_FILE="/dev/null", PIP_NO_INDEX="0")
        done = subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(tmp_path / "venv/bin/python"), "install",
             "--no-cache-dir", "--isolated", "--index-url", f"{server.url}/pypi/simple", "--require-hashes",
             "-r", str(reqs)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert 0 == done.returncode, done.stderr
        out = subprocess.run([str(tmp_path / "venv/bin/python"), "-c", "import aif_probe; print(aif_probe.VALUE)"],
                             capture_output=True, text=True, check=True)  # fmt: skip
        assert "1.2.3" == out.stdout.strip()
    finally:
        mirror.stop(server.pid)


def test_pip_refuses_a_wheel_whose_hash_is_not_the_locked_one(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "aif_probe", "1.2.3")
    mirror.build_pypi_index([wheel], tmp_path / "site" / "pypi")
    server = mirror.serve(tmp_path / "site", "127.0.0.1", 0)
    try:
        (tmp_path / "req.txt").write_text(f"aif-probe==1.2.3 --hash=sha256:{'0' * 64}\n")
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("PIP_")}, "PIP_CONFIG_FILE": "/dev/null"}
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-cache-dir", "--isolated", "-d", str(tmp_path / "d"),
             "--index-url", f"{server.url}/pypi/simple", "--require-hashes", "-r", str(tmp_path / "req.txt")],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert 0 != done.returncode
        assert "THESE PACKAGES DO NOT MATCH THE HASHES" in done.stderr
    finally:
        mirror.stop(server.pid)


def test_stop_ends_the_server_by_its_pid(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    server = mirror.serve(tmp_path / "site", "127.0.0.1", 0, pid_file=tmp_path / "pid")
    assert f"{server.pid} 127.0.0.1 {server.port}\n" == (tmp_path / "pid").read_text()
    assert mirror.stop_recorded(tmp_path / "pid")
    assert not Path(f"/proc/{server.pid}").exists()
    assert not mirror.stop_recorded(tmp_path / "pid")


def test_mirror_key_follows_content_only() -> None:
    doc = {"apt": {"suite": "bookworm", "packages": [{"filename": "a_1_all.deb", "sha256": "aa"}]},
           "pypi": {"wheels": [{"name": "x", "version": "1", "sha256": ["bb"]}]}, "blueprint": "one"}  # fmt: skip
    same = {**doc, "blueprint": "two"}
    other = {**doc, "apt": {"suite": "bookworm", "packages": [{"filename": "a_1_all.deb", "sha256": "ab"}]}}
    assert mirror.mirror_key(doc) == mirror.mirror_key(same)
    assert mirror.mirror_key(doc) != mirror.mirror_key(other)


@pytest.mark.slow
@needs_tools
def test_fill_from_a_small_manifest_downloads_real_debian_packages(tmp_path: Path) -> None:
    """The real path with a few small packages: resolve against bookworm, fetch, index, serve, apt-get update."""
    from aifactory.render.manifest import apt_root_for

    apt = apt_root_for("bookworm", tmp_path / "index")
    apt.update()
    answer = resolve(apt, [("netbase", ""), ("debian-faq", "")], recommends=False)
    doc = {"apt": {"suite": "bookworm", "packages": [d.as_dict() for d in answer.debs], "index": apt.index()},
           "pypi": {"wheels": []}}  # fmt: skip
    lock = tmp_path / "empty.txt"
    lock.write_text(textwrap.dedent("# no wheels\n"))
    dest = mirror.fill(doc, lock, cache=tmp_path / "cache")
    assert {"debian-faq", "netbase"} <= {d.name for d in answer.debs}
    server = mirror.serve(dest, "127.0.0.1", 0)
    try:
        client = AptRoot(tmp_path / "client", [Archive(f"{server.url}/apt", ("bookworm",), ("main",),
                                                       str(dest / mirror.KEY_NAME))])  # fmt: skip
        client.update()
        assert {d.name: [d.version] for d in answer.debs} == client.versions(d.name for d in answer.debs)
    finally:
        mirror.stop(server.pid)
    assert dest == mirror.fill(doc, lock, cache=tmp_path / "cache")  # cached: same key, nothing refetched


ROLE = Path(__file__).resolve().parents[2] / "roles" / "base"


def render_role_template(name: str, variables: dict[str, object]) -> str:
    import jinja2
    import yaml

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROLE / "templates"), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True)  # Ansible's template defaults
    defaults = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
    scope = {**defaults, "ansible_facts": {"distribution_release": "bookworm"}, **variables}
    return env.get_template(name).render(scope)


@needs_tools
def test_the_roles_rendered_source_is_one_apt_accepts(served_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """repositories.yml's deb822 source, rendered with the lab's key, makes apt take the served mirror."""
    server, root = served_repo
    key = (root / mirror.KEY_NAME).read_text()
    text = render_role_template("aifactory-mirror.sources.j2", {"base_apt_mirror": f"{server.url}/apt",
                                                                "base_apt_mirror_key": key})  # fmt: skip
    keyring = tmp_path / "aifactory-mirror.asc"
    keyring.write_text(key)
    assert "Signed-By: /etc/apt/keyrings/aifactory-mirror.asc\n" in text
    client = AptRoot(tmp_path / "client", [])
    client.prepare()
    (client.root / "etc/sources.list.d/archive.sources").write_text(text.replace(
        "/etc/apt/keyrings/aifactory-mirror.asc", str(keyring)))  # fmt: skip
    client.update()
    assert {"aif-gamma": ["0.3-2"]} == client.versions(["aif-gamma"])


def test_the_roles_pip_conf_trusts_only_a_plain_http_mirror() -> None:
    http = render_role_template("pip.conf.j2", {"base_pypi_mirror": "http://10.99.1.1:8080/pypi/simple"})
    assert "index-url = http://10.99.1.1:8080/pypi/simple\n" in http
    assert "trusted-host = 10.99.1.1\n" in http
    https = render_role_template("pip.conf.j2", {"base_pypi_mirror": "https://pypi.aifactory.example.de/simple"})
    assert "trusted-host" not in https
    no_mirror = render_role_template("aifactory-mirror.sources.j2", {"base_apt_mirror": "https://apt.example.de"})
    assert "Suites: bookworm\n" in no_mirror
    assert "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" in no_mirror


def test_repositories_tasks_use_only_declared_variables() -> None:
    """Contract with the role's interface: every base_* the new tasks and templates read is in defaults and
    in meta/argument_specs.yml."""
    import re

    import yaml

    specs = yaml.safe_load((ROLE / "meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    defaults = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
    text = (ROLE / "tasks/repositories.yml").read_text()
    text += (ROLE / "templates/aifactory-mirror.sources.j2").read_text() + (ROLE / "templates/pip.conf.j2").read_text()
    used = set(re.findall(r"\bbase_[a-z_]+", text)) - {n for n in re.findall(r"register: (base_[a-z_]+)", text)}
    used -= {n for n in used if n.endswith("_result")}
    assert used <= set(specs) and used <= set(defaults), used - (set(specs) & set(defaults))
    main = yaml.safe_load((ROLE / "tasks/main.yml").read_text())
    assert {"ansible.builtin.include_tasks": "repositories.yml"}.items() <= main[0].items()


def test_group_vars_map_the_blueprints_mirrors() -> None:
    from aifactory.blueprint import load_blueprint
    from aifactory.render.group_vars import mirror_vars

    eu = load_blueprint("dgx-h200-sovereign-eu").model
    assert {"base_apt_mirror": "https://apt.aifactory.example.de",
            "base_pypi_mirror": "https://pypi.aifactory.example.de/simple"} == mirror_vars(eu)  # fmt: skip
    assert {} == mirror_vars(load_blueprint("lab").model)


def test_fetch_debs_finds_a_package_whose_version_has_an_epoch(tmp_path: Path) -> None:
    """`apt-get download` keeps the epoch in the file name (`%3a`), the archive's Filename drops it."""
    import hashlib

    from aifactory.lab.mirror import fetch_debs

    body = b"not really a deb"

    class FakeApt:
        def download(self, debs: list[object], into: Path) -> None:
            into.mkdir(parents=True, exist_ok=True)
            (into / "dmsetup_2%3a1.02.185-2_amd64.deb").write_bytes(body)

    record = {"name": "dmsetup", "version": "2:1.02.185-2", "architecture": "amd64",
              "filename": "dmsetup_1.02.185-2_amd64.deb", "size": len(body),
              "sha256": hashlib.sha256(body).hexdigest(), "uri": ""}  # fmt: skip
    paths = fetch_debs(FakeApt(), [record], tmp_path / "debs")
    assert [tmp_path / "debs" / "dmsetup_1.02.185-2_amd64.deb"] == paths
