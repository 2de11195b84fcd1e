"""yaml-language-server 1.25 (npm; the server behind VS Code's YAML extension and most editors' YAML support),
driven over LSP with the committed schema: what a user sees in the editor.

Reference blueprints: 0 diagnostics. A site blueprint that `extends:` one: 0 diagnostics (the base supplies the
rest). Broken blueprints: each mistake reported on its line with the server's own message.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aifactory.blueprint.loader import load_blueprint
from aifactory.errors import UserError
from tests.editors.cases import (
    BLUEPRINTS,
    MODELINE,
    REPO,
    SCHEMA,
    SITE,
    SITE_BROKEN,
    SITE_BROKEN_EXPECTED,
    lab_broken,
    line_of,
)
from tests.editors.lsp import LspClient

SERVER = REPO / "tests" / "clients" / "node_modules" / ".bin" / "yaml-language-server"
# What an editor sends: validation on, no schema store download (the tests stay off the network).
SETTINGS: dict[str, Any] = {
    "yaml": {"validate": True, "hover": True, "completion": True, "format": {"enable": False},
             "schemaStore": {"enable": False}, "schemas": {}},
    "http": {"proxyStrictSSL": True},
}


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (CI installs it; see scripts/bootstrap)"
    if not SERVER.exists():
        return f"{SERVER.relative_to(REPO)} is absent: run `npm ci --prefix tests/clients`"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LspClient]:
    client = LspClient([str(SERVER), "--stdio"], tmp_path_factory.mktemp("lsp"), SETTINGS, timeout=60)
    try:
        client.initialize(REPO)
        yield client
    finally:
        client.close()


def _with_modeline(text: str) -> str:
    return f"{MODELINE}{SCHEMA.as_uri()}\n{text}"


def _found(diagnostics: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return sorted((d["range"]["start"]["line"], d["message"]) for d in diagnostics)


@pytest.mark.parametrize("path", BLUEPRINTS, ids=lambda p: p.name)
def test_reference_blueprint_has_no_diagnostics(server: LspClient, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    # The modeline is what ties the file to the schema in any editor running yaml-language-server.
    assert f"{MODELINE}../schema/blueprint.schema.json" in text.splitlines()
    assert [] == server.open_and_diagnose(path)


def test_site_blueprint_that_extends_one_has_no_diagnostics(server: LspClient, tmp_path: Path) -> None:
    path = tmp_path / "acme-site.yaml"
    path.write_text(_with_modeline(SITE), encoding="utf-8")
    assert "acme-site" == load_blueprint(path).model.name  # valid for aifactory too, so 0 is the right answer
    assert [] == server.open_and_diagnose(path)


def test_broken_extends_blueprint_reports_each_mistake(server: LspClient, tmp_path: Path) -> None:
    path = tmp_path / "broken-site.yaml"
    text = _with_modeline(SITE_BROKEN)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError):
        load_blueprint(path)
    expected = sorted((line_of(text, anchor), message) for anchor, message in SITE_BROKEN_EXPECTED)
    assert expected == _found(server.open_and_diagnose(path))


def test_broken_complete_blueprint_reports_each_mistake(server: LspClient) -> None:
    text, anchors = lab_broken()
    # Beside the reference blueprints, so the modeline's relative schema path resolves as it does for them.
    path = REPO / "blueprints" / "lab-broken-in-editor.yaml"  # opened from memory, never written
    expected = sorted((line_of(text, anchor), message) for anchor, message in anchors)
    assert expected == _found(server.open_and_diagnose(path, text))


def test_server_pulled_its_settings(server: LspClient) -> None:
    # The server asks for `yaml` settings with workspace/configuration; the client answered (else it would
    # have waited on them, and validation would be off).
    assert "workspace/configuration" in server.server_requests


def test_a_scaffolded_site_blueprint_has_no_diagnostics(server: LspClient, tmp_path: Path) -> None:
    """`aifactory new` writes the schema into the user's repository and names it in the site blueprint."""
    from aifactory import scaffold

    made = scaffold.build("dgx-h200-sovereign-eu", "de-stuttgart")
    for name, text in made.files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    site = tmp_path / "blueprints" / "de-stuttgart.yaml"
    assert f"{MODELINE}../schema/blueprint.schema.json" in site.read_text(encoding="utf-8").splitlines()
    assert [] == server.open_and_diagnose(site)
    # The same file with a mistake: the editor flags it, so the empty list above is the schema at work.
    broken = site.read_text(encoding="utf-8").replace("name: de-stuttgart", "name: 7", 1)
    assert any(d["range"]["start"]["line"] == line_of(broken, "name: 7") for d in server.open_and_diagnose(
        tmp_path / "blueprints" / "broken.yaml", broken))
