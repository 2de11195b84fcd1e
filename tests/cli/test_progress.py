"""Progress bars draw on stderr: a command's stdout is its report alone, so `--format json` stays parseable."""

from __future__ import annotations

import pytest

from aifactory.cli.common import progress_bar


def test_progress_bar_writes_to_stderr_only(capfd: pytest.CaptureFixture[str]) -> None:
    progress = progress_bar(transient=False)
    progress.console.force_terminal = True  # draw even though pytest captures the stream
    with progress:
        task = progress.add_task("converging", total=None)
        progress.update(task, description="converging host01")
    out, err = capfd.readouterr()
    assert "" == out
    assert "converging host01" in err
