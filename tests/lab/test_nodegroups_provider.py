"""The Pulumi node-group provider converges a running lab for real: each group is a limit of the lab's own
inventory, controller first, and a second pass over unchanged hosts changes nothing.

Needs a lab that is up (`aifactory lab up --nodes 2`); it does not start or stop one (two labs collide). The lab
integration test runs it while its own lab is up, so CI converges through the provider for real."""

from __future__ import annotations

import base64
import os

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from aifactory.deploy.ansible import SITE_PLAYBOOK
from aifactory.deploy.nodegroups import AnsibleGroupProvider
from aifactory.lab.up import inventory_dir
from modules.compute.nodegroups.groups import group_props, groups_of

pytestmark = [pytest.mark.slow, pytest.mark.root]


def converge_lab_through_provider() -> None:
    """Converge the running lab group by group through the provider, as `pulumi up` would; the lab integration
    test calls this while its lab is up."""
    files = {p.relative_to(inventory_dir()).as_posix(): p.read_text() for p in inventory_dir().rglob("*.yml")}
    groups = groups_of(files)
    assert ["slurm-controller", "su1"] == [g.name for g in groups]
    # The provider as the engine runs it: stored with the SDK's dill settings, loaded back.
    provider = dill.loads(base64.b64decode(serialize_provider(AnsibleGroupProvider())))
    for group in groups:
        props = group_props(group, str(SITE_PLAYBOOK))
        created = provider.create(props)
        assert (True, 0) == (created.outs["converged"], created.outs["rc"]), group.name
        assert not provider.diff(created.id, created.outs, props).changes
        # The lab converged these hosts with the same inventory and roles: the skip-fast check holds.
        again = provider.update(created.id, created.outs, props)
        assert 0 == again.outs["changed"], group.name


@pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root")
@pytest.mark.skipif(not (inventory_dir() / "hosts.yml").is_file(), reason="no lab is up (aifactory lab up)")
def test_provider_converges_the_lab_group_by_group() -> None:
    converge_lab_through_provider()
