"""Fabric layer: the network operator's NicClusterPolicy, NCCL settings per tenant, and tenant partitions as pod
networks (SR-IOV policies, NetworkAttachmentDefinitions and nv-ipam pools: `aifactory.render.k8s.partitions`)."""

from __future__ import annotations

import json
from typing import Any

from aifactory.blueprint.fabric import InfinibandFabric
from aifactory.blueprint.model import Blueprint
from aifactory.errors import UserError
from aifactory.render.k8s import images
from aifactory.render.k8s.context import Ctx, Manifest, SecretKey, SecretSpec
from aifactory.render.k8s.ownership import owner
from aifactory.render.k8s.partitions import NETWORK_OPERATOR_NS, partition_objects
from aifactory.render.k8s.partitions import active as partitions_active
from aifactory.render.k8s.tenants import RDMA_HCA_MAX, RDMA_RESOURCE_NAME, tenant_namespace

UFM_SECRET = "ufm-secret"


def fabric_objects(ctx: Ctx) -> list[Manifest]:
    out = [nic_cluster_policy(ctx)] if ctx.bp.mlops.components.network_operator else []
    out += _nccl(ctx) + partition_objects(ctx)
    return out


def _img(ctx: Ctx, key: str, version: str = "") -> dict[str, str]:
    repository, image, tag = images.NETWORK_OPERATOR[key]
    return {"repository": ctx.image(repository), "image": image, "version": version or tag}


def nic_cluster_policy(ctx: Ctx) -> Manifest:
    fabric = ctx.bp.fabric.compute
    infiniband = isinstance(fabric, InfinibandFabric)
    spec: dict[str, Any] = {}
    if partitions_active(ctx):
        # Tenant partitions as pod networks: Multus attaches the partition's VF (ib-sriov, from the CNI plugins
        # image set) and nv-ipam gives it an address; the SR-IOV operator's device plugin advertises the VFs.
        spec["secondaryNetwork"] = {"multus": _img(ctx, "multus"), "cniPlugins": _img(ctx, "cniPlugins")}
        spec["nvIpam"] = {**_img(ctx, "nvIpam"), "enableWebhook": False}  # its webhook needs cert-manager
    else:
        device_config = {
            "configList": [
                {
                    "resourceName": RDMA_RESOURCE_NAME,
                    "rdmaHcaMax": RDMA_HCA_MAX,
                    "selectors": {"vendors": ["15b3"], "linkTypes": ["infiniband" if infiniband else "ether"]},
                }
            ]
        }
        spec["rdmaSharedDevicePlugin"] = {
            **_img(ctx, "rdmaSharedDevicePlugin"),
            "config": json.dumps(device_config, sort_keys=True, allow_nan=False),
        }
    if ctx.bp.software.ofed and owner(ctx.bp, "ofed") == "operator":
        spec["ofedDriver"] = _img(ctx, "ofedDriver", doca_driver_tag(ctx))
    if infiniband and fabric.partitions:
        # ib-kubernetes assigns GUIDs in tenant P_Keys; UFM credentials live in this Secret (`fabric_secrets`).
        spec["ibKubernetes"] = {
            **_img(ctx, "ibKubernetes"),
            "ufmSecret": UFM_SECRET,
            "pKeyGUIDPoolRangeStart": "02:00:00:00:00:00:00:00",
            "pKeyGUIDPoolRangeEnd": "02:FF:FF:FF:FF:FF:FF:FF",
        }
    path = ("software", "ofed") if ctx.bp.software.ofed else ("fabric", "compute")
    return ctx.obj(
        "mellanox.com/v1alpha1", "NicClusterPolicy", "nic-cluster-policy", "fabric", path, spec=spec
    )


def doca_driver_tag(ctx: Ctx) -> str:
    """The doca-driver image tag of the blueprint's DOCA-OFED release (`software.ofed`, e.g. '25.07')."""
    release = str(ctx.bp.software.ofed)
    tag = images.DOCA_DRIVER_TAGS.get(release)
    if tag is None:
        known = ", ".join(sorted(images.DOCA_DRIVER_TAGS))
        raise UserError.at(
            ctx.loaded.locate("software", "ofed"),
            f"no doca-driver image is known for DOCA-OFED {release!r}",
            f"pin one of the releases the network operator ships a driver image for: {known}",
            path="software.ofed",
        )
    return tag


def nccl_env(ctx: Ctx) -> dict[str, str]:
    return job_nccl_env(ctx.bp)


def job_nccl_env(bp: Blueprint) -> dict[str, str]:
    """NCCL environment for jobs (Kubernetes and Slurm alike): the blueprint's `fabric.nccl`, over defaults that
    follow the fabric type."""
    fabric = bp.fabric.compute
    env = {"NCCL_IB_DISABLE": "0", "NCCL_NET_GDR_LEVEL": "PHB"}
    if not isinstance(fabric, InfinibandFabric):
        env["NCCL_IB_GID_INDEX"] = "3"  # RoCEv2 GID on the usual Linux GID table layout
    return {**env, **bp.fabric.nccl}


def _nccl(ctx: Ctx) -> list[Manifest]:
    data = nccl_env(ctx)
    return [
        ctx.obj("v1", "ConfigMap", "nccl-env", "fabric", ("fabric", "nccl"), tenant_namespace(t), data=data)
        for t in ctx.bp.mlops.tenants
    ]


def fabric_secrets(ctx: Ctx) -> list[SecretSpec]:
    """ib-kubernetes's UFM login (Secret ufm-secret: address, user, password from the secret store; HTTPS on
    443), where the NicClusterPolicy deploys ib-kubernetes: InfiniBand with tenant partitions."""
    fabric = ctx.bp.fabric.compute
    if not (ctx.bp.mlops.components.network_operator and isinstance(fabric, InfinibandFabric) and fabric.partitions):
        return []
    fm = fabric.fabric_manager
    path = ("fabric", "compute", "fabric_manager")
    keys = (
        SecretKey("UFM_ADDRESS", fm.address.secret, (*path, "address")),
        SecretKey("UFM_PASSWORD", fm.password.secret, (*path, "password")),
        SecretKey("UFM_USERNAME", fm.username.secret, (*path, "username")),
    )
    meta = ctx.metadata(UFM_SECRET, "fabric", path, NETWORK_OPERATOR_NS)
    plain = (("UFM_HTTP_SCHEMA", "https"), ("UFM_PORT", "443"))
    return [SecretSpec(UFM_SECRET, NETWORK_OPERATOR_NS, keys, meta, plain=plain, layer="fabric")]
