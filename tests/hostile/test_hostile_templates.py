"""Role templates fed hostile strings: nothing they write runs code.

Templates a shell reads (`nccl.sh.j2` is sourced by login shells) are rendered with every string variable
hostile, checked with `bash -n`, then sourced by `env -i bash --noprofile --norc` in a temporary HOME: no marker
file may appear. The fstab line is checked by its grammar: one line of six blank-separated fields whatever the
source holds. systemd unit files keep the template's directives whatever a value holds, and the role's own check
stops values with blanks or control characters. The model refuses such values before they get here
(tests/hostile/injection/); these tests are the second wall.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml
from jinja2 import meta

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


# systemd unit files the roles write, and the role whose assert task checks the values before the template.
UNITS = {"mlflow/templates/mlflow.service.j2": "mlflow", "dcgm/templates/dcgm-exporter.service.j2": "dcgm"}


def _directives(text: str) -> list[str]:
    return [ln.split("=", 1)[0] for ln in text.splitlines() if ln and not ln.startswith(("#", "["))]


def _role_checks(role: str) -> list[str]:
    tasks = yaml.safe_load((ROLES / role / "tasks/main.yml").read_text(encoding="utf-8"))
    check = next(t for t in tasks if "ansible.builtin.assert" in t)
    return list(check["ansible.builtin.assert"]["that"])


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_unit_files_take_no_directive_from_data(unit: str, tmp_path: Path) -> None:
    """A value with a blank or control character is stopped by the role's check; any other value stays inside
    its directive: the unit has the template's directives and no more, and ExecStart runs no shell."""
    env = _env()
    source = (ROLES / unit).read_text(encoding="utf-8")
    role = UNITS[unit]
    defaults = yaml.safe_load((ROLES / role / "defaults/main.yml").read_text(encoding="utf-8"))
    names = sorted(meta.find_undeclared_variables(env.parse(source)) - {"ansible_managed"})
    good = {n: defaults[n] for n in names}
    expected = _directives(env.from_string(source).render(ansible_managed="test", **good))
    checks = [env.compile_expression(c) for c in _role_checks(role)]
    assert all(c(**good) for c in checks), "the defaults pass the role's own check"
    for name in names:
        if not isinstance(good[name], str):
            continue
        for payload in _payloads(tmp_path / "pwned"):
            values = {**good, name: payload}
            if any(ch.isspace() or ord(ch) < 32 for ch in payload):
                assert not all(c(**values) for c in checks), f"{role} lets {name}={payload!r} through"
                continue
            text = env.from_string(source).render(ansible_managed="test", **values)
            assert expected == _directives(text), (name, payload)
            exec_start = next(ln for ln in text.splitlines() if ln.startswith("ExecStart="))
            assert not exec_start.split("=", 1)[1].split()[0].endswith(("/sh", "/bash")), exec_start


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
