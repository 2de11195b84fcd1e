"""The CrossGuard pack as the Pulumi engine runs it: started from its entry point (which prints its port), called
over the analyzer gRPC protocol on loopback with the resources the program registers under mocks, for every
stack. It must report what `aifactory policy check stacks/Pulumi.<stack>.yaml` reports, rule by rule, at the
same enforcement, and never fail a call."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from mocks import Recorder, run_stack
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from aifactory.blueprint.stackfile import STACKS, stack_names

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policypack" / "__main__.py"
_FINDING = re.compile(r"^([A-Z]+-\d+) .*\(([^(),]+), (/[^()]*)\)\. Fix: ", re.S)
_LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory"}
_SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}


class Pack:
    """The pack's process and a stub on the port it printed."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(PACK)],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the engine reads the port the same way
        if not line.strip().isdigit():
            self.close()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"the pack printed no port: {line!r} {err}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{int(line)}")
        grpc.channel_ready_future(self.channel).result(timeout=60)
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)

    def close(self) -> None:
        if getattr(self, "channel", None) is not None:
            self.channel.close()
        self.proc.terminate()  # our own child, by its handle
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=20)


@contextmanager
def _pack(stack: str, **extra: str) -> Iterator[Pack]:
    """The pack with the environment the engine gives a policy pack (project, stack, preview)."""
    env = {"PULUMI_PROJECT": "aifactory", "PULUMI_STACK": stack, "PULUMI_DRY_RUN": "true",
           "AIFACTORY_POLICY_TARGET": "", **extra}  # fmt: skip
    pack = Pack(env)
    try:
        yield pack
    finally:
        pack.close()


def _plain(value: Any) -> Any:
    """Mock inputs as the engine sends them: JSON values, secrets in Pulumi's secret envelope."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _struct(inputs: dict[str, Any], secret_keys: set[str]) -> struct_pb2.Struct:
    props = _plain(inputs)
    for key in secret_keys & set(props):
        sig, kind = next(iter(_SECRET_SIG.items()))
        props[key] = {sig: kind, "value": props[key]}
    out = struct_pb2.Struct()
    json_format.ParseDict(props, out)
    return out


def _resources(stack: str) -> list[analyzer_pb2.AnalyzerResource]:
    rec: Recorder = run_stack(stack, STACKS)
    out = []
    for r in rec.resources:
        urn = f"urn:pulumi:{stack}::aifactory::{r.typ}::{r.name}"
        secrets = {"stringData"} if r.typ == "kubernetes:core/v1:Secret" else set()
        out.append(analyzer_pb2.AnalyzerResource(type=r.typ, properties=_struct(r.inputs, secrets), urn=urn,
                                                 name=r.name))  # fmt: skip
    return out


def _analyze(pack: Pack, resources: list[analyzer_pb2.AnalyzerResource]) -> list[tuple[str, Any]]:
    """(call, diagnostic) for every resource's Analyze and the stack's AnalyzeStack."""
    info = pack.stub.GetAnalyzerInfo(empty_pb2.Empty())
    assert "aifactory-policy" == info.name
    out: list[tuple[str, Any]] = []
    for res in resources:
        request = analyzer_pb2.AnalyzeRequest(type=res.type, properties=res.properties, urn=res.urn, name=res.name)
        out += [(res.urn, d) for d in pack.stub.Analyze(request, timeout=120).diagnostics]
    stack = pack.stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources), timeout=300)
    out += [("stack", d) for d in stack.diagnostics]
    return out


def _policy_check(stack: str) -> set[tuple[str, str, int, str, str]]:
    done = subprocess.run(
        [sys.executable, "cli.py", "policy", "check", "--format", "json", f"stacks/Pulumi.{stack}.yaml"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return {
        (f["rule"], f["file"], f["line"], f["pointer"], "mandatory" if f["fails"] else "advisory")
        for f in json.loads(done.stdout)["findings"]
        if f["fails"] or not (f["waiver"] or f["baselined"])
    }


def _reported(diagnostics: list[tuple[str, Any]]) -> set[tuple[str, str, int, str, str]]:
    out = set()
    for _, d in diagnostics:
        text = d.message.split("\n", 1)[-1]
        m = _FINDING.match(text)
        if m is None:
            continue
        rule, loc, pointer = m.groups()
        file, line = re.match(r"^(.*?):(\d+)(?::\d+)?$", loc).groups()  # type: ignore[union-attr]
        assert d.policyName.startswith(rule.lower()), (d.policyName, rule)
        out.add((rule, file, int(line), pointer, _LEVELS[d.enforcementLevel]))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("stack", stack_names(STACKS))
def test_the_pack_over_grpc_reports_what_policy_check_reports(stack: str) -> None:
    resources = _resources(stack)
    expected = _policy_check(stack)
    with _pack(stack) as pack:
        diagnostics = _analyze(pack, resources)
    failures = [d.message for _, d in diagnostics if "could not be checked" in d.message]
    assert [] == failures
    assert expected == _reported(diagnostics)
    # Findings on chart pins are reported on the Helm releases that render them (they have no metadata).
    releases = {r.urn for r in resources if r.type == "kubernetes:helm.sh/v3:Release"}
    on_releases = {d.policyName for urn, d in diagnostics if urn in releases}
    charted = {rule for rule, _, _, pointer, _ in expected if pointer.startswith("/software/charts/")}
    assert {r.lower() for r in charted} <= {n.split("-")[0] + "-" + n.split("-")[1] for n in on_releases}


def test_us_east_findings_come_from_the_stack_and_its_releases() -> None:
    # The case the review measured: 15 findings from `policy check` and none from the pack.
    expected = _policy_check("us-east")
    assert len(expected) >= 10
    assert {f[1] for f in expected} == {"stacks/Pulumi.us-east.yaml"}
    resources = _resources("us-east")
    with _pack("us-east") as pack:
        diagnostics = _analyze(pack, resources)
    assert expected == _reported(diagnostics)


def test_a_rule_that_cannot_run_is_a_violation_not_a_crash(tmp_path: Path) -> None:
    resources = _resources("us-east")[:5]
    missing = tmp_path / "gone.yaml"
    with _pack("us-east", AIFACTORY_POLICY_TARGET=str(missing)) as pack:
        diagnostics = _analyze(pack, resources)  # a gRPC error would raise here
    failures = [d for _, d in diagnostics if "could not be checked" in d.message]
    assert failures and all("gone.yaml" in d.message for d in failures)
    assert all(d.enforcementLevel in _LEVELS for d in failures)


def test_a_chart_default_image_left_unmirrored_is_flagged_over_grpc() -> None:
    """The cert-manager release of the sovereign stack without its `imageRegistry` override: the chart pulls its
    own quay.io defaults, which the pack judges from the chart's image data (the bundle's list) and fails."""
    rec: Recorder = run_stack("de-stuttgart", STACKS)
    (release,) = [
        r for r in rec.resources if r.typ == "kubernetes:helm.sh/v3:Release" and r.name.endswith("-cert-manager")
    ]
    stripped = {**release.inputs, "values": {k: v for k, v in release.inputs["values"].items() if k != "imageRegistry"}}
    urn = f"urn:pulumi:de-stuttgart::aifactory::{release.typ}::{release.name}"
    requests = [analyzer_pb2.AnalyzeRequest(type=release.typ, properties=_struct(inputs, set()), urn=urn,
                                            name=release.name) for inputs in (release.inputs, stripped)]  # fmt: skip
    with _pack("de-stuttgart") as pack:
        clean, bad = (pack.stub.Analyze(r, timeout=120).diagnostics for r in requests)
    assert [] == [d.message for d in clean if "does not come from" in d.message]
    flagged = {(d.policyName, _LEVELS[d.enforcementLevel]) for d in bad if "does not come from" in d.message}
    assert {("sov-009", "mandatory")} == flagged
    assert any("quay.io/jetstack/cert-manager-webhook:v1.21.1" in d.message for d in bad)
