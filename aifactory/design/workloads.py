"""The workloads as they will run: `mlops.workloads` with its defaults filled in from the design, checked
against it (nodes and GPUs the orchestrator has, names that resolve, the components each needs).

Pure: the caller passes the compute hosts of each orchestrator (aifactory.render.inventory.orchestrator_groups),
so the same split that Slurm's node lines and the Kubernetes labels use decides where a workload may run.
Every problem is collected with its blueprint line; `resolve` raises one UserError with all of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aifactory.blueprint.loader import LoadedBlueprint
from aifactory.blueprint.mlops import Tenant
from aifactory.blueprint.workloads import Benchmark, Evaluation, Serving, TrainingJob
from aifactory.design.plan import Plan
from aifactory.errors import Problem, UserError

GROUP = {"slurm": "slurm", "kubernetes": "k8s_worker"}
# The MLflow tracking server: the mlflow role's port on the service host (roles/mlflow/defaults), and the
# community-charts mlflow chart's Service (release `mlflow` in namespace `mlflow`, port 80) on Kubernetes.
MLFLOW_PORT = 5000
MLFLOW_K8S = "http://mlflow.mlflow.svc.cluster.local:80"
CHAMPION, CHALLENGER = "champion", "challenger"


def slurm_seconds(text: str) -> int | None:
    """A Slurm time ('INFINITE', 'MM', 'MM:SS', 'HH:MM:SS', 'D-HH', 'D-HH:MM', 'D-HH:MM:SS': sbatch(1) --time) in
    seconds; None for INFINITE."""
    if text == "INFINITE":
        return None
    days, _, rest = text.rpartition("-")
    parts = [int(x) for x in rest.split(":")]
    if days:  # D-HH, D-HH:MM, D-HH:MM:SS
        h, m, sec = [*parts, 0, 0][:3]
    else:  # MM, MM:SS, HH:MM:SS
        h, m, sec = [0, *parts, 0][:3] if len(parts) < 3 else parts
    return ((int(days or 0) * 24 + h) * 60 + m) * 60 + sec


def slurm_partition(loaded: LoadedBlueprint) -> tuple[str, str]:
    """The partition the rendered jobs go to (the default one, else the first) and its max_time."""
    slurm = getattr(loaded.model.mlops.orchestrator, "slurm", None)
    parts = slurm.partitions if slurm is not None else []
    chosen = next((x for x in parts if x.default), parts[0] if parts else None)
    return (chosen.name, chosen.max_time) if chosen is not None else ("gpu", "INFINITE")


@dataclass(frozen=True)
class Placed:
    """Where one workload runs, and for whom."""

    orchestrator: str
    tenant: Tenant | None


@dataclass(frozen=True)
class Train:
    spec: TrainingJob
    at: Placed
    gpus_per_node: int


@dataclass(frozen=True)
class Eval:
    spec: Evaluation
    at: Placed
    training: Train


@dataclass(frozen=True)
class Serve:
    spec: Serving
    at: Placed
    hosts: tuple[str, ...]  # Slurm: the compute hosts that run a replica each


@dataclass(frozen=True)
class Bench:
    spec: Benchmark
    at: Placed
    serving: Serve


@dataclass(frozen=True)
class WorkloadPlan:
    experiment: str
    mlflow_uri: Mapping[str, str]  # orchestrator -> tracking URI
    training: tuple[Train, ...]
    evaluations: tuple[Eval, ...]
    serving: tuple[Serve, ...]
    benchmarks: tuple[Bench, ...]

    @property
    def empty(self) -> bool:
        return not (self.training or self.evaluations or self.serving or self.benchmarks)

    def on(self, orchestrator: str) -> WorkloadPlan:
        """Only the workloads that run on `orchestrator`."""
        return WorkloadPlan(
            self.experiment,
            self.mlflow_uri,
            tuple(w for w in self.training if w.at.orchestrator == orchestrator),
            tuple(w for w in self.evaluations if w.at.orchestrator == orchestrator),
            tuple(w for w in self.serving if w.at.orchestrator == orchestrator),
            tuple(w for w in self.benchmarks if w.at.orchestrator == orchestrator),
        )


class _Checker:
    def __init__(self, loaded: LoadedBlueprint, p: Plan, groups: Mapping[str, Sequence[str]]) -> None:
        self.loaded, self.plan, self.groups = loaded, p, groups
        self.problems: list[Problem] = []

    def fail(self, path: tuple[str | int, ...], message: str, hint: str) -> None:
        where = ("mlops", "workloads", *path)
        self.problems.append(Problem(self.loaded.locate(*where), message, hint, ".".join(map(str, where))))

    def place(self, path: tuple[str | int, ...], orchestrator: str | None, tenant: str | None, serving: bool) -> Placed:
        orch = self.loaded.model.mlops.orchestrator.type
        chosen = orchestrator or (orch if orch != "both" else ("kubernetes" if serving else "slurm"))
        if orch not in (chosen, "both"):
            self.fail(
                (*path, "orchestrator"),
                f"runs on {chosen}, but the factory's orchestrator is {orch}",
                f"set orchestrator: {orch}, or leave it out",
            )
        tenants = {t.name: t for t in self.loaded.model.mlops.tenants}
        found = tenants.get(tenant) if tenant else next(iter(tenants.values()), None)
        if tenant and found is None:
            self.fail(
                (*path, "tenant"),
                f"tenant {tenant!r} is not in mlops.tenants",
                f"name one of: {', '.join(sorted(tenants)) or '(none: add one under mlops.tenants)'}",
            )
        elif found is None and chosen == "kubernetes":
            self.fail(
                path,
                "a Kubernetes workload runs in a tenant's namespace, and the blueprint has no tenant",
                "add a tenant under mlops.tenants",
            )
        return Placed(chosen, found)

    def nodes_of(self, orchestrator: str) -> Sequence[str]:
        return self.groups.get(GROUP[orchestrator], ())

    def need(self, path: tuple[str | int, ...], on: bool, component: str, what: str) -> None:
        if not on:
            self.fail(
                path,
                f"{what} on Kubernetes needs mlops.components.{component}",
                f"set mlops.components.{component}: true, or run it on Slurm (orchestrator: slurm)",
            )


def _train(c: _Checker, i: int, job: TrainingJob) -> Train:
    path = ("training", i)
    at = c.place(path, job.orchestrator, job.tenant, serving=False)
    sku_gpus = c.plan.sku.gpus
    gpus = job.gpus_per_node or sku_gpus
    if gpus > sku_gpus:
        c.fail(
            (*path, "gpus_per_node"),
            f"{gpus} GPUs per node, but a {c.plan.sku_id} node has {sku_gpus}",
            f"set gpus_per_node to at most {sku_gpus}, or leave it out (all of them)",
        )
    have = len(c.nodes_of(at.orchestrator))
    if job.nodes > have:
        c.fail(
            (*path, "nodes"),
            f"{job.nodes} nodes, but {at.orchestrator} has {have} compute nodes",
            f"set nodes to at most {have}",
        )
    if at.orchestrator == "kubernetes":
        c.need(path, c.loaded.model.mlops.components.kubeflow_trainer, "kubeflow_trainer", "training")
    else:
        name, max_time = slurm_partition(c.loaded)
        limit = slurm_seconds(max_time)
        if limit is not None and (slurm_seconds(job.time_limit) or 0) > limit:
            c.fail(
                (*path, "time_limit"),
                f"time_limit {job.time_limit} is longer than partition {name}'s max_time {max_time}: "
                "Slurm would hold the job pending",
                f"set time_limit to at most {max_time}, or raise the partition's max_time",
            )
    return Train(job, at, gpus)


def _eval(c: _Checker, i: int, ev: Evaluation, trains: Mapping[str, Train]) -> Eval | None:
    path = ("evaluations", i)
    at = c.place(path, ev.orchestrator, ev.tenant, serving=False)
    train = trains.get(ev.training)
    if train is None:
        c.fail(
            (*path, "training"),
            f"no training job is named {ev.training!r}",
            f"name one of: {', '.join(sorted(trains)) or '(none: add one under mlops.workloads.training)'}",
        )
        return None
    return Eval(ev, at, train)


def _serve(c: _Checker, i: int, srv: Serving) -> Serve:
    path = ("serving", i)
    at = c.place(path, srv.orchestrator, srv.tenant, serving=True)
    if srv.gpus > c.plan.sku.gpus:
        c.fail(
            (*path, "gpus"),
            f"{srv.gpus} GPUs per replica, but a {c.plan.sku_id} node has {c.plan.sku.gpus}",
            f"set gpus to at most {c.plan.sku.gpus}",
        )
    elif srv.gpus == 0 and srv.engine == "vllm":
        c.fail(
            (*path, "gpus"),
            "0 GPUs per replica, but vLLM needs at least 1 GPU",
            "set gpus to 1 or more, or engine: kserve (aifactory's language model runtime runs on CPU)",
        )
    if srv.engine == "kserve" and at.orchestrator == "kubernetes":
        c.fail(
            (*path, "engine"),
            "engine kserve (aifactory's language model runtime) runs on Slurm hosts only; on Kubernetes the "
            "factory serves with its vLLM ServingRuntime",
            "set engine: vllm, or orchestrator: slurm",
        )
    if srv.latency_p99_ms is not None and at.orchestrator == "kubernetes":
        c.fail(
            (*path, "latency_p99_ms"),
            "the latency objective is a Prometheus rule of Slurm serving; on Kubernetes none is rendered",
            "leave latency_p99_ms out, or set orchestrator: slurm",
        )
    hosts: tuple[str, ...] = ()
    if at.orchestrator == "slurm":
        hosts = _serving_hosts(c, path, srv)
    else:
        c.need(path, c.loaded.model.mlops.components.kserve, "kserve", "serving")
        if srv.storage_uri is None:
            c.fail(
                path,
                "KServe loads the model from storage_uri, which is not set",
                "set storage_uri, e.g. s3://models/NAME/champion",
            )
        if srv.canary_percent and srv.canary_storage_uri is None:
            c.fail(
                (*path, "canary_percent"),
                f"a {srv.canary_percent}% canary needs the challenger's canary_storage_uri",
                "set canary_storage_uri, or canary_percent: 0",
            )
        if srv.nodes:
            c.fail(
                (*path, "nodes"),
                "nodes choose Slurm hosts; KServe places replicas itself",
                "leave nodes out for a Kubernetes deployment",
            )
    return Serve(srv, at, hosts)


def _serving_hosts(c: _Checker, path: tuple[str | int, ...], srv: Serving) -> tuple[str, ...]:
    have = list(c.nodes_of("slurm"))
    if not srv.nodes:
        if srv.replicas > len(have):
            c.fail(
                (*path, "replicas"),
                f"{srv.replicas} replicas, one per node, but Slurm has {len(have)} nodes",
                f"set replicas to at most {len(have)}",
            )
        return tuple(have[-srv.replicas :]) if srv.replicas <= len(have) else ()
    known = set(have)
    for j, name in enumerate(srv.nodes):
        if name not in known:
            c.fail(
                (*path, "nodes", j),
                f"{name!r} is not a Slurm compute host of this design",
                f"name hosts from {have[0]} to {have[-1]}" if have else "the design has no Slurm compute host",
            )
    if len(srv.nodes) != srv.replicas:
        c.fail(
            (*path, "nodes"),
            f"{len(srv.nodes)} nodes for {srv.replicas} replicas (one replica per node)",
            f"list {srv.replicas} nodes, or set replicas: {len(srv.nodes)}",
        )
    if len(set(srv.nodes)) != len(srv.nodes):
        c.fail((*path, "nodes"), "a node is listed twice", "list each node once")
    return tuple(srv.nodes)


def _bench(c: _Checker, i: int, b: Benchmark, serves: Mapping[str, Serve]) -> Bench | None:
    path = ("benchmarks", i)
    srv = serves.get(b.serving)
    at = c.place(path, b.orchestrator or (srv.at.orchestrator if srv else None), b.tenant, serving=True)
    if srv is None:
        c.fail(
            (*path, "serving"),
            f"no serving deployment is named {b.serving!r}",
            f"name one of: {', '.join(sorted(serves)) or '(none: add one under mlops.workloads.serving)'}",
        )
        return None
    if at.orchestrator != srv.at.orchestrator:
        c.fail(
            (*path, "orchestrator"),
            f"measures {b.serving!r}, which runs on {srv.at.orchestrator}",
            f"run the benchmark on {srv.at.orchestrator} (leave orchestrator out)",
        )
    return Bench(b, at, srv)


def _unique(c: _Checker) -> None:
    w = c.loaded.model.mlops.workloads
    for kind, items in (
        ("training", w.training),
        ("evaluations", w.evaluations),
        ("serving", w.serving),
        ("benchmarks", w.benchmarks),
    ):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.name in seen:
                c.fail((kind, i, "name"), f"{kind} name {item.name!r} is used twice", "give each a name of its own")
            seen.add(item.name)


def _mlflow_uri(c: _Checker) -> dict[str, str]:
    services = next((h.hostname for h in c.plan.mgmt if "mlflow" in h.functions), None)
    uri = {"kubernetes": MLFLOW_K8S}
    if services is not None:
        uri["slurm"] = f"http://{services}:{MLFLOW_PORT}"
    return uri


def resolve(loaded: LoadedBlueprint, p: Plan, groups: Mapping[str, Sequence[str]]) -> WorkloadPlan:
    """The workloads with their defaults, or UserError (exit 2) naming every line that cannot run."""
    c = _Checker(loaded, p, groups)
    w = loaded.model.mlops.workloads
    _unique(c)
    trains = [_train(c, i, job) for i, job in enumerate(w.training)]
    by_train = {t.spec.name: t for t in trains}
    evals = [e for i, ev in enumerate(w.evaluations) if (e := _eval(c, i, ev, by_train)) is not None]
    serves = [_serve(c, i, s) for i, s in enumerate(w.serving)]
    by_serve = {s.spec.name: s for s in serves}
    benches = [b for i, x in enumerate(w.benchmarks) if (b := _bench(c, i, x, by_serve)) is not None]
    uri = _mlflow_uri(c)
    if (w.training or w.evaluations) and not loaded.model.mlops.components.mlflow:
        c.fail(
            ("training",) if w.training else ("evaluations",),
            "training and evaluation log to MLflow, which is off",
            "set mlops.components.mlflow: true",
        )
    if c.problems:
        raise UserError(c.problems)
    return WorkloadPlan(
        w.experiment or loaded.model.name, uri, tuple(trains), tuple(evals), tuple(serves), tuple(benches)
    )
