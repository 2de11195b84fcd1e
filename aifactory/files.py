"""The one way a command reads a file the user named: a small regular file, or a located refusal.

Every input (blueprints, stack files, `extends:` targets, policy configs, baselines, burn-in reports and
thresholds) is read here, so one set of rules holds for all of them: the name is a real path (no NUL byte, not
too long, no symlink loop), it is a regular file (never a FIFO, which would block; a device, which never ends;
a directory; or a file under /proc, /sys or /dev, whose sizes lie), and it is at most `limit` bytes. Each
refusal is a UserError naming the file and the fix, so the CLI exits 2 rather than with an OSError's exit 3.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from aifactory.errors import Location, UserError

# Pseudo file systems: their files claim size 0 (or are endless) and describe the machine, not the design.
_PSEUDO = ("/proc", "/sys", "/dev")


def _why(err: OSError) -> tuple[str, str]:
    """An OSError as the user's problem and its fix."""
    if err.errno == errno.ELOOP:
        return "the path is a symlink loop", "point the symlink at a real file"
    if err.errno == errno.ENAMETOOLONG:
        return "the path is too long for the file system", "use a shorter path"
    if err.errno == errno.ENOENT:
        return "no such file", "check the path"
    if err.errno == errno.EISDIR:
        return "the path is a directory, not a file", "name the file inside it"
    if err.errno in (errno.EACCES, errno.EPERM):
        return "permission denied", "check the file's permissions"
    return f"cannot read the file ({err.strerror or 'unknown error'})", "check the path and its permissions"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_name(path: Path | str, display: str) -> None:
    """Refuse a name no file can have (a NUL byte) before any system call sees it."""
    if "\x00" in str(path):
        raise UserError.at(Location(display.replace("\x00", "\\0")), "the path contains a NUL byte",
                           "remove the NUL byte from the path")


def _pseudo(path: Path) -> bool:
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return False
    return any(real == root or real.startswith(root + "/") for root in _PSEUDO)


def _open_regular(path: Path, display: str, what: str, fix: str) -> tuple[int, os.stat_result]:
    """An open descriptor on the regular file `path`, and its stat; a UserError at `display` for anything else
    (a pseudo-file, a FIFO, a device, a folder, a missing file). The caller closes the descriptor."""
    check_name(path, display)
    if _pseudo(path):
        raise UserError.at(Location(display), f"the {what} is under /proc, /sys or /dev, not a regular file",
                           "give a file inside the repository")
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; the fstat below then refuses it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        problem, hint = _why(err)
        missing = err.errno == errno.ENOENT
        message = f"{problem} (or not a regular file)" if missing else f"cannot read the {what}: {problem}"
        raise UserError.at(Location(display), message, hint) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UserError.at(Location(display), f"the {what} is {_kind(info.st_mode)}, not a regular file", fix)
    return fd, info


def read_bytes(path: Path, display: str, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file `path` (at most `limit`); a UserError at `display` for anything else."""
    fd, info = _open_regular(path, display, what, "give a regular file")
    try:
        if info.st_size > limit:
            raise UserError.at(Location(display, 1), f"the {what} is {info.st_size} bytes, over the {limit}-byte "
                               "limit", f"keep the {what} under {limit} bytes")
        data = _read_fd(fd, limit + 1, display, what)
    finally:
        os.close(fd)
    if len(data) > limit:  # the file grew after fstat
        raise UserError.at(Location(display, 1), f"the {what} is over the {limit}-byte limit",
                           f"keep the {what} under {limit} bytes")
    return data


def read_head(path: Path, display: str, most: int, what: str = "file") -> bytes:
    """The first `most` bytes of the regular file `path`, whatever its size (to tell what kind of file it is);
    the same refusals as `read_bytes` for anything that is not a regular file."""
    fd, _ = _open_regular(path, display, what, "give a regular file, or remove it from the folder")
    try:
        return _read_fd(fd, most, display, what)
    finally:
        os.close(fd)


def _read_fd(fd: int, most: int, display: str, what: str) -> bytes:
    chunks: list[bytes] = []
    left = most
    while left > 0:
        try:
            chunk = os.read(fd, min(left, 1 << 20))
        except OSError as err:
            problem, fix = _why(err)
            raise UserError.at(Location(display), f"cannot read the {what}: {problem}", fix) from None
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def is_file(path: Path) -> bool:
    """`Path.is_file()` that answers False, instead of raising, for a NUL byte or an over-long name."""
    try:
        return "\x00" not in str(path) and path.is_file()
    except (OSError, ValueError):
        return False


def present(path: Path, display: str) -> bool:
    """Whether something is at `path` (a dangling or looping symlink counts: reading it then says why)."""
    check_name(path, display)
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    except (OSError, ValueError):  # too long a name, a loop in a parent: reading it says why
        return True
    return True


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _key_lines(text: str, key: str) -> list[int]:
    import json
    import re

    pattern = re.compile(re.escape(json.dumps(key)) + r"\s*:")
    return [text.count("\n", 0, m.start()) + 1 for m in pattern.finditer(text)]


def load_json(path: Path, display: str, limit: int, what: str) -> object:
    """Strict RFC 8259 JSON from a file: NaN, Infinity and -Infinity are refused, as is a file that is too
    big or nests too deep for the parser, and an object with a key twice (readers disagree on which wins)."""
    import json

    data = read_bytes(path, display, limit, what)
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant, object_pairs_hook=_unique)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise UserError.at(Location(display, line), f"the {what} is not valid UTF-8 (byte {err.start})",
                           f"write the {what} as UTF-8 JSON") from None
    except json.JSONDecodeError as err:
        raise UserError.at(Location(display, err.lineno), f"the {what} is not valid JSON: {err.msg}",
                           f"write the {what} as strict JSON") from None
    except _DuplicateKey as err:
        lines = _key_lines(data.decode("utf-8"), err.key)
        where = f" (lines {', '.join(map(str, lines[:4]))})" if len(lines) > 1 else ""
        raise UserError.at(Location(display, lines[1] if len(lines) > 1 else 0),
                           f"the {what} has the key {json.dumps(err.key)} twice in one object{where}",
                           "keep one of the two; readers disagree on which one wins") from None
    except ValueError as err:  # a NaN/Infinity constant
        raise UserError.at(Location(display), f"the {what} is not strict JSON: {err}",
                           "write finite numbers; JSON has no NaN or Infinity") from None
    except RecursionError:
        raise UserError.at(Location(display), f"the {what} nests too deep",
                           f"flatten the {what}; it needs a handful of levels") from None
