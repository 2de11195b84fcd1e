"""The Automation API path needs the `pulumi` CLI; it runs only where one is installed."""

from __future__ import annotations

import shutil

import pytest

pytestmark = pytest.mark.skipif(
    shutil.which("pulumi") is None,
    reason="no `pulumi` binary on this machine (no registry ships it; see docs/pulumi.md)",
)


def test_preview_runs_with_a_local_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    from aifactory.deploy.pulumi import preview

    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test-only")
    changes = preview("fi-kajaani")
    assert changes.get("create", 0) > 0
