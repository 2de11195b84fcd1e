"""Thin renderers from a Report to text, JSON, SARIF 2.1.0, JUnit XML and GitHub workflow commands."""

from __future__ import annotations

from collections.abc import Callable

from aifactory.policy.report import Report

FORMATS = ("text", "json", "sarif", "junit", "github")


def renderer(fmt: str) -> Callable[[Report], str]:
    import importlib

    module = importlib.import_module(f"aifactory.policy.output.{fmt}_out")
    render: Callable[[Report], str] = module.render
    return render
