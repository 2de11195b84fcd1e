"""`aifactory bundle key/create/verify` as a user runs them: deterministic bytes from any folder, a signature
gpgv accepts against the exported key, exit 2 on unusable input with nothing written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from aifactory.bundle.manifest import MANIFEST, SIGNATURE, load_manifest
from aifactory.bundle.sign import PUBLIC_KEY
from tests.conftest import REPO, run_cli


def _create(out: Path, key: Path, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("bundle", "create", *extra, "--key", str(key), "--out", str(out), cwd=cwd, timeout=120)


def test_same_bytes_from_any_folder(site_key: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    first = _create(tmp_path / "a", site_key, REPO, "--stack", "de-stuttgart")
    stacks = str(REPO / "stacks")
    second = _create(
        tmp_path / "b", site_key, tmp_path / "elsewhere", "--stack", "de-stuttgart", "--stacks-dir", stacks
    )
    assert (0, 0) == (first.returncode, second.returncode), first.stderr + second.stderr
    for name in (MANIFEST, SIGNATURE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert "bundle of dgx-h200-sovereign-eu (stack de-stuttgart)" in first.stdout


def test_signature_verifies_with_gpgv_alone(site_key: Path, tmp_path: Path) -> None:
    assert 0 == _create(tmp_path / "b", site_key, REPO, "lab").returncode
    keyring = tmp_path / "site.gpg"
    subprocess.run(["gpg", "--homedir", str(tmp_path), "--batch", "--dearmor", "--output", str(keyring),
                    str(site_key / PUBLIC_KEY)], check=True, capture_output=True)  # fmt: skip
    subprocess.run(["gpgconf", "--homedir", str(tmp_path), "--kill", "gpg-agent"], check=False)
    done = subprocess.run(["gpgv", "--keyring", str(keyring), str(tmp_path / "b" / SIGNATURE),
                           str(tmp_path / "b" / MANIFEST)], capture_output=True, text=True, check=False)  # fmt: skip
    assert 0 == done.returncode and "Good signature" in done.stderr, done.stderr


def test_verify_reports_an_empty_mirror(site_key: Path, tmp_path: Path) -> None:
    assert 0 == _create(tmp_path / "b", site_key, REPO, "lab").returncode
    (tmp_path / "mirror").mkdir()
    done = run_cli("bundle", "verify", str(tmp_path / "b"), "--mirror", str(tmp_path / "mirror"), "--key",
                   str(site_key / PUBLIC_KEY))  # fmt: skip
    assert 1 == done.returncode
    doc = load_manifest(tmp_path / "b" / MANIFEST)
    assert f"artifacts: {len(doc['artifacts'])} missing" in done.stdout
    assert "signature: valid" in done.stdout and done.stdout.rstrip().endswith("FAILED")


def test_create_json_lists_what_is_unresolved(site_key: Path, tmp_path: Path) -> None:
    done = _create(tmp_path / "b", site_key, REPO, "edge-l40s-inference", "--format", "json")
    report = json.loads(done.stdout)
    assert 0 == done.returncode
    assert report["counts"]["image"] == sum(1 for u in report["unresolved"] if u.startswith("image "))


def test_bad_input_is_exit_2_and_writes_nothing(site_key: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    cases = [
        ("bundle", "create", str(bad), "--key", str(site_key), "--out", str(tmp_path / "o1")),
        ("bundle", "create", "lab", "--key", str(tmp_path / "no-key"), "--out", str(tmp_path / "o2")),
        ("bundle", "create", "no-such-blueprint", "--key", str(site_key), "--out", str(tmp_path / "o3")),
        ("bundle", "create", "lab", "--stack", "de-stuttgart", "--key", str(site_key), "--out", str(tmp_path / "o4")),
        ("bundle", "key", "--out", str(site_key)),
        ("bundle", "fill", str(tmp_path / "o1"), "--mirror", str(tmp_path / "m"), "--from", str(tmp_path)),
    ]
    for args in cases:
        done = run_cli(*args, cwd=REPO)
        assert 2 == done.returncode, (args, done.stdout, done.stderr)
        assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr, done.stderr
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(("o", "m"))]


def test_the_evidence_report_reads_a_created_bundle(site_key: Path, tmp_path: Path) -> None:
    """The two sides of the manifest contract: what `bundle create` writes is what `aifactory evidence` reads
    (unresolved .deb versions, lists of wheel hashes, null digests included)."""
    assert 0 == _create(tmp_path / "b", site_key, REPO, "--stack", "de-stuttgart").returncode
    done = run_cli("evidence", "stacks/Pulumi.de-stuttgart.yaml", "--bundle", str(tmp_path / "b"), "--format", "json",
                   "--as-of", "2026-12-01", timeout=180)  # fmt: skip
    assert 0 == done.returncode, done.stderr
    doc = load_manifest(tmp_path / "b")
    bundle = json.loads(done.stdout)["provenance"]["bundle"]
    assert (len(doc["artifacts"]), len(doc["unresolved"])) == (bundle["artifacts"], bundle["without_digest"])
    assert bundle["signature_sha256"] is not None
