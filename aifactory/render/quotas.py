"""Tenant quotas shared by every orchestrator: the one place a tenant's GPU quota is read from the blueprint.

Kubernetes renders it as the tenant's ResourceQuota and Kueue nominal quota (`aifactory.render.k8s.tenants`),
Slurm as the tenant account's `GrpTRES=gres/gpu=<quota>` in slurmdbd (`aifactory.render.group_vars`), so
a tenant gets the same GPUs from either scheduler.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aifactory.blueprint.mlops import Tenant


def gpu_quota(tenant: Tenant) -> int:
    """The GPUs a tenant may hold at once (`mlops.tenants[].gpus`)."""
    return int(tenant.gpus)


def slurm_accounts(tenants: Sequence[Tenant]) -> list[dict[str, Any]]:
    """One Slurm account per tenant (its name) with the tenant's GPU quota, in the blueprint's order."""
    return [{"name": t.name, "gpus": gpu_quota(t)} for t in tenants]
