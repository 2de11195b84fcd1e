"""How the program reaches its cluster and reads its settings: one Kubernetes provider per stack from the
stack's own kubeconfig and context (never the ambient one), the stack's settings from the Pulumi config the
engine hands the program (the same values `render --stack` and `policy check` read from the stack file),
inputs that do not depend on where the checkout lives, and the policy pack on every preview and up."""

from __future__ import annotations

import ast
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest
from mocks import CLUSTER, Recorder, engine_config, run_stack

from aifactory import resources
from aifactory.blueprint.stackfile import BLUEPRINT_KEY, OVERRIDES_KEY, STACKS, load_stack, read_stack
from aifactory.deploy import pulumi as deploy
from aifactory.errors import UserError
from aifactory.render.k8s.gitops import gitops_files
from aifactory.render.kubernetes import build

SECRET_SIG = "4dabf18193072939515e22adb298388d"
PROVIDER = "pulumi:providers:kubernetes"
STACK_NAMES = ("de-stuttgart", "fi-kajaani", "us-east")


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_kubernetes_resource_uses_the_stacks_own_provider(stack: str) -> None:
    rec = run_stack(stack, STACKS)
    providers = rec.of_type(PROVIDER)
    assert [f"{stack}-kubernetes"] == [p.name for p in providers]
    inputs = providers[0].inputs
    assert "test-context" == inputs["context"]
    assert SECRET_SIG in inputs["kubeconfig"] and CLUSTER["kubeconfig"] == inputs["kubeconfig"]["value"]
    urn = next(u for u, n in rec.urns.items() if n == f"{stack}-kubernetes")
    kubernetes = [r for r in rec.resources if r.typ.startswith("kubernetes:")]
    assert kubernetes
    assert [] == [r.name for r in kubernetes if r.provider != f"{urn}::{stack}-kubernetes-id"]


@pytest.mark.parametrize("missing", ["kubeconfig", "kubeContext"])
def test_a_stack_without_its_cluster_stops_before_anything_is_created(missing: str) -> None:
    recorder = Recorder()
    cluster = {k: v for k, v in CLUSTER.items() if k != missing}
    with pytest.raises(UserError) as err:
        run_stack("de-stuttgart", STACKS, recorder=recorder, cluster=cluster)
    text = str(err.value)
    assert f"aifactory:{missing}" in text and "--stack de-stuttgart" in text
    assert [] == recorder.resources  # no fallback to ~/.kube/config or its current-context


def test_a_stack_without_kubernetes_needs_no_cluster(tmp_path: Path) -> None:
    text = (STACKS / "Pulumi.us-east.yaml").read_text().replace("dgx-h100-superpod", "b200-spectrum-x")
    (tmp_path / "Pulumi.us-east.yaml").write_text(text)
    rec = run_stack("us-east", tmp_path, cluster={})
    assert [] == rec.of_type(PROVIDER)
    assert [] == [r for r in rec.resources if r.typ.startswith("kubernetes:")]


def _program_context(stack: str, stacks: Path, config: dict[str, str]) -> Any:
    """`prepare` as the program calls it: the settings from the Pulumi config the engine would pass."""
    pulumi.runtime.set_mocks(Recorder(), project="aifactory", stack=stack, preview=False)
    pulumi.runtime.set_all_config(config)
    return deploy.prepare(stack, stacks, config=deploy.program_config())


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_program_config_and_stack_file_give_identical_stacks(stack: str) -> None:
    from_file = deploy.prepare(stack, STACKS)
    from_config = _program_context(stack, STACKS, engine_config(STACKS / f"Pulumi.{stack}.yaml"))
    assert from_file.region == from_config.region
    assert from_file.loaded.model.model_dump(mode="json") == from_config.loaded.model.model_dump(mode="json")
    assert gitops_files(from_file.rendered) == gitops_files(from_config.rendered)
    # What `render --stack` and `policy check --stack` read: the same file, the same lines.
    rendered = build(load_stack(read_stack(stack)), from_file.region)
    assert gitops_files(rendered) == gitops_files(from_config.rendered)
    assert from_file.loaded.locate("site", "region") == from_config.loaded.locate("site", "region")
    assert from_config.loaded.locate("site", "region").line > 0


def test_a_value_only_the_config_holds_wins_and_is_attributed_to_the_stack() -> None:
    # ESC or `--config-file`: the engine passes values the stack file does not hold.
    config = engine_config(STACKS / "Pulumi.us-east.yaml")
    overrides = json.loads(config[OVERRIDES_KEY])
    overrides["site"]["city"] = "Reston"
    config[OVERRIDES_KEY] = json.dumps(overrides)
    ctx = _program_context("us-east", STACKS, config)
    assert "Reston" == ctx.loaded.model.site.city
    city = ctx.loaded.locate("site", "city")
    assert ("stacks/Pulumi.us-east.yaml", 0) == (city.file, city.line)
    assert ctx.loaded.locate("site", "jurisdiction").line > 0  # the file's values keep their lines


def test_a_stack_with_no_blueprint_in_its_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        _program_context("nowhere", tmp_path, {"aifactory:region": "nowhere"})
    assert f"Pulumi config '{BLUEPRINT_KEY}' is not set for stack 'nowhere'" in str(err.value)


def _user_repository(root: Path) -> Path:
    """A user's infrastructure repository: a site blueprint extending the catalogue, and one stack."""
    (root / "blueprints").mkdir(parents=True)
    (root / "blueprints" / "site.yaml").write_text(
        "apiVersion: aifactory/v1\nkind: Blueprint\nextends: dgx-h200-sovereign-eu\nname: site-de\n"
    )
    (root / "stacks").mkdir()
    shutil.copy(STACKS / "Pulumi.yaml", root / "stacks" / "Pulumi.yaml")
    text = (STACKS / "Pulumi.de-stuttgart.yaml").read_text()
    original = read_stack("de-stuttgart").blueprint
    (root / "stacks" / "Pulumi.de-stuttgart.yaml").write_text(
        text.replace(f"blueprint: {original}", "blueprint: blueprints/site.yaml")
    )
    return root


def _inputs_from(root: Path) -> str:
    """Every registered resource's inputs, run as stacks/__main__.py runs the program (at the repository
    root), serialised canonically."""
    here = Path.cwd()
    os.chdir(root)
    try:
        rec = run_stack("de-stuttgart", root / "stacks")
    finally:
        os.chdir(here)
    return json.dumps(sorted(([r.typ, r.name, r.inputs] for r in rec.resources), key=lambda x: x[1]),
                      sort_keys=True, default=str)


def test_inputs_do_not_depend_on_where_the_checkout_lives(tmp_path: Path) -> None:
    first = _inputs_from(_user_repository(tmp_path / "a" / "infra"))
    second = _inputs_from(_user_repository(tmp_path / "elsewhere" / "deeper" / "infra"))
    assert first == second  # byte for byte
    # Source annotations name package-relative catalogue files (the chain the site blueprint extends).
    assert "blueprints/dgx-h200-sovereign-eu.yaml#/" in first and "blueprints/dgx-h100-superpod.yaml#/" in first
    for absolute in (str(tmp_path), str(resources.package_dir()), str(Path(__file__).resolve().parents[2])):
        assert absolute not in first


class _Stack:
    """What the Automation API's Stack receives."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def preview(self, **kwargs: Any) -> Any:
        self.calls.append(("preview", kwargs))
        return type("R", (), {"change_summary": {"create": 3}})()

    def up(self, **kwargs: Any) -> Any:
        self.calls.append(("up", kwargs))
        return type("R", (), {"summary": type("S", (), {"resource_changes": {"create": 3}})()})()


def test_preview_and_up_run_the_policy_pack(monkeypatch: pytest.MonkeyPatch) -> None:
    stack = _Stack()
    monkeypatch.setattr(deploy, "select_stack", lambda name: stack)
    assert {"create": 3} == deploy.preview("us-east")
    assert {"create": 3} == deploy.up("us-east")
    pack = resources.policy_pack_dir()
    assert (pack / "PulumiPolicy.yaml").is_file() and (pack / "__main__.py").is_file()
    assert [("preview", [str(pack)]), ("up", [str(pack)])] == [(op, kw["policy_packs"]) for op, kw in stack.calls]


def test_the_policy_packs_requirements_cover_its_imports() -> None:
    pack = resources.policy_pack_dir()
    tree = ast.parse((pack / "__main__.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    distributions = {"aifactory": "sovereign-aifactory", "pulumi_policy": "pulumi-policy", "pulumi": "pulumi"}
    needed = {distributions[m] for m in imported if m in distributions}
    lines = [line.split("#")[0].strip() for line in (pack / "requirements.txt").read_text().splitlines()]
    listed = {line.split(">")[0].split("=")[0].split("<")[0].strip() for line in lines if line}
    assert {"sovereign-aifactory", "pulumi-policy"} <= needed
    assert needed - {"pulumi"} <= listed  # pulumi comes with pulumi-policy
