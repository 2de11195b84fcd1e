"""Storage layer objects a CSI driver can provision: every required parameter from the blueprint, refused on the
YAML line when missing; tenant volumes that never shrink; a MinIO that can start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aifactory.blueprint import load_blueprint
from aifactory.blueprint.storage import CSI_REQUIRED
from aifactory.errors import UserError
from aifactory.render.k8s.context import Ctx
from aifactory.render.k8s.graph import dependency_graph, object_key, release_key
from aifactory.render.k8s.storage import MINIO_SECRET, VAST_NS, VAST_SECRET, WEKA_NS, WEKA_SECRET, csi_parameters
from aifactory.render.kubernetes import build

REPO = Path(__file__).resolve().parents[2]
# mi300x-roce (VAST): its chart renders the class (test_vast_chart_renders_exactly_our_class).
K8S_BLUEPRINTS = ("dgx-h100-superpod", "dgx-h200-sovereign-eu", "edge-l40s-inference")
# The parameters each driver refuses to provision without (see aifactory.blueprint.storage.CSI_REQUIRED).
DRIVER_PARAMETERS = {
    "exa.csi.ddn.com": {"exaFS", "mountPoint"},
    "csi.weka.io": {"volumeType", "filesystemName", "csi.storage.k8s.io/provisioner-secret-name"},
    "csi.vastdata.com": {"root_export", "view_policy", "vip_pool_name"},
    "spectrumscale.csi.ibm.com": {"volBackendFs"},
    "nfs.csi.k8s.io": {"server", "share"},
}


def _objects(path: str, region: str = "test") -> list[dict[str, Any]]:
    return build(load_blueprint(path), region).objects


def _one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (obj,) = [o for o in objects if o["kind"] == kind]
    return obj


# mi300x-roce's VAST keys, dropped when a test puts another file system in its place.
_NO_VAST = "vip_pool: ~, vip_pool_name: ~, root_export: ~, view_policy: ~, vms_endpoint: ~"
_NO_NFS = "server: ~, export: ~"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("blueprint", K8S_BLUEPRINTS)
def test_storage_class_has_every_parameter_its_driver_needs(blueprint: str) -> None:
    sc = _one(_objects(blueprint), "StorageClass")
    params = sc["parameters"]
    assert DRIVER_PARAMETERS[sc["provisioner"]] <= set(params)
    assert all(isinstance(v, str) and v for v in params.values()), params
    assert "WaitForFirstConsumer" == sc["volumeBindingMode"]


def test_lustre_exafs_is_the_mgs_nids_and_file_system() -> None:
    params = _one(_objects("dgx-h100-superpod"), "StorageClass")["parameters"]
    assert {"exaFS": "10.2.255.250@o2ib:10.2.255.251@o2ib:/fs1", "mountPoint": "/lustre"} == params


@pytest.mark.parametrize(
    ("base", "fs_type", "field"),
    [(base, t, f) for base, t in (("mi300x-roce", "vast"), ("edge-l40s-inference", "nfs"),
                                  ("dgx-h100-superpod", "lustre")) for f, _ in CSI_REQUIRED[t]],
)
def test_a_missing_csi_parameter_is_refused_on_its_line(tmp_path: Path, base: str, fs_type: str, field: str) -> None:
    empty = "[]" if field == "backend_hosts" else '""'
    path = _write(tmp_path, f"extends: {base}\nname: site\nstorage:\n  filesystem:\n    {field}: {empty}\n")
    with pytest.raises(UserError) as err:
        load_blueprint(str(path))
    text = str(err.value)
    assert "site.yaml:5" in text and f"storage.filesystem.{field}" in text and "add `" in text


@pytest.mark.parametrize("fs", ["weka", "storage-scale"])
def test_other_drivers_need_their_names_too(tmp_path: Path, fs: str) -> None:
    block = (
        f"{{type: weka, capacity: 1PB, read_throughput: 100GB/s, write_throughput: 50GB/s, {_NO_VAST}}}"
        if fs == "weka"
        else f"{{type: storage-scale, capacity: 1PB, read_throughput: 100GB/s, write_throughput: 50GB/s, {_NO_VAST}}}"
    )
    path = _write(tmp_path, f"extends: mi300x-roce\nname: site\nstorage:\n  filesystem: {block}\n")
    with pytest.raises(UserError) as err:
        load_blueprint(str(path))
    missing = {f for f, _ in CSI_REQUIRED[fs]}
    assert all(f"storage.filesystem.{f}" in str(err.value) for f in missing)


_WEKA_PIN = 'software:\n  charts:\n    csi-wekafsplugin: {version: "2.8.8", repository: "https://weka.github.io/csi-wekafs"}\n'
_WEKA = (  # without the closing brace: each base drops its own file system's keys
    "{type: weka, capacity: 1PB, read_throughput: 100GB/s, write_throughput: 50GB/s, filesystem_name: k8s, "
    "backend_hosts: [weka01.site.example]"
)
_WEKA_EDGE = _WEKA + f", {_NO_NFS}}}"


def _csi_releases(rendered: Any) -> list[Any]:
    return [r for r in rendered.releases if r.provides_csi]


def test_nfs_class_waits_for_the_csi_driver_release() -> None:
    rendered = build(load_blueprint("edge-l40s-inference"), "test")
    (release,) = _csi_releases(rendered)
    assert ("csi-driver-nfs", "4.13.4", "kube-system") == (release.chart, release.version, release.namespace)
    sc = _one(rendered.objects, "StorageClass")
    assert (sc["provisioner"],) == release.provides_csi
    graph = dependency_graph(rendered)
    assert release_key(release) in graph.deps[object_key(sc)]
    claims = [o for o in rendered.objects if o["kind"] == "PersistentVolumeClaim"]
    assert claims and all(object_key(sc) in graph.deps[object_key(c)] for c in claims)
    order = graph.order
    assert order.index(release_key(release)) < order.index(object_key(sc))


def test_weka_driver_release_goes_to_the_api_secret_namespace(tmp_path: Path) -> None:
    text = f"extends: edge-l40s-inference\nname: site\nstorage:\n  filesystem: {_WEKA_EDGE}\n{_WEKA_PIN}"
    rendered = build(load_blueprint(str(_write(tmp_path, text))), "x")
    (release,) = _csi_releases(rendered)
    assert ("csi-wekafsplugin", WEKA_NS, ("csi.weka.io",)) == (release.chart, release.namespace, release.provides_csi)
    assert "csi-driver-nfs" not in {r.chart for r in rendered.releases}  # only the blueprint's file system's
    graph = dependency_graph(rendered)
    assert f"Namespace//{WEKA_NS}" in graph.deps[release_key(release)]
    assert release_key(release) in graph.deps[object_key(_one(rendered.objects, "StorageClass"))]


def test_a_file_system_driver_without_a_pin_is_refused(tmp_path: Path) -> None:
    text = f"extends: edge-l40s-inference\nname: site\nstorage:\n  filesystem: {_WEKA_EDGE}\n"
    with pytest.raises(UserError) as err:
        build(load_blueprint(str(_write(tmp_path, text))), "x")
    message = str(err.value)
    assert "CSI driver csi.weka.io" in message and "'csi-wekafsplugin' pin" in message
    assert "mlops.components." not in message  # no flag turns the file system's driver off


def test_exascaler_class_waits_for_the_chart_the_site_serves() -> None:
    rendered = build(load_blueprint("dgx-h100-superpod"), "test")
    (release,) = _csi_releases(rendered)
    # The chart is in DDN's source tree only: the release pulls it from the site's helm mirror.
    assert ("exa-csi", "2.9.0", "kube-system") == (release.chart, release.version, release.namespace)
    assert "https://charts.superpod.example.com" == release.repository
    sc = _one(rendered.objects, "StorageClass")
    assert (sc["provisioner"],) == release.provides_csi
    # The driver may mount only what its config Secret lists: the class's file system, and no example one.
    (entry,) = release.values["config"]["exascaler_map"].values()
    assert (sc["parameters"]["exaFS"], sc["parameters"]["mountPoint"]) == (entry["exaFS"], entry["mountPoint"])
    assert "10.2.255.250@o2ib:10.2.255.251@o2ib:/fs1" == entry["exaFS"]
    graph = dependency_graph(rendered)
    assert release_key(release) in graph.deps[object_key(sc)]
    assert graph.order.index(release_key(release)) < graph.order.index(object_key(sc))


@pytest.mark.parametrize(
    "repository",
    ['"https://github.com/DDNStorage/exa-csi-driver"', '"https://charts.aifactory.example.de"', '""'],
)
def test_exascaler_chart_from_no_repository_of_the_site_is_refused(tmp_path: Path, repository: str) -> None:
    # Upstream's source tree, another site's mirror, or nothing: none of them serves the chart at `pulumi up`.
    text = ("extends: dgx-h100-superpod\nname: site\nsoftware:\n  charts:\n"
            f'    exa-csi: {{version: "2.9.0", repository: {repository}}}\n')
    path = _write(tmp_path, text)
    with pytest.raises(UserError) as err:
        load_blueprint(str(path))
    message = str(err.value)
    assert "site.yaml:5" in message and "software.charts.exa-csi" in message
    assert "https://charts.superpod.example.com" in message  # the fix names this site's helm mirror
    proc = subprocess.run(
        [sys.executable, "cli.py", "validate", str(path)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert 2 == proc.returncode, proc.stderr
    assert "site.yaml:5" in proc.stderr and "Traceback" not in proc.stderr


def test_exascaler_chart_from_the_sites_oci_mirror_is_pulled_as_named(tmp_path: Path) -> None:
    # An OCI path on the sovereign site's own registry: used as it is, not rewritten into a mirror path again.
    repo = "oci://registry.aifactory.example.de/charts/ddn"
    text = ("extends: dgx-h200-sovereign-eu\nname: site\nsoftware:\n  charts:\n"
            f'    exa-csi: {{version: "2.9.0", repository: "{repo}"}}\n')
    (release,) = _csi_releases(build(load_blueprint(str(_write(tmp_path, text))), "de-stuttgart"))
    assert repo == release.repository
    other = text.replace("registry.aifactory.example.de", "registry.superpod.example.com")
    with pytest.raises(UserError, match="not a chart repository of this site"):
        load_blueprint(str(_write(tmp_path, other)))


def test_exascaler_without_a_pin_names_the_site_repository(tmp_path: Path) -> None:
    text = "extends: dgx-h100-superpod\nname: site\nsoftware:\n  charts:\n    exa-csi: ~\n"
    path = _write(tmp_path, text)
    with pytest.raises(UserError) as err:
        build(load_blueprint(str(path)), "x")
    message = str(err.value)
    assert "CSI driver exa.csi.ddn.com" in message and "'exa-csi' pin" in message and "helm` mirror" in message


def test_vast_chart_renders_exactly_our_class() -> None:
    # vastcsi 2.5.0's template fails on an empty `storageClasses` and cannot be told to render none: the chart
    # owns the class, with the parameters the storage layer would have given it, and the storage layer renders
    # no StorageClass of its own.
    loaded = load_blueprint("mi300x-roce")
    rendered = build(loaded, "test")
    assert not [o for o in rendered.objects if o["kind"] == "StorageClass"]
    (release,) = _csi_releases(rendered)
    assert ("vastcsi", "2.5.0", VAST_NS) == (release.chart, release.version, release.namespace)
    assert ("csi.vastdata.com",) == release.provides_csi and ("vast-shared",) == release.provides_classes
    ((name, options),) = release.values["storageClasses"].items()
    # The chart's template: storagePath -> root_export, viewPolicy -> view_policy, vipPool -> vip_pool_name.
    ours = csi_parameters(Ctx(loaded, "test"))
    chart = {"root_export": options["storagePath"], "view_policy": options["viewPolicy"],
             "vip_pool_name": options["vipPool"]}
    assert ours == chart and ("Retain", True) == (options["reclaimPolicy"], options["allowVolumeExpansion"])
    claims = [o for o in rendered.objects if o["kind"] == "PersistentVolumeClaim"]
    assert claims and all(c["spec"]["storageClassName"] == name for c in claims)
    graph = dependency_graph(rendered)
    assert all(release_key(release) in graph.deps[object_key(c)] for c in claims)


def test_vast_driver_logs_in_to_the_vms_with_its_secret() -> None:
    rendered = build(load_blueprint("mi300x-roce"), "test")
    (release,) = _csi_releases(rendered)
    assert "vms.vast.mi300x.example.com" == release.values["endpoint"]
    assert VAST_SECRET == release.values["secretName"]
    (spec,) = [s for s in rendered.secrets if s.name == VAST_SECRET]
    assert VAST_NS == spec.namespace and "storage" == spec.layer == release.layer
    assert {("username", "vast_vms_username"), ("password", "vast_vms_password")} == {
        (k.key, k.secret) for k in spec.keys
    }
    deps = dependency_graph(rendered).deps[release_key(release)]
    assert f"Namespace//{VAST_NS}" in deps and f"Secret/{VAST_NS}/{VAST_SECRET}" in deps


def test_vast_under_kubernetes_needs_its_vms_endpoint(tmp_path: Path) -> None:
    path = _write(tmp_path, "extends: mi300x-roce\nname: site\nstorage:\n  filesystem:\n    vms_endpoint: ''\n")
    with pytest.raises(UserError) as err:
        load_blueprint(str(path))
    assert "site.yaml:5" in str(err.value) and "storage.filesystem.vms_endpoint" in str(err.value)


def test_minio_waits_for_the_class_its_claims_name() -> None:
    rendered = build(load_blueprint("edge-l40s-inference"), "test")
    (sts,) = [o for o in rendered.objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "minio"]
    (template,) = sts["spec"]["volumeClaimTemplates"]
    key = f"StorageClass//{template['spec']['storageClassName']}"
    assert key == object_key(_one(rendered.objects, "StorageClass"))  # the file system's class
    assert key in dependency_graph(rendered).deps[object_key(sts)]


def test_weka_class_and_api_secret(tmp_path: Path) -> None:
    block = (
        "{type: weka, capacity: 1PB, read_throughput: 100GB/s, write_throughput: 50GB/s, filesystem_name: k8s, "
        f"backend_hosts: [weka01.site.example, weka02.site.example], {_NO_VAST}}}"
    )
    text = f"extends: mi300x-roce\nname: site\nstorage:\n  filesystem: {block}\n{_WEKA_PIN}"
    loaded = load_blueprint(str(_write(tmp_path, text)))
    rendered = build(loaded, "x")
    params = _one(rendered.objects, "StorageClass")["parameters"]
    assert ("dir/v1", "k8s") == (params["volumeType"], params["filesystemName"])
    (secret,) = [s for s in rendered.secrets if s.name == WEKA_SECRET]
    assert params["csi.storage.k8s.io/node-publish-secret-namespace"] == secret.namespace
    assert {"username", "password"} == {k.key for k in secret.keys}
    assert ("endpoints", "weka01.site.example:14000,weka02.site.example:14000") in secret.plain
    assert secret.namespace in {o["metadata"]["name"] for o in rendered.objects if o["kind"] == "Namespace"}


def test_slurm_only_blueprints_need_no_csi_parameters() -> None:
    bp = load_blueprint("gb200-nvl72").model  # VAST without CSI fields, no Kubernetes
    assert "" == bp.storage.filesystem.view_policy  # type: ignore[union-attr]


def test_validate_exits_2_naming_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "extends: mi300x-roce\nname: site\nstorage:\n  filesystem:\n    view_policy: ''\n")
    proc = subprocess.run(
        [sys.executable, "cli.py", "validate", str(path)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert 2 == proc.returncode, proc.stderr
    assert "site.yaml:5" in proc.stderr and "Traceback" not in proc.stderr


def test_tenant_volumes_do_not_follow_gpu_shares(tmp_path: Path) -> None:
    def sizes(text: str) -> dict[str, str]:
        objects = _objects(str(_write(tmp_path, text)))
        return {
            o["metadata"]["namespace"]: o["spec"]["resources"]["requests"]["storage"]
            for o in objects
            if o["kind"] == "PersistentVolumeClaim"
        }

    before = sizes("extends: dgx-h100-superpod\nname: site\n")
    shifted = sizes(
        "extends: dgx-h100-superpod\nname: site\nmlops:\n  tenants:\n"
        "    - {name: research, gpus: 8, namespace: research}\n"
        "    - {name: production, gpus: 240, namespace: production}\n"
    )
    assert before == shifted
    fs_capacity = load_blueprint("dgx-h100-superpod").model.storage.filesystem.capacity
    assert {f"{fs_capacity // 2**30}Gi"} == set(before.values())
    explicit = sizes(
        "extends: dgx-h100-superpod\nname: site\nmlops:\n  tenants:\n"
        "    - {name: research, gpus: 184, namespace: research, shared_storage: 1PB}\n"
        "    - {name: production, gpus: 64, namespace: production}\n"
    )
    assert f"{10**15 // 2**30}Gi" == explicit["research"]


def test_a_tenant_volume_over_the_file_system_is_refused(tmp_path: Path) -> None:
    text = (
        "extends: dgx-h100-superpod\nname: site\nmlops:\n  tenants:\n"
        "    - {name: research, gpus: 184, namespace: research, shared_storage: 5PB}\n"
    )
    with pytest.raises(UserError) as err:
        load_blueprint(str(_write(tmp_path, text)))
    assert "site.yaml:5" in str(err.value) and "mlops.tenants.0.shared_storage" in str(err.value)


def test_minio_can_start() -> None:
    rendered = build(load_blueprint("dgx-h200-sovereign-eu"), "de")
    sts = _one(rendered.objects, "StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    env = {e["name"] for e in pod["containers"][0]["env"]}
    # key_ref is set but no KES server: no KMS key (MinIO refuses to start with a key name and no KES).
    assert not any(name.startswith("MINIO_KMS") for name in env)
    assert {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"} <= env
    (secret,) = [s for s in rendered.secrets if s.name == MINIO_SECRET]
    assert {"user", "password"} == {k.key for k in secret.keys}
    claim = sts["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == _one(rendered.objects, "StorageClass")["metadata"]["name"]
    (term,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert "kubernetes.io/hostname" == term["topologyKey"]
    assert term["labelSelector"]["matchLabels"].items() <= sts["spec"]["template"]["metadata"]["labels"].items()
    assert sts["spec"]["replicas"] > 1


def test_minio_with_kes(tmp_path: Path) -> None:
    text = (
        "extends: dgx-h200-sovereign-eu\nname: site\nstorage:\n  object_store:\n"
        "    kes_endpoint: https://kes.site.example:7373\n    storage_class: local-nvme\n"
    )
    rendered = build(load_blueprint(str(_write(tmp_path, text))), "de")
    sts = _one(rendered.objects, "StatefulSet")
    env = {e["name"]: e for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "https://kes.site.example:7373" == env["MINIO_KMS_KES_ENDPOINT"]["value"]
    assert "hsm-de/minio" == env["MINIO_KMS_KES_KEY_NAME"]["value"]
    assert {"name": MINIO_SECRET, "key": "kes-api-key"} == env["MINIO_KMS_KES_API_KEY"]["valueFrom"]["secretKeyRef"]
    (secret,) = [s for s in rendered.secrets if s.name == MINIO_SECRET]
    assert "kes-api-key" in {k.key for k in secret.keys}
    assert "local-nvme" == sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"]


@pytest.mark.parametrize("blueprint", ["dgx-h100-superpod", "edge-l40s-inference"])
def test_kube_system_drivers_render_no_namespace_for_it(blueprint: str) -> None:
    # csi-driver-nfs and exa-csi install into kube-system: creating that Namespace would fail at `pulumi up`.
    rendered = build(load_blueprint(blueprint), "test")
    assert {"kube-system"} == {r.namespace for r in _csi_releases(rendered)}
    assert "kube-system" not in {o["metadata"]["name"] for o in rendered.objects if o["kind"] == "Namespace"}
    (release,) = _csi_releases(rendered)
    assert "Namespace//kube-system" not in dependency_graph(rendered).deps[release_key(release)]
