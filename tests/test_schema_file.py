"""The committed editor schema (schema/blueprint.schema.json) matches what `aifactory schema` prints."""

from pathlib import Path

from typer.testing import CliRunner

from aifactory.cli.main import app

ROOT = Path(__file__).resolve().parents[1]


def test_committed_schema_is_current() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert 0 == result.exit_code
    expected = (ROOT / "schema" / "blueprint.schema.json").read_text(encoding="utf-8")
    assert expected == result.output, "run `python cli.py schema --out schema/blueprint.schema.json`"
