"""Where each artifact lives in a filled mirror folder (the layout `bundle fill` writes, `bundle verify` reads).

- `apt/`: the lab's apt repository layout (`pool/main/FILE.deb`, `dists/SUITE/...`, aifactory/lab/mirror.py);
- `pypi/`: the lab's PEP 503 index (`files/*.whl`, `simple/NAME/index.html`);
- `oci/REGISTRY/PATH/`: one OCI image layout per repository, each tag named in its `index.json`
  (`org.opencontainers.image.ref.name`), as `skopeo copy ... oci:DIR:TAG` writes it;
- `charts/NAME-VERSION.tgz` and `charts/index.yaml`: a Helm chart repository served from a directory;
- `models/NAME/`: model files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aifactory.lab.mirror import sha256_file

__all__ = ["sha256_file"]

REF_NAME = "org.opencontainers.image.ref.name"


def image_dir(root: Path, artifact: Mapping[str, Any]) -> Path:
    return root / "oci" / str(artifact["name"])


def image_digest(layout: Path, tag: str) -> str | None:
    """The manifest digest an OCI layout holds under `tag`, or None."""
    try:
        index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for entry in index.get("manifests", []):
        if entry.get("annotations", {}).get(REF_NAME) == tag:
            digest = entry.get("digest")
            blob = layout / "blobs" / Path(*str(digest).split(":", 1))
            return str(digest) if blob.is_file() and f"sha256:{sha256_file(blob)}" == digest else None
    return None


def deb_file(root: Path, artifact: Mapping[str, Any]) -> Path | None:
    if artifact.get("file"):
        return root / "apt" / "pool" / "main" / Path(artifact["file"]).name
    return None


def wheel_files(folder: Path, artifact: Mapping[str, Any]) -> list[Path]:
    """The wheels of one pin in `folder` (a mirror's `pypi/files`): file names spell the project with `_`
    (PEP 427)."""
    stem = re.sub(r"[-_.]+", "_", artifact["name"]).lower()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.whl")
                  if p.name.lower().startswith(f"{stem}-{artifact['version'].lower()}-"))  # fmt: skip


def chart_file(root: Path, artifact: Mapping[str, Any]) -> Path:
    return root / "charts" / f"{artifact['name']}-{artifact['version']}.tgz"
