"""Credentials by reference: a blueprint names a secret (`{secret: NAME}`), never holds one, and a value where a
reference belongs is refused without being shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aifactory.blueprint import load_blueprint
from aifactory.blueprint.secretref import SecretRef
from aifactory.cli.main import app
from aifactory.errors import UserError

runner = CliRunner()
# Low-entropy on purpose: the secret detector (SEC-007) does not catch these, the reference type must.
LITERALS = ["hunter2-password", "Tr0ub4dor", "Admin!", "s3cr3t pass", "12345678"]


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _blueprint(repo: Path, body: str) -> Path:
    path = repo / "site.yaml"
    path.write_text("extends: dgx-h100-superpod\nname: site\n" + body)
    return path


def test_reference_blueprints_name_their_credentials_by_default() -> None:
    bp = load_blueprint("dgx-h100-superpod").model
    assert bp.storage.object_store is not None
    assert "minio_root_password" == bp.storage.object_store.root_password.secret
    assert "minio_root_user" == bp.storage.object_store.root_user.secret
    assert "grafana_admin_password" == bp.mlops.grafana_admin_password.secret
    assert bp.mlops.orchestrator.slurm.munge_key is None  # type: ignore[union-attr]


def test_a_reference_is_accepted(repo: Path) -> None:
    path = _blueprint(repo, "storage:\n  object_store: {type: minio, capacity: 2PB, "
                            "root_password: {secret: de_minio_root}}\n"
                            "mlops:\n  orchestrator:\n    slurm:\n      munge_key: {secret: factory_munge_key}\n")
    bp = load_blueprint(path).model
    assert bp.storage.object_store is not None
    assert SecretRef(secret="de_minio_root") == bp.storage.object_store.root_password
    assert "factory_munge_key" == bp.mlops.orchestrator.slurm.munge_key.secret  # type: ignore[union-attr]


@pytest.mark.parametrize("literal", LITERALS)
@pytest.mark.parametrize(
    "shape",
    [
        "{literal}",  # the value itself where the reference belongs
        "{{secret: '{literal}'}}",  # the value as the reference's name
        "{{secret: minio_root, value: '{literal}'}}",  # the value next to the name
        "{{password: '{literal}'}}",
    ],
)
def test_a_literal_where_a_reference_belongs_is_refused_unechoed(repo: Path, literal: str, shape: str) -> None:
    value = shape.format(literal=literal)
    path = _blueprint(repo, f"storage:\n  object_store:\n    type: minio\n    capacity: 2PB\n"
                            f"    root_password: {value}\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert 2 == result.exit_code, result.output
    assert "site.yaml:7:" in result.output  # the line of root_password
    assert "storage.object_store.root_password" in result.output
    assert "not a secret reference" in result.output
    assert "pulumi config set --secret" in result.output
    assert literal not in result.output
    assert "Traceback" not in result.output


def test_a_literal_munge_key_is_refused_unechoed(repo: Path) -> None:
    path = _blueprint(repo, "mlops:\n  orchestrator:\n    slurm:\n      munge_key: correct-horse-battery\n")
    with pytest.raises(UserError) as err:
        load_blueprint(path)
    assert "correct-horse-battery" not in str(err.value)
    assert "mlops.orchestrator.slurm.munge_key" in str(err.value)


def test_a_reference_is_no_plaintext_secret_finding(repo: Path) -> None:
    import json

    path = _blueprint(repo, "storage:\n  object_store: {type: minio, capacity: 2PB, "
                            "root_password: {secret: de_minio_root}}\n")
    result = runner.invoke(app, ["policy", "check", "--format", "json", str(path)])
    assert result.exit_code in (0, 1), result.output
    assert "SEC-007" not in {f["rule"] for f in json.loads(result.output)["findings"]}, result.output
