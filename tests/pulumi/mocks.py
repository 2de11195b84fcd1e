"""Run the real Pulumi program under the SDK's mocks and collect what it would create."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi

from aifactory.deploy.pulumi import Gate, run_program


class Recorder(pulumi.runtime.Mocks):  # type: ignore[misc]
    def __init__(self) -> None:
        self.resources: list[Any] = []

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


# What `pulumi config set --secret` would hold for the secrets the reference blueprints name by default.
TEST_SECRETS = {
    "minio_root_user": "test-minio-user",
    "minio_root_password": "test-minio-password",
    "grafana_admin_password": "test-grafana-password",
}


def run_stack(
    stack: str,
    stacks: Path,
    gate: Gate | None = None,
    recorder: Recorder | None = None,
    secrets: Mapping[str, str] | None = None,
) -> Recorder:
    """Run the program for `stack` with mocks (waiting for every registration); returns the recorder.
    `secrets` are the stack's config secrets (project namespace `aifactory`), default TEST_SECRETS."""
    recorder = recorder or Recorder()
    pulumi.runtime.set_mocks(recorder, project="aifactory", stack=stack, preview=False)
    config = {f"aifactory:{k}": v for k, v in (TEST_SECRETS if secrets is None else secrets).items()}
    pulumi.runtime.set_all_config(config, secret_keys=sorted(config))

    @pulumi.runtime.test  # type: ignore[misc]
    def program() -> None:
        run_program(stack, stacks, gate)

    program()
    return recorder
