"""Task-definition level (ECS-MAPPING §3) and assembly of the pod template.

Flow of `build_pod_template`:
1. task-level fields that containers depend on: network mode, platform, pid/ipc mode;
2. plan the containers: sanitise names (rename map), drop the App Mesh proxy and the
   FireLens router (both only work with ECS machinery), classify roles (dependencies.py);
3. task volumes, then every container (containers.py), then `volumesFrom`;
4. probes by role, init order, task size → pod-level resources, ephemeral storage;
5. the remaining task-level fields (roles → ServiceAccount/annotations, tags, ...);
6. the pod template: labels (the selector), annotations, spec in a stable field order.
"""

from __future__ import annotations

from typing import Any

from litekube.ecs import containers, dependencies, placement, resources, volumes
from litekube.ecs.context import ANNOTATION_PREFIX, ContainerPlan, Context, annotation_key
from litekube.ecs.explain import Scope
from litekube.ecs.names import label_value
from litekube.ecs.quirks import as_dict, as_list, to_str, to_str_list

READ_ONLY_FIELDS = (
    "taskDefinitionArn",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
)
_NETWORK_MODES = ("awsvpc", "bridge", "host", "none", "default")
_ARCH = {"X86_64": "amd64", "ARM64": "arm64"}
_WINDOWS_BUILDS = {"2016": "10.0.14393", "2019": "10.0.17763", "2022": "10.0.20348"}


def build_pod_template(task: dict[str, Any], scope: Scope, ctx: Context) -> dict[str, Any]:
    _map_platform(task, scope, ctx)
    plans = _plan_containers(task, scope, ctx)
    edges = dependencies.classify(ctx)
    volumes.map_task_volumes(task, scope, ctx)
    used_port_names: set[str] = set()
    for plan in plans:
        if not plan.dropped:
            containers.map_container(plan, ctx, used_port_names)
    for plan in plans:
        if not plan.dropped:
            volumes.map_volumes_from(plan, ctx)
    init_order = dependencies.finish(ctx, edges)
    pod_resources = resources.map_task_resources(task, scope, ctx)
    resources.map_ephemeral_storage(task, scope, ctx)
    _map_roles_and_tags(task, scope, ctx)
    placement.map_task_constraints(task.get("placementConstraints"), scope.at("placementConstraints"), ctx)
    for key in READ_ONLY_FIELDS:
        if key in task:
            scope.at(key).ignored("read-only describe output")
    for key in ("inferenceAccelerators", "enableFaultInjection"):
        if key in task:
            scope.at(key).impossible(
                "no equivalent", "Elastic Inference is discontinued" if key[0] == "i" else ""
            )

    spec: dict[str, Any] = {}
    if init_order:
        spec["initContainers"] = [p.spec for p in init_order]
    spec["containers"] = [p.spec for p in plans if not p.dropped and p.role == "container"]
    if pod_resources:
        spec["resources"] = pod_resources
    for key in (
        "hostNetwork",
        "dnsPolicy",
        "hostPID",
        "hostIPC",
        "shareProcessNamespace",
        "hostname",
        "hostAliases",
        "dnsConfig",
        "serviceAccountName",
        "imagePullSecrets",
        "nodeSelector",
        "affinity",
        "topologySpreadConstraints",
        "securityContext",
        "terminationGracePeriodSeconds",
        "volumes",
    ):
        if key in ctx.pod:
            spec[key] = ctx.pod[key]
    metadata: dict[str, Any] = {"labels": {**ctx.selector(), **ctx.labels}}
    if ctx.pod_annotations:
        metadata["annotations"] = dict(ctx.pod_annotations)
    return {"metadata": metadata, "spec": spec}


def _map_platform(task: dict[str, Any], scope: Scope, ctx: Context) -> None:
    pod_path = ctx.pod_path()
    compat = to_str_list(task.get("requiresCompatibilities"), scope.at("requiresCompatibilities")) or []
    ctx.fargate = "FARGATE" in compat
    if compat:
        ctx.annotations[annotation_key("requires-compatibilities")] = ",".join(compat)
        scope.at("requiresCompatibilities").approx(
            f"metadata.annotations[{ANNOTATION_PREFIX}requires-compatibilities]",
            "annotation",
            "EKS Fargate forbids privileged containers, DaemonSets, hostNetwork and hostPath"
            if ctx.fargate
            else "",
        )
    platform = as_dict(task.get("runtimePlatform"), scope.at("runtimePlatform")) or {}
    selector: dict[str, str] = {}
    family = to_str(
        platform.get("operatingSystemFamily"), scope.at("runtimePlatform").at("operatingSystemFamily")
    )
    if family:
        ctx.windows = family.upper().startswith("WINDOWS")
        selector["kubernetes.io/os"] = "windows" if ctx.windows else "linux"
        build = next((b for year, b in _WINDOWS_BUILDS.items() if year in family), None)
        if build:
            selector["node.kubernetes.io/windows-build"] = build
        scope.at("runtimePlatform").at("operatingSystemFamily").approx(
            f"{pod_path}.nodeSelector",
            f"{family} → kubernetes.io/os",
            "a node label cannot tell FULL from CORE",
        )
    arch = to_str(platform.get("cpuArchitecture"), scope.at("runtimePlatform").at("cpuArchitecture"))
    if arch:
        if arch.upper() in _ARCH:
            selector["kubernetes.io/arch"] = _ARCH[arch.upper()]
            scope.at("runtimePlatform").at("cpuArchitecture").exact(
                f"{pod_path}.nodeSelector[kubernetes.io/arch]", "X86_64 → amd64, ARM64 → arm64"
            )
        else:
            scope.at("runtimePlatform").at("cpuArchitecture").error(f"unknown architecture {arch!r}: ignored")
    if selector:
        ctx.pod["nodeSelector"] = selector
    mode = to_str(task.get("networkMode"), scope.at("networkMode")) if "networkMode" in task else None
    if mode is None:
        ctx.network_mode = "awsvpc" if ctx.fargate else ("default" if ctx.windows else "bridge")
    elif mode.lower() in _NETWORK_MODES:
        ctx.network_mode = mode.lower()
    else:
        ctx.network_mode = "bridge"
        scope.at("networkMode").approx(
            "", f"invalid network mode {mode!r}: pod networking", "ECS accepts " + ", ".join(_NETWORK_MODES)
        )
        mode = None
    if ctx.network_mode == "host":
        ctx.pod["hostNetwork"] = True
        ctx.pod["dnsPolicy"] = "ClusterFirstWithHostNet"
        if mode:
            scope.at("networkMode").exact(
                f"{pod_path}.hostNetwork", "host → hostNetwork, dnsPolicy ClusterFirstWithHostNet"
            )
    elif ctx.network_mode == "none" and mode:
        scope.at("networkMode").impossible("a pod always has a network namespace")
    elif ctx.network_mode == "bridge" and mode:
        scope.at("networkMode").approx(
            "", "bridge → pod networking", "containers now share one network namespace: ports may collide"
        )
    elif mode:
        scope.at("networkMode").exact("", f"{mode} → pod networking (one IP per pod)")
    for key, host_field in (("pidMode", "hostPID"), ("ipcMode", "hostIPC")):
        value = to_str(task.get(key), scope.at(key)) if key in task else None
        if value == "host":
            ctx.pod[host_field] = True
            scope.at(key).exact(f"{pod_path}.{host_field}", "host → true")
        elif value == "task" and key == "pidMode":
            ctx.pod["shareProcessNamespace"] = True
            scope.at(key).exact(
                f"{pod_path}.shareProcessNamespace", "task → true", "the app is no longer PID 1"
            )
        elif value == "task":
            scope.at(key).exact("", "task: containers of a pod share IPC already")
        elif value == "none":
            scope.at(key).approx("", "none: Kubernetes always shares IPC across the pod")
        elif value is not None:
            scope.at(key).error(f"invalid value {value!r}: ignored")


def _plan_containers(task: dict[str, Any], scope: Scope, ctx: Context) -> list[ContainerPlan]:
    list_scope = scope.at("containerDefinitions")
    mesh = as_dict(task.get("proxyConfiguration"), scope.at("proxyConfiguration")) or {}
    mesh_proxy = mesh.get("containerName") if not ctx.options.keep_mesh_proxy else None
    seen: set[str] = set()
    for index, raw in enumerate(task["containerDefinitions"]):
        item_scope = list_scope.at(index)
        source = as_dict(raw, item_scope)
        if source is None:
            continue
        original = to_str(source.get("name"), item_scope.at("name"))
        if not original or original in seen:
            item_scope.at("name").error(
                "duplicate container name: renamed"
                if original
                else "container without a name: one was made up"
            )
            original = f"{original or 'container'}-{index}"
        seen.add(original)
        if not isinstance(source.get("image"), str) or not source["image"]:
            from litekube.ecs.errors import EcsInputError

            raise EcsInputError(
                ctx.task_file, f"containerDefinitions[{index}] ({original}): image is required"
            )
        plan = ContainerPlan(index, source, item_scope, original, ctx.containers.assign(original))
        if mesh_proxy and original == mesh_proxy:
            plan.dropped = True
            item_scope.impossible(
                "App Mesh Envoy proxy: dropped",
                "App Mesh is discontinued (2026-09-30) and needs its control plane; use plain Services or a mesh",
            )
        elif "firelensConfiguration" in source and not ctx.options.keep_log_router:
            plan.dropped = True
            item_scope.impossible(
                "FireLens log router: dropped",
                "only the ECS agent wires other containers' output into it; run Fluent Bit as a DaemonSet",
            )
        ctx.plans.append(plan)
    if not any(not p.dropped for p in ctx.plans):
        # dropping would leave nothing to run: keep them after all
        for plan in ctx.plans:
            plan.dropped = False
    if mesh:
        _map_proxy_configuration(mesh, scope.at("proxyConfiguration"), ctx)
    return ctx.plans


def _map_proxy_configuration(mesh: dict[str, Any], scope: Scope, ctx: Context) -> None:
    name = mesh.get("containerName")
    if not any(p.original_name == name for p in ctx.plans):
        scope.at("containerName").error(f"proxy container {name!r} does not exist")
    scope.impossible(
        "App Mesh proxy configuration: no equivalent",
        "App Mesh is discontinued on 2026-09-30; use Services, a Kubernetes mesh (Istio/Linkerd) or VPC Lattice",
    )


def _map_roles_and_tags(task: dict[str, Any], scope: Scope, ctx: Context) -> None:
    role = to_str(task.get("taskRoleArn"), scope.at("taskRoleArn")) if "taskRoleArn" in task else None
    if role:
        ctx.pod["serviceAccountName"] = ctx.name
        meta = ctx.metadata(ctx.name, {"eks.amazonaws.com/role-arn": role})
        ctx.objects.insert(0, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
        scope.at("taskRoleArn").approx(
            f"ServiceAccount/{ctx.name}.metadata.annotations[eks.amazonaws.com/role-arn]",
            "task role → ServiceAccount with the IRSA annotation",
            "the role's trust policy must trust the cluster's OIDC provider instead of ecs-tasks.amazonaws.com",
        )
    execution = (
        to_str(task.get("executionRoleArn"), scope.at("executionRoleArn"))
        if "executionRoleArn" in task
        else None
    )
    if execution:
        ctx.annotations[annotation_key("execution-role-arn")] = execution
        scope.at("executionRoleArn").impossible(
            "annotation only",
            "the ECS agent's role: image pulls, secret fetches and log shipping are node/operator identities here",
        )
    if "revision" in task:
        revision = to_str(task["revision"], scope.at("revision"))
        if revision:
            ctx.annotations[annotation_key("revision")] = revision
            scope.at("revision").exact(f"metadata.annotations[{ANNOTATION_PREFIX}revision]", "annotation")
    if "family" in task:
        family = to_str(task["family"], scope.at("family"))
        if family and family != ctx.name:
            ctx.annotations[annotation_key("original-name")] = family
        scope.at("family").exact("metadata.name", f"sanitised to {ctx.name}; label app.kubernetes.io/name")
    map_tags(task.get("tags"), scope.at("tags"), ctx)


def map_tags(raw: object, scope: Scope, ctx: Context) -> None:
    for index, item in enumerate(as_list(raw, scope)):
        tag_scope = scope.at(index)
        tag = as_dict(item, tag_scope) or {}
        key = to_str(tag.get("key"), tag_scope.at("key"))
        value = to_str(tag.get("value"), tag_scope.at("value")) or ""
        if not key:
            tag_scope.error("tag without a key: dropped")
            continue
        from litekube.ecs.names import is_qualified_name

        if (
            is_qualified_name(key)
            and label_value(value) is not None
            and not key.startswith("app.kubernetes.io/")
        ):
            ctx.labels[key] = value
            tag_scope.exact(f"metadata.labels[{key}]", "tag → label")
        else:
            ctx.annotations[annotation_key(f"tag.{key}")] = value
            tag_scope.approx(
                f"metadata.annotations[{ANNOTATION_PREFIX}tag.*]", "not a valid label: kept as an annotation"
            )
