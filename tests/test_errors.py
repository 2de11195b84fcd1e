"""`aifactory.errors`: a plain exception without click, caught once at the CLI entry."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from aifactory.cli.main import app
from aifactory.errors import Location, Problem, UserError

REPO = Path(__file__).resolve().parents[1]


def test_user_error_is_a_plain_exception_and_keeps_its_api() -> None:
    assert UserError.__mro__[1:] == (Exception, BaseException, object)
    one = UserError.at(Location("a.yaml", 3, 5), "bad value", "use a good one", "compute.nodes")
    assert "a.yaml:3:5: compute.nodes: bad value\n  fix: use a good one" == str(one) == one.format_message()
    two = UserError([Problem(Location("a.yaml", 1), "first"), Problem(None, "second", "hint")])
    assert "2 problems:\na.yaml:1: first\nsecond\n  fix: hint" == str(two)
    assert 2 == one.exit_code == UserError.exit_code
    back = pickle.loads(pickle.dumps(two))
    assert back.problems == two.problems and str(back) == str(two)


def test_the_errors_module_imports_without_click() -> None:
    code = (
        "import sys; sys.modules['click'] = None\n"  # any `import click` now raises ImportError
        "from aifactory.errors import UserError\n"
        "raise SystemExit(0 if 'click' not in str(UserError.__mro__) else 1)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=False)
    assert 0 == done.returncode, done.stderr


def test_commands_do_not_catch_it_themselves() -> None:
    """Only the CLI entry prints a UserError; `validate` collects problems per file, which is not printing."""
    catching = sorted(
        str(p.relative_to(REPO))
        for p in (REPO / "aifactory").rglob("*.py")
        if "except UserError" in p.read_text(encoding="utf-8") or "err.format_message()" in p.read_text("utf-8")
    )
    # burnin/main.py is the suite's own entry point (`python -m aifactory.burnin` on a node, no Typer).
    assert ["aifactory/burnin/main.py", "aifactory/cli/main.py", "aifactory/cli/validate.py"] == catching


def test_a_user_error_from_a_sub_group_reaches_the_entry_as_exit_2() -> None:
    for args in (["policy", "explain", "SOV-01O"], ["policy", "check", "no/such.yaml"],
                 ["plan", "no/such.yaml"], ["burnin", "compare", "no/such"]):
        done = CliRunner().invoke(app, args)
        assert 2 == done.exit_code, (args, done.output)
        assert done.stderr.startswith("error: "), (args, done.stderr)
        assert done.exception is None or isinstance(done.exception, SystemExit)
