"""Write the hostile cases that are bytes rather than text, or too big to commit.

    python tests/hostile/generate.py DEST   # writes DEST/cases/<name>.yaml for each case below

The corpus test calls `write_generated()` on its temporary copy of this folder; `expected.yaml` lists these
cases with the rest. Each case is a small recipe so a reader sees exactly which bytes are fed to the loader.
"""

from __future__ import annotations

import sys
from pathlib import Path

HEAD = b"extends: ../bases/good.yaml\n"


def _deep_mapping(levels: int) -> bytes:
    # Block mappings nested far past the loader's depth limit (and past Python's recursion limit in PyYAML).
    lines = [" " * i + f"k{i}:" for i in range(levels)]
    return HEAD + b"fabric:\n  nccl:\n" + "\n".join("    " + ln for ln in lines).encode() + b" 1\n"


GENERATED: dict[str, bytes] = {
    # A PNG signature and header: NUL bytes on line 3 (the signature holds two line breaks).
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
    # Valid YAML except one Latin-1 byte (e-acute) on line 2.
    "latin1": HEAD + b"description: Caf\xe9 factory\n",
    # UTF-16 with a BOM: every ASCII character is followed by a NUL, so it reads as binary on line 1.
    "utf16": "apiVersion: aifactory/v1\nkind: Blueprint\n".encode("utf-16"),
    # A text file with one NUL byte on line 4.
    "nul-inside": HEAD + b"name: fine\ndescription: also fine\nos: deb\x00ian\n",
    # Just over the 1 MiB size limit, made of comments so only the size is wrong.
    "oversize": HEAD + b"# padding\n" * (110_000),
    # Nested 600 levels deep: the limit is 48 below the top level, so the error names line 51.
    "deep-nesting": _deep_mapping(600),
    # 400,000 nested flow sequences (under the size limit): libyaml's recursive composer crashed on these.
    "deep-flow": HEAD + b"x: " + b"[" * 400_000 + b"]" * 400_000 + b"\n",
}


def write_generated(dest: Path) -> list[Path]:
    """Write every generated case under `dest/cases/`; returns the paths written."""
    out = []
    for name, data in GENERATED.items():
        path = dest / "cases" / f"{name}.yaml"
        path.write_bytes(data)
        out.append(path)
    return out


if __name__ == "__main__":
    for written in write_generated(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)):
        print(written)
