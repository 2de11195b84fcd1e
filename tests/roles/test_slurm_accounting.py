"""Slurm accounting as the renderer and the roles make it: off by default (slurm.conf stores nothing), on per
blueprint (slurmdbd on the controller, limits enforced, GPUs counted), tenant accounts with the GPU quota the
Kubernetes renderer gives the same tenants, and slurmdbd.conf (slurm's, 0600) rendered from the role's own
template; the database password's name comes from the blueprint, never its value."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
import yaml

from aifactory.blueprint import load_blueprint
from aifactory.blueprint.model import Blueprint
from aifactory.design import plan
from aifactory.render.group_vars import blueprint_group_vars, slurm_group_vars
from aifactory.render.kubernetes import build
from aifactory.render.slurm import render_slurm
from tests.roles.test_slurm_tools import SLURM_BLUEPRINTS

ROLE = Path(__file__).resolve().parents[2] / "roles" / "slurm_dbd"
ACCOUNTING_LINES = ("AccountingStorageType=", "AccountingStorageHost=", "AccountingStorageTRES=",
                    "AccountingStorageEnforce=")  # fmt: skip


def _with_accounting(bp: Blueprint, **slurm: object) -> Blueprint:
    orch = bp.mlops.orchestrator
    new_slurm = orch.slurm.model_copy(update={"accounting": True, **slurm})  # type: ignore[union-attr]
    mlops = bp.mlops.model_copy(update={"orchestrator": orch.model_copy(update={"slurm": new_slurm})})
    return bp.model_copy(update={"mlops": mlops})


@pytest.mark.parametrize("name", [n for n in SLURM_BLUEPRINTS if n != "lab"])
def test_accounting_is_off_where_the_blueprint_has_none(name: str) -> None:
    bp = load_blueprint(name).model
    variables = slurm_group_vars(bp, plan(bp).hosts)
    assert variables["slurm_common_accounting"] is False
    assert "slurm_dbd_accounts" not in variables
    conf = render_slurm(variables)["slurm.conf"].splitlines()
    assert "JobAcctGatherType=jobacct_gather/none" in conf
    assert not [line for line in conf if line.startswith(ACCOUNTING_LINES)]


def test_the_lab_stores_jobs_in_slurmdbd_on_its_controller() -> None:
    bp = load_blueprint("lab").model
    variables = slurm_group_vars(bp, plan(bp).hosts)
    conf = render_slurm(variables)["slurm.conf"].splitlines()
    assert [
        "AccountingStorageType=accounting_storage/slurmdbd",
        "AccountingStorageHost=slurmctl01",
        "AccountingStoragePort=6819",
        "AccountingStorageTRES=gres/gpu",
        "AccountingStorageEnforce=associations,limits,qos,safe",
        "JobAcctGatherType=jobacct_gather/cgroup",
    ] == [line for line in conf if line.startswith((*ACCOUNTING_LINES, "AccountingStoragePort", "JobAcct"))]
    assert [{"name": "lab", "gpus": 0}] == variables["slurm_dbd_accounts"]


def test_tenant_accounts_get_the_gpu_quota_of_their_kubernetes_namespace() -> None:
    # A blueprint running both orchestrators: the same tenants get a ResourceQuota and a Slurm account.
    loaded = load_blueprint("dgx-h100-superpod")
    bp = _with_accounting(loaded.model)
    accounts = slurm_group_vars(bp, plan(bp).hosts)["slurm_dbd_accounts"]
    namespaces = {t.namespace or t.name: t.name for t in bp.mlops.tenants}
    quotas = {
        namespaces[o["metadata"]["namespace"]]: int(o["spec"]["hard"]["requests.nvidia.com/gpu"])
        for o in build(loaded, "test").objects
        if o["kind"] == "ResourceQuota"
    }
    assert quotas and quotas == {a["name"]: a["gpus"] for a in accounts}
    assert [t.name for t in bp.mlops.tenants] == [a["name"] for a in accounts]


def test_the_database_password_is_named_never_held() -> None:
    from aifactory.blueprint.secretref import ref

    bp = load_blueprint("lab").model
    plain = blueprint_group_vars(bp, plan(bp).hosts)
    assert "slurm_dbd_password_secret" not in plain  # made once on the accounting host
    named = _with_accounting(bp, accounting_db_password=ref("factory_slurmdbd_password"))
    assert "factory_slurmdbd_password" == blueprint_group_vars(named, plan(named).hosts)["slurm_dbd_password_secret"]


def _role_template(name: str, **variables: object) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROLE / "templates"), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, keep_trailing_newline=True)  # fmt: skip
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    plain = {k: v for k, v in defaults.items() if not (isinstance(v, str) and "{{" in v)}
    return env.get_template(name).render({**plain, **variables})


def test_slurmdbd_conf_runs_on_the_controller_against_local_mariadb() -> None:
    text = _role_template("slurmdbd.conf.j2", slurm_dbd_host="slurmctl01", slurm_dbd_port=6819,
                          slurm_common_cluster_name="lab", slurm_dbd_password="pw",
                          slurm_common_communication_parameters=[])  # fmt: skip
    lines = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    assert {"DbdHost": "slurmctl01", "DbdPort": "6819", "StorageType": "accounting_storage/mysql",
            "StorageHost": "localhost", "StorageLoc": "slurm_acct_db", "StorageUser": "slurm",
            "StoragePass": "pw", "AuthType": "auth/munge", "SlurmUser": "slurm"} == {
        k: lines[k] for k in ("DbdHost", "DbdPort", "StorageType", "StorageHost", "StorageLoc", "StorageUser",
                              "StoragePass", "AuthType", "SlurmUser")}  # fmt: skip


def test_the_password_reaches_sql_as_one_escaped_string() -> None:
    sql = _role_template("accounting.sql.j2", slurm_dbd_password="it's a \\ test")
    assert "IDENTIFIED BY 'it\\'s a \\\\ test';" in sql
    assert sql.count("'it\\'s a \\\\ test'") == 3  # the check, the CREATE and the ALTER


def test_every_role_task_touching_the_password_hides_it() -> None:
    tasks = [t for f in sorted((ROLE / "tasks").glob("*.yml")) for t in yaml.safe_load(f.read_text())]
    flat = [inner for t in tasks for inner in (t.get("block") or [t])]
    touching = [t for t in flat if "password" in yaml.safe_dump(t).replace("slurm_dbd_password_secret", "")
                or "slurmdbd.conf" in str(t.get("ansible.builtin.template", {}).get("src", ""))]  # fmt: skip
    assert touching
    assert [t["name"] for t in touching if not t.get("no_log") and "ansible.builtin.include_tasks" not in t
            and "ansible.builtin.file" not in t and "ansible.builtin.assert" not in t] == []  # fmt: skip
