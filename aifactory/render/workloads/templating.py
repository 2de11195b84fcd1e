"""The workload templates, shipped in the package (aifactory/render/workloads/templates), StrictUndefined."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from aifactory import resources


@cache
def _env() -> jinja2.Environment:
    folder = resources.package_file("render", "workloads", "templates")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # shell scripts and unit files, not HTML
    )


def render(template: str, /, **context: Any) -> str:
    return _env().get_template(template).render(context)


def script(name: str) -> str:
    """A helper script embedded in a job (`gate.py`: the evaluation gate, `bench_log.py`: the benchmark logger),
    without its last newline. They take their settings from the environment, so the template has no variable."""
    return render(f"{name}.j2").rstrip("\n")
