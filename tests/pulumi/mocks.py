"""Run the real Pulumi program under the SDK's mocks and collect what it would create."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.mocks import MockMonitor

from aifactory.deploy.pulumi import Gate, run_program


class Recorder(pulumi.runtime.Mocks):  # type: ignore[misc]
    def __init__(self) -> None:
        self.resources: list[Any] = []
        self.dependencies: dict[str, list[str]] = {}  # resource name -> names of its explicit dependencies
        self.urns: dict[str, str] = {}  # urn -> resource name

    def depends_on(self, name: str) -> set[str]:
        return set(self.dependencies[name])

    def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: Any) -> tuple[dict[str, Any], list[Any]]:
        return {}, []

    def of_type(self, typ: str) -> list[Any]:
        return [r for r in self.resources if r.typ == typ]

    def types(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.resources:
            out[r.typ] = out.get(r.typ, 0) + 1
        return out


class RecordingMonitor(MockMonitor):  # type: ignore[misc]
    """The SDK's mock monitor, also recording each registration's dependencies (which Mocks do not see)."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__(recorder)
        self.recorder = recorder

    def RegisterResource(self, request: Any) -> Any:  # the gRPC method's name
        response = super().RegisterResource(request)
        self.recorder.urns[response.urn] = request.name
        self.recorder.dependencies[request.name] = [self.recorder.urns.get(u, u) for u in request.dependencies]
        return response


# What `pulumi config set --secret` would hold for the secrets the reference blueprints name by default.
TEST_SECRETS = {
    "minio_root_user": "test-minio-user",
    "minio_root_password": "test-minio-password",
    "grafana_admin_password": "test-grafana-password",
    "ufm_address": "ufm.test.invalid",
    "ufm_username": "test-ufm-user",
    "ufm_password": "test-ufm-password",
    "vast_vms_username": "test-vms-user",
    "vast_vms_password": "test-vms-password",
}
# The stack's cluster: `pulumi config set --secret kubeconfig < FILE`, `pulumi config set kubeContext NAME`.
TEST_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"
CLUSTER = {"kubeconfig": TEST_KUBECONFIG, "kubeContext": "test-context"}


def engine_config(stack_file: Path) -> dict[str, str]:
    """The configuration the engine hands the program for a stack file: every `config:` key, a string as it
    is, anything else JSON-encoded (what `pulumi.Config.get_object` decodes)."""
    doc = yaml.safe_load(stack_file.read_text(encoding="utf-8")) if stack_file.is_file() else None
    config = (doc or {}).get("config") or {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def run_stack(
    stack: str,
    stacks: Path,
    gate: Gate | None = None,
    recorder: Recorder | None = None,
    secrets: Mapping[str, str] | None = None,
    config: Mapping[str, str] | None = None,
    cluster: Mapping[str, str] | None = None,
) -> Recorder:
    """Run the program for `stack` with mocks (waiting for every registration); returns the recorder.
    `secrets` are the stack's config secrets (project namespace `aifactory`), default TEST_SECRETS; `cluster`
    the stack's kubeconfig and context, default CLUSTER; `config` the rest of the stack's configuration,
    default what the engine would read from `stacks/Pulumi.<stack>.yaml`."""
    recorder = recorder or Recorder()
    pulumi.runtime.set_mocks(recorder, project="aifactory", stack=stack, preview=False,
                             monitor=RecordingMonitor(recorder))
    secret = {f"aifactory:{k}": v for k, v in {
        **(TEST_SECRETS if secrets is None else secrets), **(CLUSTER if cluster is None else cluster)}.items()}
    plain = engine_config(stacks / f"Pulumi.{stack}.yaml") if config is None else dict(config)
    pulumi.runtime.set_all_config({**plain, **secret}, secret_keys=sorted(secret))

    @pulumi.runtime.test  # type: ignore[misc]
    def program() -> None:
        run_program(stack, stacks, gate)

    program()
    return recorder
