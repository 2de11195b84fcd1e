"""`aifactory evidence`: the golden report of the sovereign EU stack in Stuttgart in every format, the same bytes
from another directory, the SEAL ladder reacting to the design, and unusable input refused (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, golden_file, run_cli

DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parent / "golden"
STACK = REPO / "stacks" / "Pulumi.de-stuttgart.yaml"
AS_OF = "2026-12-01"
SUFFIX = {"text": "txt", "md": "md", "json": "json", "html": "html"}


def _args(*extra: str, stack: Path = STACK) -> list[str]:
    return [
        "evidence",
        str(stack),
        "--as-of",
        AS_OF,
        "--bundle",
        str(DATA / "bundle"),
        "--burnin",
        str(DATA / "burnin"),
        *extra,
    ]


@pytest.mark.parametrize("fmt", sorted(SUFFIX))
def test_golden_report_for_the_stuttgart_stack(fmt: str, tmp_path: Path) -> None:
    proc = run_cli(*_args("--format", fmt))
    assert 0 == proc.returncode, proc.stderr
    assert golden_file(GOLDEN / f"de-stuttgart.{SUFFIX[fmt]}", proc.stdout) == proc.stdout
    elsewhere = run_cli(*_args("--format", fmt, "--out", str(tmp_path / "report")), cwd=tmp_path)
    assert 0 == elsewhere.returncode, elsewhere.stderr
    assert proc.stdout == (tmp_path / "report").read_text(encoding="utf-8")


def test_json_shape_and_what_it_shows() -> None:
    doc = json.loads(run_cli(*_args("--format", "json")).stdout)
    assert "aifactory/evidence/v1" == doc["schema"]
    seals = {o["id"]: o["seal"] for o in doc["objectives"]}
    assert seals == doc["summary"]["objectives"]
    assert min(seals.values()) == doc["summary"]["seal"]
    assert [15, 10, 10, 15, 20, 15, 10, 5] == [o["weight"] for o in doc["objectives"]]
    sov5 = next(o for o in doc["objectives"] if o["id"] == "SOV-5")
    # The real bundle (`bundle create` without --resolve or --pin-from): its .debs, images and charts carry no
    # hash, so a signed bundle is there but SEAL-3 is not reached; every one of them is named at its index.
    manifest = json.loads((DATA / "bundle" / "manifest.json").read_text(encoding="utf-8"))
    unhashed = [i for i, a in enumerate(manifest["artifacts"]) if not (a.get("sha256") or a.get("digest"))]
    assert len(unhashed) == len(manifest["unresolved"]) == 107
    assert 2 == sov5["seal"]
    assert [
        "a bundle manifest with its detached signature, which installs verify, every artifact with its digest "
        f"({len(unhashed)} of {len(manifest['artifacts'])} artifacts without a digest)"
    ] == sov5["next"]["missing"]
    assert {f"tests/evidence/data/bundle/manifest.json#/artifacts/{i}" for i in unhashed} == {
        f["at"] for f in sov5["facts"] if f["name"] == "artifact without digest"
    }
    assert 2 == len(doc["burnin"]["nodes"]) and 61 == doc["burnin"]["without_result"]
    assert "PASS" == doc["policy"]["result"]
    assert doc["energy"]["pue"]["value"] == 1.2
    assert doc["energy"]["pue"]["at"].startswith("catalogue:dgx-h200-sovereign-eu.yaml:")


def test_a_change_in_the_design_moves_the_seal(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.de-test.yaml"
    stack.write_text(
        "config:\n  aifactory:blueprint: dgx-h200-sovereign-eu\n  aifactory:overrides:\n"
        "    site:\n      sovereignty:\n        privileged_access:\n"
        "          - {name: vendor-support, scope: remote-support, location: US}\n",
        encoding="utf-8",
    )
    proc = run_cli("evidence", str(stack), "--as-of", AS_OF, "--format", "json")
    assert 0 == proc.returncode, proc.stderr  # a report, not a gate: `policy check` is the gate
    doc = json.loads(proc.stdout)
    sov1 = next(o for o in doc["objectives"] if o["id"] == "SOV-1")
    assert 2 == sov1["seal"]
    rule = next(r for r in sov1["rules"] if r["rule"] == "SOV-015")
    assert "fail" == rule["result"]
    assert [f"{stack.name}:7:59"] == [x["at"].rsplit("/", 1)[-1] for x in rule["findings"]]
    assert "FAIL" == doc["policy"]["result"]


def _bundle(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "manifest.json").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ('{"schema": "aifactory/bundle/v1", "artifacts": [', "is not valid JSON"),
        ('{"schema": "other/v9", "artifacts": []}', "is not an aifactory/bundle/v1 document"),
        (
            '{"schema": "aifactory/bundle/v1", "blueprint": "dgx-h200-sovereign-eu", "artifacts": [{"kind": "rpm"}]}',
            "unknown artifact kind 'rpm' at /artifacts/0",
        ),
        (
            '{"schema": "aifactory/bundle/v1", "blueprint": "lab", "artifacts": []}',
            "the bundle is for the blueprint 'lab', not 'dgx-h200-sovereign-eu'",
        ),
    ],
)
def test_bad_bundle_is_refused(tmp_path: Path, manifest: str, message: str) -> None:
    folder = _bundle(tmp_path, manifest)
    proc = run_cli("evidence", str(STACK), "--as-of", AS_OF, "--bundle", str(folder))
    assert 2 == proc.returncode
    assert message in proc.stderr and "manifest.json" in proc.stderr and "fix:" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--as-of", "yesterday"], "'yesterday' is not a date"),
        (["--burnin", "/nonexistent/burnin-report.json"], "results file not found"),
        (["--bundle", "/nonexistent"], "no bundle manifest here"),
        (["--out", "/dev/null/report.md"], "/dev/null"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, extra: list[str], message: str) -> None:
    proc = run_cli("evidence", str(STACK), "--as-of", AS_OF, *extra, cwd=tmp_path)
    assert 2 == proc.returncode, proc.stdout
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert [] == list(tmp_path.iterdir())


def test_default_date_is_the_files_last_commit_not_today() -> None:
    first = json.loads(run_cli("evidence", str(STACK), "--format", "json").stdout)
    again = json.loads(run_cli("evidence", str(STACK), "--format", "json").stdout)
    assert first == again
    import subprocess

    committed = subprocess.run(
        ["git", "log", "-1", "--format=%as", "--", STACK.name],
        cwd=STACK.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert (committed or first["as_of"]) == first["as_of"]


def test_junit_result_stands_for_the_json_report_next_to_it(tmp_path: Path) -> None:
    import shutil

    node = tmp_path / "dgx001"
    shutil.copytree(DATA / "burnin" / "dgx001", node)
    (node / "burnin-junit.xml").write_text("<testsuites/>\n", encoding="utf-8")
    proc = run_cli("evidence", str(STACK), "--as-of", AS_OF, "--burnin", str(node / "burnin-junit.xml"), "-f", "json")
    doc = json.loads(proc.stdout)
    assert [("dgx001", "WARN")] == [(n["hostname"], n["verdict"]) for n in doc["burnin"]["nodes"]]


def test_bundle_for_another_stack_is_refused(tmp_path: Path) -> None:
    text = (DATA / "bundle" / "manifest.json").read_text(encoding="utf-8").replace('"de-stuttgart"', '"fi-kajaani"')
    proc = run_cli("evidence", str(STACK), "--as-of", AS_OF, "--bundle", str(_bundle(tmp_path, text)))
    assert 2 == proc.returncode
    assert "the bundle is for the stack 'fi-kajaani', not 'de-stuttgart'" in proc.stderr


def test_supply_chain_reaches_seal_4_with_every_firmware_and_digest(tmp_path: Path) -> None:
    sha = "0" * 64
    firmware = "".join(
        f"            - {{component: {c}, version: v1, source: 'https://apt.aifactory.example.de/fw/', "
        f"sha256: '{sha}'}}\n"
        for c in ("bios", "bmc", "gpu", "nic", "switch")
    )
    stack = tmp_path / "Pulumi.de-stuttgart.yaml"
    stack.write_text(
        "config:\n  aifactory:blueprint: dgx-h200-sovereign-eu\n  aifactory:overrides:\n"
        "    site:\n      sovereignty:\n        provenance:\n          hardware_origin: NVIDIA DGX H200\n"
        f"          software_manifest: bundle/manifest.json\n          firmware:\n{firmware}",
        encoding="utf-8",
    )
    manifest = json.loads((DATA / "bundle" / "manifest.json").read_text(encoding="utf-8"))
    for artifact in manifest["artifacts"]:
        artifact["digest"] = artifact.pop("sha256", None) or f"sha256:{sha}"
    folder = _bundle(tmp_path, json.dumps(manifest))
    (folder / "manifest.json.asc").write_text("signature\n", encoding="utf-8")
    proc = run_cli("evidence", str(stack), "--as-of", AS_OF, "--bundle", str(folder), "--format", "json")
    assert 0 == proc.returncode, proc.stderr
    sov5 = next(o for o in json.loads(proc.stdout)["objectives"] if o["id"] == "SOV-5")
    assert (4, None) == (sov5["seal"], sov5["next"])


def test_a_non_sovereign_blueprint_shows_the_new_rules_as_advisory() -> None:
    doc = json.loads(run_cli("evidence", "lab", "--as-of", AS_OF, "--format", "json").stdout)
    sov5 = next(o for o in doc["objectives"] if o["id"] == "SOV-5")
    assert 0 == sov5["seal"]
    assert {"SOV-013": "advisory", "SOV-017": "advisory"} == {r["rule"]: r["result"] for r in sov5["rules"]}
    assert "PASS" == doc["policy"]["result"]


def test_json_reports_are_valid_against_the_shipped_schema() -> None:
    import jsonschema

    from aifactory.evidence.report import json_schema

    validator = jsonschema.Draft202012Validator(json_schema(), format_checker=jsonschema.FormatChecker())
    validator.validate(json.loads((GOLDEN / "de-stuttgart.json").read_text(encoding="utf-8")))
    validator.validate(json.loads(run_cli("evidence", "lab", "--as-of", AS_OF, "--format", "json").stdout))
    broken = json.loads((GOLDEN / "de-stuttgart.json").read_text(encoding="utf-8"))
    broken["objectives"][0]["seal"] = 5
    assert not validator.is_valid(broken)


def test_the_test_bundle_is_signed_by_the_key_kept_next_to_it(tmp_path: Path) -> None:
    """tests/evidence/data/bundle is `bundle create`'s own output (README.md there): its signature verifies with
    the public key kept beside it (the mirror is empty, so only the artifacts are missing)."""
    proc = run_cli("bundle", "verify", str(DATA / "bundle"), "--mirror", str(tmp_path), "--key",
                   str(DATA / "bundle-test-key.asc"), "--format", "json")  # fmt: skip
    assert 1 == proc.returncode, proc.stderr
    assert json.loads(proc.stdout)["signature"]["valid"] is True
