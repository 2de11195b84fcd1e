"""Role templates fed hostile strings: nothing they write runs code.

Templates a shell reads (`nccl.sh.j2` is sourced by login shells, `daemon.conf.j2` by `aifactory-daemon`) are
rendered with every string variable hostile, checked with `bash -n`, then sourced by `env -i bash --noprofile
--norc` in a temporary HOME: no marker file may appear. The fstab line is checked by its grammar: one line of
six blank-separated fields whatever the source holds. The model refuses such values before they get here
(tests/hostile/injection/); these tests are the second wall.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "roles"


def _payloads(marker: Path) -> list[str]:
    m = shlex.quote(str(marker))
    return [f"$(touch {m})", f"`touch {m}`", f"x; touch {m}", f"x\ntouch {m}", f"x' ; touch {m} ; '",
            f'x" ; touch {m} ; "', f"x|touch {m}", f"x&&touch {m}", f"${{IFS}}touch${{IFS}}{m}"]


def _env() -> jinja2.Environment:
    from ansible.plugins.filter.core import quote, regex_replace

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters.update(quote=quote, regex_replace=regex_replace)
    env.tests["match"] = lambda value, pattern: __import__("re").match(pattern, value) is not None
    return env


def _source(script: str, tmp: Path) -> None:
    path = tmp / "script.sh"
    path.write_text(script, encoding="utf-8")
    assert 0 == subprocess.run(["bash", "-n", str(path)], check=False, capture_output=True).returncode, script
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    subprocess.run(["env", "-i", f"HOME={home}", "bash", "--noprofile", "--norc", "-c", f". {shlex.quote(str(path))}"],
                   cwd=home, check=False, capture_output=True, timeout=10)


@pytest.mark.parametrize("where", ["key", "value"])
def test_nccl_profile_script_runs_nothing(where: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    template = _env().from_string((ROLES / "fabric/templates/nccl.sh.j2").read_text(encoding="utf-8"))
    for payload in _payloads(marker):
        nccl = {f"NCCL_{payload}": "1"} if where == "key" else {"NCCL_DEBUG": payload}
        _source(template.render(ansible_managed="test", fabric_nccl_env={"NCCL_OK": "1", **nccl}), tmp_path)
        assert not marker.exists(), payload


def test_daemon_config_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    template = _env().from_string((ROLES / "base/templates/daemon.conf.j2").read_text(encoding="utf-8"))
    for payload in _payloads(marker):
        text = template.render(ansible_managed="test", base_daemon_command=payload, base_daemon_run_as=payload,
                               base_daemon_unit=payload)
        _source(text, tmp_path)
        assert not marker.exists(), payload


def _fstab_line() -> str:
    tasks = yaml.safe_load((ROLES / "storage_client/tasks/main.yml").read_text(encoding="utf-8"))
    task = next(t for t in tasks if t["name"].endswith("in fstab"))
    line: str = task["ansible.builtin.lineinfile"]["line"]
    return line


def test_fstab_line_is_one_line_of_six_fields_whatever_the_source(tmp_path: Path) -> None:
    template = _env().from_string(_fstab_line())
    for payload in [*_payloads(tmp_path / "pwned"), "a b\tc\\d", "srv:/export\n/dev/sda1 / ext4 defaults 0 0"]:
        out = template.render(item={"source": payload, "path": "/data", "type": "nfs", "options": "_netdev"})
        assert "\n" not in out and "\t" not in out, out
        fields = out.split(" ")
        assert 6 == len(fields), out
        assert ["/data", "nfs", "_netdev", "0", "0"] == fields[1:]
