"""Contract: each chart image the bundle lists (aifactory/bundle/images.py) is the image the pinned chart's
own values.yaml names at that path (tests/data/charts, kept with their source in its README), at the chart's
tag (its default tag, else its appVersion or version, which the charts use for an empty tag, else the release
tag their pipeline stamps in). Images our values re-point (the Kueue and JobSet release images, NFD's tag) are
checked against the values the release sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from aifactory.bundle.images import CHART_IMAGES, ChartImage, split
from tests.kubernetes.test_upstream_values import CHARTS, PROMOTED, SUBCHARTS, _qualified

# (chart, path): our values set the tag, pinned in render/k8s/images.py (tests/kubernetes checks the values).
TAG_SET_BY_US = {("kueue", "controllerManager.manager.image"), ("gpu-operator", "node-feature-discovery.image"),
                 ("kubeflow-trainer", "jobset.image")}  # fmt: skip
ENTRIES = [(chart, version, entry) for chart, (version, entries) in CHART_IMAGES.items() for entry in entries]


def _load(folder: Path) -> tuple[Any, dict[str, Any]]:
    return (yaml.safe_load((folder / "values.yaml").read_text()) or {},
            yaml.safe_load((folder / "Chart.yaml").read_text()))  # fmt: skip


def _upstream(chart: str, version: str, path: str) -> tuple[Any, Any, dict[str, Any], Any]:
    """(node at path, its parent, the Chart.yaml that owns it, the top of its values)."""
    keys = path.split(".")
    folder = CHARTS / f"{chart}-{version}"
    # A parent chart's values override its subchart's (Helm merges them so): read the parent's where it sets one.
    if (chart, keys[0]) in SUBCHARTS and not _reference(_at(_load(folder)[0], keys)):
        folder, keys = CHARTS / SUBCHARTS[(chart, keys[0])], keys[1:]
    values, meta = _load(folder)
    parent, node = None, values
    for key in keys:
        assert isinstance(node, dict) and key in node, f"{chart} {version}: no default at {path}"
        parent, node = node, node[key]
    return node, parent, meta, values


def _at(node: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _reference(node: Any) -> bool:
    """Whether a values node names an image on its own (a parent's partial override, e.g. a pull policy, does not)."""
    return isinstance(node, str) or (isinstance(node, dict) and bool({"repository", "image"} & set(node)))


def _name_and_tags(chart: str, node: Any, parent: Any, top: Any) -> tuple[str, set[str]]:
    if isinstance(node, str):
        registry, rest, tag = split(_qualified(node))
        # A tag kept beside a bare reference (volcano `image_tag_version`; csi-wekafsplugin `csidriverTag`, which
        # its node and controller templates write as `:v{{ csidriverTag }}`).
        siblings = {str(v) for k, v in (parent or {}).items() if str(k).lower().endswith(("tag", "tag_version"))}
        siblings |= {f"v{v.lstrip('v')}" for v in siblings}
        return f"{registry}/{rest}", ({tag} if tag else set()) | siblings
    tags = {str(node[k]) for k in ("tag", "version") if node.get(k)}
    if node.get("registry"):
        repository = node["repository"] if "/" in node["repository"] else f"library/{node['repository']}"
        return f"{node['registry']}/{repository}", tags
    if str(node.get("repository", "")).startswith("/"):  # csi-driver-nfs: `image.baseRepo` + repository
        return f"{top['image']['baseRepo']}{node['repository']}", tags
    if chart == "cert-manager":  # imageRegistry / imageNamespace / image.name
        return f"{top['imageRegistry']}/{top['imageNamespace']}/{node['name']}", tags
    if node.get("image") and node.get("repository"):
        return f"{node['repository']}/{node['image']}", tags
    if node.get("image"):
        return _qualified(node["image"]), tags
    return _qualified(node["repository"]), tags


@pytest.mark.parametrize(("chart", "version", "entry"), ENTRIES, ids=[f"{c}-{e.path}" for c, _, e in ENTRIES])
def test_chart_image_is_the_charts_own(chart: str, version: str, entry: ChartImage) -> None:
    node, parent, meta, top = _upstream(chart, version, entry.path)
    name, tags = _name_and_tags(chart, node, parent, top)
    name = PROMOTED.get((chart, f"{entry.path}.repository"), name)
    registry, path, tag = split(entry.default)
    assert name == f"{registry}/{path}", f"{chart} {entry.path}"
    if (chart, entry.path) in TAG_SET_BY_US:
        return
    # An empty tag: the chart's appVersion, as is or with a `v` (kube-state-metrics, node-exporter), or the
    # release tag the chart's pipeline stamps in (the placeholder versions of tests/data/charts/README.md).
    app = str(meta.get("appVersion"))
    stamped = {app, f"v{app}", str(meta.get("version")), version, f"v{version.lstrip('v')}"}
    assert tag in (tags or stamped), f"{chart} {entry.path}: {tag!r} not in {sorted(tags or stamped)}"


def test_every_pinned_chart_is_catalogued() -> None:
    """Each chart folder kept as upstream data (one per pinned chart) has its images listed."""
    kept = {p.name for p in CHARTS.iterdir() if (p / "Chart.yaml").is_file()}
    listed = {f"{chart}-{version}" for chart, (version, _) in CHART_IMAGES.items()}
    assert kept == listed
