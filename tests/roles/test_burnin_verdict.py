"""The burnin role's verdict handling, run by Ansible with the local connection: a FAIL verdict (the suite's
exit 1) fails the play after the report is written, a PASS does not, and a FAIL report left by an earlier run
is no acceptance (the next converge runs the suite again). The suite is replaced at its boundary: an
interpreter that logs its arguments, writes a report of the suite's shape and exits with the verdict's code."""

from __future__ import annotations

import json
from pathlib import Path

from tests.roles.local_play import run_local_play

REPO_ROOT = Path(__file__).resolve().parents[2]
FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "{log}"
[ "$1" = -c ] && exit 0
out=$(printf '%s\\n' "$@" | sed -n '/^--out$/{{n;p}}')
mkdir -p "$out"
printf '{{"kind": "aifactory.burnin.report", "run": {{"partial": false}}, ' > "$out/burnin-report.json"
printf '"node": {{"verdict": "%s", "exit_code": %s}}}}' "$FAKE_VERDICT" "$FAKE_RC" >> "$out/burnin-report.json"
exit "$FAKE_RC"
"""


def _play(tmp_path: Path, verdict: str, rc: int) -> tuple[int, str]:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    python = venv / "bin" / "python"
    python.write_text(FAKE_PYTHON.format(log=tmp_path / "calls.log"))
    python.chmod(0o755)
    play = [{
        "name": "Burn-in", "hosts": "node01", "gather_facts": False, "connection": "local",
        "environment": {"FAKE_VERDICT": verdict, "FAKE_RC": str(rc)},
        "vars": {"burnin_venv": str(venv), "burnin_install": False, "burnin_run": True,
                 "burnin_out_dir": str(tmp_path / "reports")},
        "roles": [{"role": str(REPO_ROOT / "roles" / "burnin")}],
    }]  # fmt: skip
    done = run_local_play(tmp_path, play)
    return done.returncode, done.stdout + done.stderr


def _runs(tmp_path: Path) -> int:
    return sum(" aifactory.burnin run " in line for line in (tmp_path / "calls.log").read_text().splitlines())


def test_a_fail_verdict_fails_the_play_after_writing_the_report(tmp_path: Path) -> None:
    rc, out = _play(tmp_path, "FAIL", 1)
    assert rc != 0, out
    assert "burn-in FAILED on node01" in out
    report = json.loads((tmp_path / "reports" / "burnin-report.json").read_text())
    assert "FAIL" == report["node"]["verdict"]
    # The earlier FAIL is no acceptance: the next converge runs the suite again (and fails again).
    rc, out = _play(tmp_path, "FAIL", 1)
    assert rc != 0 and 2 == _runs(tmp_path), out


def test_a_pass_verdict_passes_and_is_kept(tmp_path: Path) -> None:
    rc, out = _play(tmp_path, "PASS", 0)
    assert rc == 0, out
    rc, out = _play(tmp_path, "PASS", 0)
    assert rc == 0 and 1 == _runs(tmp_path), out


def test_an_unusable_run_fails_at_the_run(tmp_path: Path) -> None:
    rc, out = _play(tmp_path, "FAIL", 2)
    assert rc != 0
    assert "Burn-in | Run the suite" in out and "burn-in FAILED" not in out
