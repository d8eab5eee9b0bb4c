"""`essential` and `dependsOn` → containers, init containers and native sidecars
(ECS-MAPPING §6).

`classify` runs before the containers are mapped (their explanation paths depend on
where they land):
* a target of COMPLETE or SUCCESS → a regular init container (runs to completion first;
  COMPLETE accepts any exit code, so its command is wrapped to exit 0);
* a target of START or HEALTHY → a native sidecar (`initContainers` with
  `restartPolicy: Always`), started before the app; a HEALTHY target gets a startup probe
  so the containers after it wait for its health check;
* in a Job/CronJob, non-essential containers → sidecars too, or the Job never completes;
* everything else → a regular container.
Cycles are fatal (ECS rejects them too). `finish` runs after mapping: it masks exit
codes, places probes by role and orders the init containers topologically.
"""

from __future__ import annotations

from litekube.ecs import probes
from litekube.ecs.context import CRONJOB, JOB, ContainerPlan, Context
from litekube.ecs.errors import EcsInputError
from litekube.ecs.explain import Scope
from litekube.ecs.quirks import as_dict, as_list, to_bool, to_str

CONDITIONS = ("START", "COMPLETE", "SUCCESS", "HEALTHY")
Edge = tuple[ContainerPlan, ContainerPlan, str, Scope]


def classify(ctx: Context) -> list[Edge]:
    live = [p for p in ctx.plans if not p.dropped]
    for plan in live:
        if "essential" in plan.source:
            flag = to_bool(plan.source["essential"], plan.scope.at("essential"))
            plan.essential = True if flag is None else flag
    edges = _edges(live, ctx)
    _check_cycles(live, edges, ctx)
    batch = ctx.kind in (JOB, CRONJOB)
    for plan in live:
        conditions = {c for _, t, c, _ in edges if t is plan}
        if conditions & {"COMPLETE", "SUCCESS"}:
            plan.role = "init"
            plan.mask_exit = "SUCCESS" not in conditions
        elif conditions & {"START", "HEALTHY"}:
            plan.role = "sidecar"
            plan.healthy_target = "HEALTHY" in conditions
        elif batch and not plan.essential:
            plan.role = "sidecar"
    if not any(p.role == "container" for p in live):
        # a task needs at least one app container; take one nobody waits for
        depended = {id(t) for _, t, _, _ in edges}
        fallback = next((p for p in live if id(p) not in depended), live[-1])
        fallback.role = "container"
        fallback.scope.at("essential").approx(
            "", "kept as the pod's app container", "every other container is a helper"
        )
    for plan in live:
        _explain_role(plan, ctx)
    return edges


def _edges(live: list[ContainerPlan], ctx: Context) -> list[Edge]:
    edges: list[Edge] = []
    for plan in live:
        for index, raw in enumerate(as_list(plan.source.get("dependsOn"), plan.scope.at("dependsOn"))):
            scope = plan.scope.at("dependsOn").at(index)
            item = as_dict(raw, scope) or {}
            target_name = to_str(item.get("containerName"), scope.at("containerName"))
            condition = (to_str(item.get("condition"), scope.at("condition")) or "").upper()
            target = next((p for p in ctx.plans if p.original_name == target_name), None)
            if target is None:
                scope.error(f"depends on unknown container {target_name!r}: dropped")
            elif target.dropped:
                scope.approx(
                    "",
                    f"dependency on dropped container {target_name!r} removed",
                    "see that container's rows",
                )
            elif target is plan:
                scope.error("a container cannot depend on itself: dropped")
            elif condition not in CONDITIONS:
                scope.error(
                    f"invalid condition {condition!r}: dropped", f"ECS accepts {', '.join(CONDITIONS)}"
                )
            else:
                edges.append((plan, target, condition, scope))
    return edges


def _check_cycles(live: list[ContainerPlan], edges: list[Edge], ctx: Context) -> None:
    after: dict[int, list[ContainerPlan]] = {id(p): [] for p in live}
    for dependent, target, _, _ in edges:
        after[id(dependent)].append(target)
    state: dict[int, int] = {}

    def visit(plan: ContainerPlan, trail: list[str]) -> None:
        state[id(plan)] = 1
        for target in after[id(plan)]:
            if state.get(id(target)) == 1:
                cycle = " -> ".join([*trail, plan.original_name, target.original_name])
                raise EcsInputError(ctx.task_file, f"dependsOn cycle: {cycle}")
            if id(target) not in state:
                visit(target, [*trail, plan.original_name])
        state[id(plan)] = 2

    for plan in live:
        if id(plan) not in state:
            visit(plan, [])


def _explain_role(plan: ContainerPlan, ctx: Context) -> None:
    path = ctx.container_path(plan)
    scope = plan.scope.at("essential")
    if plan.role == "init":
        scope.approx(
            path, "dependsOn COMPLETE/SUCCESS target → init container", "runs to completion before the app"
        )
        if plan.essential:
            scope.error(
                "COMPLETE/SUCCESS may not target an essential container", "ECS rejects this task definition"
            )
    elif plan.role == "sidecar":
        rule = "dependsOn START/HEALTHY target → native sidecar (restartPolicy: Always)"
        if ctx.kind in (JOB, CRONJOB) and not plan.healthy_target and not plan.essential:
            rule = "non-essential in a Job → native sidecar, so the Job can complete"
        note = (
            "restarted in place instead of stopping the task" if plan.essential else "restarted when it exits"
        )
        scope.approx(path, rule, note)
    elif plan.essential:
        scope.approx(
            path,
            "essential → app container",
            "no 'stop every container' in Kubernetes: it is restarted in place",
        )
    else:
        scope.approx(
            path,
            "non-essential → app container",
            "Kubernetes restarts it when it exits; ECS leaves it stopped"
            if ctx.kind not in (JOB, CRONJOB)
            else "the Job waits for it",
        )


def finish(ctx: Context, edges: list[Edge]) -> list[ContainerPlan]:
    """Wrap COMPLETE targets, place probes, and return the init containers in order."""
    live = [p for p in ctx.plans if not p.dropped]
    for plan in live:
        if plan.role == "sidecar":
            plan.spec["restartPolicy"] = "Always"
        if plan.mask_exit:
            _mask_exit(plan, ctx)
        probes.place_probes(plan, ctx, plan.healthy_target)
        if plan.healthy_target and plan.probe is None:
            plan.scope.at("healthCheck").error(
                "dependsOn HEALTHY target without a health check",
                "ECS rejects this; start order only is kept",
            )
    for dependent, target, condition, scope in edges:
        if dependent.role == "container" and target.role != "container":
            scope.exact(
                ctx.container_path(target),
                f"{condition}: {target.name} runs as {'an init container' if target.role == 'init' else 'a sidecar'}"
                " before the app containers",
            )
        elif target.role == "container":
            scope.approx(
                "", f"{condition} on an app container: ordering lost", "app containers start together"
            )
        else:
            scope.exact(ctx.container_path(target), f"{condition}: init containers start in dependency order")
    return _topological(live, edges)


def _mask_exit(plan: ContainerPlan, ctx: Context) -> None:
    argv = [*plan.spec.get("command", []), *plan.spec.get("args", [])]
    if not argv:
        plan.scope.at("essential").approx(
            "",
            "COMPLETE target without a command: exit code not masked",
            "a non-zero exit will block pod start",
        )
        return
    plan.spec["command"] = ["/bin/sh", "-c", '"$@"; exit 0', "sh", *argv]
    plan.spec.pop("args", None)
    plan.scope.at("essential").approx(
        f"{ctx.container_path(plan)}.command",
        "COMPLETE accepts any exit code: wrapped as /bin/sh -c '\"$@\"; exit 0'",
        "needs /bin/sh; without entryPoint the image ENTRYPOINT is assumed empty",
    )


def _topological(live: list[ContainerPlan], edges: list[Edge]) -> list[ContainerPlan]:
    inits = [p for p in live if p.role != "container"]
    ids = {id(p) for p in inits}
    before: dict[int, set[int]] = {id(p): set() for p in inits}
    for dependent, target, _, _ in edges:
        if id(dependent) in ids and id(target) in ids:
            before[id(dependent)].add(id(target))
    ordered: list[ContainerPlan] = []
    done: set[int] = set()
    while len(ordered) < len(inits):
        ready = next(p for p in inits if id(p) not in done and before[id(p)] <= done)
        ordered.append(ready)
        done.add(id(ready))
    return ordered
