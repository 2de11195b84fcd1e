"""Credentials the Kubernetes layer needs come from the stack's Pulumi config secrets, never from the blueprint:
the program creates each Secret from `require_secret` values (so they stay secret), refuses a missing key before
creating anything, and `render --kubernetes` writes only the Secrets' names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from mocks import Recorder, run_stack

from aifactory.blueprint.stackfile import STACKS, load_stack, read_stack
from aifactory.errors import UserError
from aifactory.render.k8s.gitops import REQUIRED_SECRETS, gitops_files
from aifactory.render.kubernetes import build

SECRET = "kubernetes:core/v1:Secret"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how the engine marks a secret value (pulumi.runtime.rpc)
VALUES = {
    "minio_root_user": "zq-user-5e1f",
    "minio_root_password": "zq-password-9b3c-7d21",
    "grafana_admin_password": "zq-grafana-44af-8e90",
    "ufm_address": "zq-ufm-host-3c1d",
    "ufm_username": "zq-ufm-user-77e0",
    "ufm_password": "zq-ufm-password-0f12",
}


def _secrets(rec: Recorder) -> dict[str, dict[str, object]]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in rec.of_type(SECRET)}


def test_secrets_come_from_config_marked_secret() -> None:
    rec = run_stack("de-stuttgart", STACKS, secrets=VALUES)
    secrets = _secrets(rec)
    assert {"grafana-admin", "minio-root", "ufm-secret"} == set(secrets)
    minio = secrets["minio-root"]
    assert "object-store" == minio["metadata"]["namespace"]  # type: ignore[index]
    data = minio["stringData"]
    assert isinstance(data, dict) and SECRET_SIG in data  # marked secret, not plain
    assert {"user": VALUES["minio_root_user"], "password": VALUES["minio_root_password"]} == data["value"]
    grafana = secrets["grafana-admin"]["stringData"]
    assert isinstance(grafana, dict) and SECRET_SIG in grafana
    assert {"admin-user": "admin", "admin-password": VALUES["grafana_admin_password"]} == grafana["value"]


def test_the_ufm_login_comes_from_config_for_ib_kubernetes() -> None:
    # InfiniBand with tenant partitions: the NicClusterPolicy deploys ib-kubernetes, which reads ufm-secret.
    rec = run_stack("us-east", STACKS, secrets=VALUES)
    ufm = _secrets(rec)["ufm-secret"]
    assert "network-operator" == ufm["metadata"]["namespace"]  # type: ignore[index]
    data = ufm["stringData"]
    assert isinstance(data, dict) and SECRET_SIG in data
    assert {"UFM_ADDRESS": VALUES["ufm_address"], "UFM_USERNAME": VALUES["ufm_username"],
            "UFM_PASSWORD": VALUES["ufm_password"], "UFM_HTTP_SCHEMA": "https", "UFM_PORT": "443"} == data["value"]
    policy = next(r for r in rec.of_type("kubernetes:mellanox.com/v1alpha1:NicClusterPolicy"))
    assert "ufm-secret" == policy.inputs["spec"]["ibKubernetes"]["ufmSecret"]
    secret = next(r.name for r in rec.of_type(SECRET) if r.inputs["metadata"]["name"] == "ufm-secret")
    assert secret in rec.depends_on(policy.name)


def test_no_ufm_secret_without_ib_kubernetes() -> None:
    loaded = load_stack(read_stack("fi-kajaani"))  # RoCE: no ib-kubernetes
    assert [] == [s for s in build(loaded, "fi-kajaani").secrets if s.name == "ufm-secret"]


def test_no_other_resource_carries_a_secret_value() -> None:
    rec = run_stack("de-stuttgart", STACKS, secrets=VALUES)
    for r in rec.resources:
        if r.typ == SECRET:
            continue
        text = json.dumps(r.inputs, default=str)
        for value in VALUES.values():
            assert value not in text, (r.typ, r.name)
    # What reads them refers to the Secrets by name.
    minio = next(r for r in rec.of_type("kubernetes:apps/v1:StatefulSet") if r.inputs["metadata"]["name"] == "minio")
    env = minio.inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in env if "valueFrom" in e}
    assert {"name": "minio-root", "key": "password"} == refs["MINIO_ROOT_PASSWORD"]
    prom = next(r for r in rec.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "kube-prometheus-stack")
    assert "grafana-admin" == prom.inputs["values"]["grafana"]["admin"]["existingSecret"]


def test_the_secret_exists_before_what_reads_it() -> None:
    rec = run_stack("de-stuttgart", STACKS, secrets=VALUES)
    order = [r.name for r in rec.resources]
    secret = next(n for n in order if n.endswith("secret-object-store-minio-root"))
    statefulset = next(n for n in order if n.endswith("statefulset-object-store-minio"))
    assert order.index(secret) < order.index(statefulset)


def test_a_missing_secret_stops_the_stack_naming_key_and_command() -> None:
    recorder = Recorder()
    partial = {k: v for k, v in VALUES.items() if k != "minio_root_password"}
    with pytest.raises(UserError) as err:
        run_stack("de-stuttgart", STACKS, recorder=recorder, secrets=partial)
    text = str(err.value)
    assert "aifactory:minio_root_password" in text
    assert "pulumi config set --secret minio_root_password --stack de-stuttgart" in text
    assert "storage.object_store.root_password" in text
    assert "minio_root_user" not in text and "grafana" not in text  # only what is missing
    assert [] == recorder.resources  # nothing created


def test_a_stack_names_its_own_keys(tmp_path: Path) -> None:
    text = (STACKS / "Pulumi.de-stuttgart.yaml").read_text()
    text = text.replace("    site: {", "    storage: {object_store: {type: minio, capacity: 4PB, location: DE, "
                        "root_password: {secret: de_minio_root}}}\n    site: {")
    (tmp_path / "Pulumi.de-stuttgart.yaml").write_text(text)
    (tmp_path / "Pulumi.yaml").write_bytes((STACKS / "Pulumi.yaml").read_bytes())
    values = {**VALUES, "de_minio_root": "zq-custom-1a2b"}
    del values["minio_root_password"]
    rec = run_stack("de-stuttgart", tmp_path, secrets=values)
    assert "zq-custom-1a2b" == _secrets(rec)["minio-root"]["stringData"]["value"]["password"]  # type: ignore[index]


@pytest.mark.parametrize("stack", ["de-stuttgart", "us-east", "fi-kajaani"])
def test_render_writes_names_not_values(stack: str) -> None:
    loaded = load_stack(read_stack(stack))
    rendered = build(loaded, stack)
    files = gitops_files(rendered)
    for name, body in files.items():
        for doc in yaml.safe_load_all(body):
            assert not (isinstance(doc, dict) and doc.get("kind") == "Secret"), name
    required = json.loads(files[REQUIRED_SECRETS])["secrets"]
    by_name = {(s["namespace"], s["name"]): s["keys"] for s in required}
    assert {"secret_store_key": "grafana_admin_password"} == by_name[("monitoring", "grafana-admin")]["admin-password"]
    minio = loaded.model.storage.object_store is not None and loaded.model.storage.object_store.type == "minio"
    assert minio == (("object-store", "minio-root") in by_name)
    if minio:
        assert {"password": {"secret_store_key": "minio_root_password"},
                "user": {"secret_store_key": "minio_root_user"}} == by_name[("object-store", "minio-root")]
    assert REQUIRED_SECRETS not in yaml.safe_load(files["kustomization.yaml"])["resources"]
