"""Our outputs as real clients read them: Microsoft SARIF Multitool, the Jenkins xunit JUnit schema, and paths
that stay inside the user's repository (inherited values point at the user's file, the catalogue is a related
location relative to the catalogue)."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from typer.testing import CliRunner

from aifactory.cli.main import app
from aifactory.errors import Location
from aifactory.policy.model import Finding
from aifactory.policy.output import renderer
from aifactory.policy.report import Report
from tests.policy.conftest import ROOT

MULTITOOL = ROOT / "tests/clients/node_modules/.bin/sarif-multitool"
JUNIT_XSD = ROOT / "tests/data/junit-10.xsd"
BLUEPRINTS = sorted((ROOT / "blueprints").glob("*.yaml"))
ODD_NAMES = ("50% dense.yaml", "rack #3.yaml", "süd cluster.yaml")
USER_FILE = """\
# a site blueprint in the user's own repository
extends: dgx-h200-sovereign-eu
site:
  sovereignty:
    vendor_telemetry: true
"""
runner = CliRunner()


@pytest.fixture
def user_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's git work tree (blueprints/, stacks/) and the catalogue outside it, as when installed."""
    repo = tmp_path / "infra"
    (repo / ".git").mkdir(parents=True)
    (repo / "blueprints").mkdir()
    (repo / "stacks").mkdir()
    catalogue = tmp_path / "site-packages" / "aifactory" / "blueprints"
    shutil.copytree(ROOT / "blueprints", catalogue)
    monkeypatch.setenv("AIFACTORY_BLUEPRINTS", str(catalogue))
    (repo / "blueprints" / "site.yaml").write_text(USER_FILE, encoding="utf-8")
    for name in ODD_NAMES:
        (repo / "blueprints" / name).write_text(USER_FILE, encoding="utf-8")
    (repo / "stacks" / "Pulumi.eu-test.yaml").write_text(
        "config:\n  aifactory:blueprint: dgx-h200-sovereign-eu\n  aifactory:overrides:\n"
        "    compute:\n      nodes_per_rack: 6\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(repo)
    return repo


def _check(*args: str) -> str:
    done = runner.invoke(app, ["policy", "check", *args])
    assert done.exit_code in (0, 1), done.output
    return done.stdout


def _no_absolute_path(text: str, *roots: Path) -> None:
    for root in roots:
        assert str(root) not in text
        assert str(root.resolve()) not in text


def test_inherited_values_point_at_the_users_file(user_repo: Path) -> None:
    data = json.loads(_check("blueprints/site.yaml", "--format", "json"))
    by_pointer = {f["pointer"]: f for f in data["findings"]}
    charts = [f for f in data["findings"] if f["pointer"].startswith("/software/charts/")]
    assert charts, "the catalogue's charts are not pinned by digest: SEC-010 reports them"
    for f in charts:  # nothing of software: in the user's file: the `extends:` line
        assert ("blueprints/site.yaml", 2) == (f["file"], f["line"])
        assert "catalogue" == f["inherited"]["base"]
        assert f["inherited"]["file"].endswith(".yaml") and "/" not in f["inherited"]["file"]
    # the user's own value keeps its own line
    assert ("blueprints/site.yaml", 5) == (by_pointer["/site/sovereignty/vendor_telemetry"]["file"],
                                           by_pointer["/site/sovereignty/vendor_telemetry"]["line"])
    assert by_pointer["/site/sovereignty/vendor_telemetry"]["inherited"] is None
    for fmt in ("text", "json", "sarif", "junit", "github"):
        _no_absolute_path(_check("blueprints/site.yaml", "--format", fmt), user_repo.parent)


def test_an_inherited_value_under_a_user_key_points_at_that_key(user_repo: Path) -> None:
    (user_repo / "blueprints" / "site.yaml").write_text(
        "extends: dgx-h200-sovereign-eu\nsoftware:\n  os: ubuntu-24.04\n", encoding="utf-8"
    )
    data = json.loads(_check("blueprints/site.yaml", "--format", "json"))
    charts = {(f["file"], f["line"]) for f in data["findings"] if f["pointer"].startswith("/software/charts/")}
    assert {("blueprints/site.yaml", 2)} == charts  # the `software:` key the user's file sets


def test_locations_are_relative_to_the_repository_not_the_cwd(user_repo: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(user_repo / "blueprints")
    data = json.loads(_check("site.yaml", "--format", "json"))
    assert ["blueprints/site.yaml"] == data["files"]
    assert {"blueprints/site.yaml"} == {f["file"] for f in data["findings"]}
    stack = json.loads(_check("../stacks/Pulumi.eu-test.yaml", "--format", "json"))
    budget = [f for f in stack["findings"] if f["rule"] == "PWR-001"]
    assert [("stacks/Pulumi.eu-test.yaml", 5, "dgx-h200-sovereign-eu.yaml", "catalogue")] == [
        (f["file"], f["line"], f["related"]["file"], f["related"]["base"]) for f in budget
    ]


def test_a_waiver_in_the_users_file_covers_an_inherited_value_from_any_cwd(user_repo: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (user_repo / "blueprints" / "site.yaml").write_text(
        '# aifactory:waive SEC-010 reason="charts pinned by the mirror" expires=2099-12-31\n'
        "extends: dgx-h200-sovereign-eu\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(user_repo / "stacks")
    data = json.loads(_check("../blueprints/site.yaml", "--format", "json"))
    sec = [f for f in data["findings"] if f["rule"] == "SEC-010"]
    assert sec and all(f["waiver"] is not None for f in sec)


def test_set_findings_have_a_file_and_line(user_repo: Path) -> None:
    data = json.loads(_check("blueprints/site.yaml", "--set", "site.sovereignty.vendor_telemetry=true",
                             "--set", 'fabric.compute.oversubscription="2:1"', "--format", "json"))
    fab = next(f for f in data["findings"] if f["rule"] == "FAB-001")
    assert ("blueprints/site.yaml", 2) == (fab["file"], fab["line"])  # no fabric: key: the `extends:` line
    assert fab["inherited"]["file"].startswith("--set fabric.compute.oversubscription")
    sov = next(f for f in data["findings"] if f["rule"] == "SOV-010")
    assert ("blueprints/site.yaml", 4) == (sov["file"], sov["line"])  # the nearest key: `sovereignty:`


def test_sarif_uris_are_percent_encoded(user_repo: Path) -> None:
    run = json.loads(_check(*(f"blueprints/{n}" for n in ODD_NAMES), "--format", "sarif"))["runs"][0]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert {"blueprints/50%25%20dense.yaml", "blueprints/rack%20%233.yaml",
            "blueprints/s%C3%BCd%20cluster.yaml"} == uris
    related = [loc for r in run["results"] for loc in r.get("relatedLocations", [])]
    assert related and all(loc["physicalLocation"]["artifactLocation"]["uriBaseId"] == "AIFACTORY_CATALOGUE"
                           for loc in related if "/" not in loc["physicalLocation"]["artifactLocation"]["uri"])
    assert "AIFACTORY_CATALOGUE" in run["originalUriBaseIds"]
    assert all("region" in r["locations"][0]["physicalLocation"] for r in run["results"])


def _multitool(folder: Path) -> list[dict[str, object]]:
    out = folder / "validation.sarif.json"
    done = subprocess.run(
        # its parser wants the files before the options
        [str(MULTITOOL), "validate", *sorted(str(p) for p in folder.glob("*.sarif")),
         "--output", str(out), "--log", "ForceOverwrite", "--quiet"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert 0 == done.returncode, done.stdout + done.stderr
    results: list[dict[str, object]] = json.loads(out.read_text(encoding="utf-8"))["runs"][0].get("results", [])
    return results


def _problems(results: list[dict[str, object]]) -> list[str]:
    out = []
    for r in results:
        if r.get("level", "warning") in ("error", "warning"):
            msg = r.get("message", {})
            args = msg.get("arguments", []) if isinstance(msg, dict) else []
            out.append(f"{r.get('ruleId')}: {args}")
    return out


@pytest.mark.skipif(not MULTITOOL.exists(),
                    reason="SARIF Multitool not installed: run `npm ci --prefix tests/clients` (CI does)")
def test_sarif_multitool_reports_no_error_or_warning(user_repo: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    logs = tmp_path / "sarif"
    logs.mkdir()

    def write(name: str, *args: str) -> None:
        (logs / f"{name}.sarif").write_text(_check(*args, "--format", "sarif"), encoding="utf-8")

    write("inherited", "blueprints/site.yaml")
    write("odd-names", *(f"blueprints/{n}" for n in ODD_NAMES))
    write("set", "blueprints/site.yaml", "--set", 'fabric.compute.oversubscription="2:1"',
          "--set", "site.sovereignty.vendor_telemetry=true")
    write("stack", "stacks/Pulumi.eu-test.yaml")
    write("folder", ".")
    baseline = user_repo / "accepted.json"
    assert 0 == runner.invoke(app, ["policy", "check", "blueprints/site.yaml", "--baseline", str(baseline),
                                    "--update-baseline"]).exit_code
    (user_repo / "blueprints" / "site.yaml").write_text(USER_FILE + "fabric:\n  compute:\n    oversubscription: "
                                                         '"2:1"\n', encoding="utf-8")
    write("baseline", "blueprints/site.yaml", "--baseline", str(baseline))
    monkeypatch.chdir(ROOT)
    for path in BLUEPRINTS:
        write(f"reference-{path.stem}", f"blueprints/{path.name}")
    # the validator does catch what clients reported: an absolute catalogue path and an unencoded name
    bad = json.loads((logs / "odd-names.sarif").read_text(encoding="utf-8"))
    loc = bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    loc["uri"] = "/abs/blueprints/rack #3.yaml"
    (logs / "zz-known-bad.sarif").write_text(json.dumps(bad), encoding="utf-8")
    problems = _problems(_multitool(logs))
    known_bad = [p for p in problems if "/abs/blueprints/rack #3.yaml" in p]
    assert known_bad, problems
    assert [] == [p for p in problems if p not in known_bad]


def _junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(JUNIT_XSD))


def _unique_cases(text: str) -> None:
    pairs = [(c.get("classname"), c.get("name")) for c in ET.fromstring(text).iter("testcase")]
    assert len(pairs) == len(set(pairs)), pairs


def test_policy_junit_validates_against_the_jenkins_schema(user_repo: Path) -> None:
    schema = _junit_schema()
    for args in (
        ("blueprints/site.yaml",),
        (*(f"blueprints/{n}" for n in ODD_NAMES),),
        ("blueprints/site.yaml", "--set", 'fabric.compute.oversubscription="2:1"'),
        ("stacks/Pulumi.eu-test.yaml",),
    ):
        text = _check(*args, "--format", "junit")
        schema.validate(text)
        _unique_cases(text)
    failure = ET.fromstring(_check("blueprints/site.yaml", "--format", "junit")).find(".//failure")
    assert failure is not None and (failure.text or "").startswith("blueprints/site.yaml:5:5: ")


def test_policy_junit_names_repeated_findings_apart() -> None:
    def finding(message: str) -> Finding:
        return Finding(rule="SEC-007", severity="critical", level="mandatory", title="t", message=message,
                       path=("a",), location=Location("f.yaml", 3, 1), value=1, remediation="r")

    text = renderer("junit")(Report([finding("one"), finding("two")], ["f.yaml"]))
    _junit_schema().validate(text)
    _unique_cases(text)
    assert ["SEC-007 /a", "SEC-007 /a #2"] == [c.get("name") for c in ET.fromstring(text).iter("testcase")]


def test_the_old_junit_shape_is_what_the_schema_refuses() -> None:
    # the attributes clients reported: the schema (and so this test's validator) refuses them
    bad = ('<testsuites tests="1" failures="0" errors="0" skipped="0"><testsuite name="f" tests="1" failures="0" '
           'errors="0"><testcase name="n" classname="f" file="f.yaml" line="3"/></testsuite></testsuites>')
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        _junit_schema().validate(bad)


def test_no_location_is_absolute_in_a_checkout_run(in_root: Path) -> None:
    for fmt in ("json", "sarif", "github"):
        text = _check("tests/policy/golden/pr-change.yaml", "--format", fmt)
        _no_absolute_path(text, ROOT)


def test_github_annotations_stay_in_the_workspace(user_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _check("blueprints/site.yaml", "--format", "github").splitlines()
    assert lines and all("file=blueprints/site.yaml," in ln for ln in lines if ln.startswith(("::error", "::warn")))
    assert any("(value inherited from catalogue:dgx-h100-superpod.yaml:" in ln for ln in lines)
    # a catalogue blueprint checked by name lies outside the workspace: no file= for it
    monkeypatch.chdir(user_repo / "blueprints")
    named = _check("dgx-h200-sovereign-eu", "--format", "github").splitlines()
    assert named and not any("file=" in ln for ln in named)
