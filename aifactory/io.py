"""Deterministic serialisation and atomic writes.

Every artifact the tool writes goes through here: JSON with sorted keys and a trailing newline, and files
replaced atomically, so an interrupted run leaves the earlier output intact.

- `atomic_write(path, data)`: one file, written to a temporary file beside it, fsynced and renamed over it.
- `replace_tree(dir, files)`: a whole output folder (`plan --out`, `render --out`). The complete result is
  built in a hidden sibling folder `.<name>.aifactory-tmp-*` and swapped in with one rename (Linux:
  `renameat2(RENAME_EXCHANGE)`, so DIR always exists; elsewhere the old folder is renamed aside first and put
  back by the next run if the process died between the two renames). The folder then holds exactly the new
  files plus the marker `.aifactory-output`; a folder that exists without the marker and holds a file the new
  output does not write was not written by aifactory and is refused rather than replaced. Temporaries left
  by an interrupted run (SIGKILL cannot be caught) are removed by the next run into the same folder.
- `atomic_write_tree(dir, files)`: several files merged into a folder that other commands share (burn-in
  fleet results, policy docs), each replaced atomically.

Files get the mode the umask allows (0644 under the usual umask 022), never tempfile's private 0600.
Every output path is checked first (`check_output`): an empty name, a file where a folder is wanted, a path
under a file or a folder that cannot be written is a UserError (exit 2) naming it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from aifactory.errors import Location, UserError

MARKER = ".aifactory-output"
_PSEUDO = ("/proc", "/sys", "/dev")
_TMP = ".aifactory-tmp-"
_OLD = ".aifactory-old-"
# Tests only: seconds to sleep after each file of replace_tree, so a test can interrupt the write phase.
_SLOW_ENV = "AIFACTORY_TEST_WRITE_DELAY"


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def dumps_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, two-space indent, UTF-8 kept, newline at the end. Strict RFC 8259: a NaN
    or an infinity (a measurement that failed) is written as null, never as the non-standard `NaN`."""
    try:
        text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(obj), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return text + "\n"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _file_mode() -> int:
    return 0o666 & ~_umask()


def _refuse(path: Path, what: str, hint: str) -> UserError:
    return UserError.at(Location(str(path)), what, hint)


def check_output(path: str | os.PathLike[str], *, folder: bool) -> Path:
    """`path` as an output (a folder when `folder`, else a file): refused with exit 2 where it cannot be one."""
    raw = os.fspath(path)
    try:
        return _check_output(raw, folder)
    except OSError as err:
        raise _refuse(Path(raw), f"cannot use the output path ({err.strerror or 'error'})",
                      "choose a shorter path to a folder you can write to") from None


def _check_output(raw: str, folder: bool) -> Path:
    if raw in ("", ".") or "\x00" in raw:
        # The CLI's Path options turn `--out ""` into ".", which names no output of its own either.
        what = "contains a NUL byte" if "\x00" in raw else 'is empty (or ".", the current folder)'
        raise _refuse(Path(raw.replace("\x00", "\\0") or '""'), f"the output path {what}",
                      "name a new folder, e.g. `--out build/plan`" if folder else "name a file, e.g. `-o report.txt`")
    target = Path(raw)
    kind = "folder" if folder else "file"
    if target.is_symlink() and not target.exists():
        raise _refuse(target, f"the output {kind} is a dangling symlink", "remove it or choose another path")
    if target.exists():
        if folder and not target.is_dir():
            raise _refuse(target, "the output path is a file, not a folder", "choose a folder, or remove the file")
        if not folder and target.is_dir():
            raise _refuse(target, "the output path is a folder, not a file", "name a file inside it")
    real = Path(os.path.realpath(target))
    if any(real == p or real.is_relative_to(p) for p in map(Path, _PSEUDO)):
        raise _refuse(target, f"the output path is under {real.parts[1] and '/' + real.parts[1]}",
                      "write outputs to a real folder")
    if folder and (real == Path(real.anchor) or Path.cwd().resolve().is_relative_to(real)):
        raise _refuse(target, "the output folder holds the current folder (it would be replaced as a whole)",
                      "name a new folder, e.g. `--out build/plan`")
    probe = target.absolute().parent
    while not probe.exists():
        if probe.is_symlink():
            raise _refuse(target, f"the output path runs through a dangling symlink ({probe})", "fix the link")
        probe = probe.parent
    if not probe.is_dir():
        raise _refuse(target, f"the output path is under a file ({probe})", "choose a path under a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise _refuse(target, f"cannot write to {probe} (permission denied)", "choose a folder you can write to")
    return target


def _mkdir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _refuse(folder, f"cannot create the folder ({err.strerror or 'error'})",
                      "choose a folder you can write to") from None


Content = bytes | str | Iterable[str]
"""An artifact: its bytes or text, or its text as chunks written as they come (a large cabling plan), which
`replace_tree` still swaps in whole: a failure while streaming leaves the old output untouched."""


def _write_file(path: Path, raw: Content, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    with os.fdopen(fd, "wb") as fh:
        if isinstance(raw, bytes | str):
            fh.write(_raw(raw))
        else:
            for chunk in raw:
                fh.write(chunk.encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _raw(data: bytes | str) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Replace `path` with `data` in one step; on any failure the old file is untouched."""
    target = check_output(path, folder=False)
    _mkdir(target.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        raise _refuse(target, f"cannot write the file ({err.strerror or 'error'})",
                      "choose a folder you can write to") from None
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(_raw(data))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise _refuse(target, f"cannot write the file ({err.strerror or 'error'})",
                      "check the path, its permissions and the free space") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_tree(out_dir: str | os.PathLike[str], files: Mapping[str, bytes | str]) -> list[Path]:
    """Write a set of artifacts into the shared folder `out_dir`: all are rendered in memory first, so a
    failure while rendering writes nothing; each file is then replaced atomically. Returns the paths written,
    sorted."""
    root = check_output(out_dir, folder=True)
    written = []
    for name in sorted(files):
        dest = root / name
        atomic_write(dest, files[name])
        written.append(dest)
    return written


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step with renameat2(RENAME_EXCHANGE); False where the system cannot."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (38, 22, 95):  # ENOSYS, EINVAL (file system without exchange), EOPNOTSUPP
        return False
    raise OSError(err, os.strerror(err), str(b))


def _leftovers(root: Path) -> tuple[list[Path], list[Path]]:
    prefix = f".{root.name}"
    try:
        names = os.listdir(root.parent)
    except OSError:
        return [], []
    tmps = sorted(root.parent / n for n in names if n.startswith(prefix + _TMP))
    olds = sorted(root.parent / n for n in names if n.startswith(prefix + _OLD))
    return tmps, olds


def cleanup(root: Path) -> None:
    """Undo what an interrupted `replace_tree` into `root` left: an old output renamed aside comes back when
    `root` is missing; every other temporary folder is removed."""
    tmps, olds = _leftovers(root)
    if not root.exists() and olds:
        os.rename(olds.pop(), root)
    for leftover in tmps + olds:
        shutil.rmtree(leftover, ignore_errors=True)


def _earlier_output(root: Path, files: Mapping[str, Content]) -> bool:
    """Whether a folder without the marker may be replaced all the same: it is empty, or it holds only files
    that the new output writes too (an output of an aifactory from before the marker)."""
    names = {str(Path(n)) for n in files}
    dirs = {str(p) for n in names for p in Path(n).parents if str(p) != "."}
    for here, subdirs, found in os.walk(root):
        rel = Path(here).relative_to(root)
        if any(str(rel / d) not in dirs for d in subdirs) or any(str(rel / f) not in names for f in found):
            return False
    return True


def replace_tree(out_dir: str | os.PathLike[str], files: Mapping[str, Content]) -> list[Path]:
    """Make `out_dir` hold exactly `files` (plus the marker), swapped in as a whole; see the module doc.
    Returns the paths of the files, sorted, under `out_dir`."""
    root = check_output(out_dir, folder=True)
    for name in files:
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts or name in ("", MARKER):
            raise ValueError(f"bad artifact name {name!r}")  # a bug in the caller, not user input
    _mkdir(root.absolute().parent)
    cleanup(root)
    if root.is_dir() and not (root / MARKER).is_file() and not _earlier_output(root, files):
        raise _refuse(root, "the output folder holds files aifactory did not write, and would be replaced",
                      "choose a new or empty folder (aifactory replaces the whole folder it writes)")
    mode = _file_mode()
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}{_TMP}", dir=root.absolute().parent))
    except OSError as err:
        raise _refuse(root, f"cannot write beside the output folder ({err.strerror or 'error'})",
                      "choose a folder you can write to") from None
    delay = float(os.environ.get(_SLOW_ENV, "0") or 0)
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        for name in sorted(files):
            dest = tmp / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            _write_file(dest, files[name], mode)
            if delay:
                time.sleep(delay)
        _write_file(tmp / MARKER, b"written by aifactory; this folder is replaced as a whole on each run\n", mode)
        _fsync_dir(tmp)
        if not root.exists():
            os.rename(tmp, root)
        elif _exchange(tmp, root):
            shutil.rmtree(tmp)  # now the old output
        else:
            aside = root.absolute().parent / f".{root.name}{_OLD}{os.urandom(6).hex()}"
            os.rename(root, aside)  # rename(2) cannot replace a non-empty folder: move the old one aside first
            try:
                os.rename(tmp, root)  # a death between the two renames: the next run's cleanup() puts it back
            except BaseException:
                os.rename(aside, root)
                raise
            shutil.rmtree(aside)
        _fsync_dir(root.absolute().parent)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _refuse(root, f"cannot write the output ({err.strerror or 'error'})",
                      "check the folder, its permissions and the free space") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [root / name for name in sorted(files)]
