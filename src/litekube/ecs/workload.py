"""The workload object and the ECS service fields that shape it (ECS-MAPPING §9.1, §9.2, §9.6).

Kind: a service with `schedulingStrategy: DAEMON` → DaemonSet, any other service →
Deployment, a schedule → CronJob (schedule.py), a task definition alone → Deployment
with one replica (or `--kind`).

Rolling update: maxSurge = max(0, maximumPercent - 100)%, maxUnavailable =
max(0, 100 - minimumHealthyPercent)%. Worked example: ECS defaults 200/100 → 100%/0%.
Kubernetes rejects 0/0 (ECS max 100 / min 100), so maxUnavailable becomes 1. ECS floors
the max count while Kubernetes rounds the surge up: desired 3, max 150% → ECS adds 1
task, Kubernetes may add 2 pods. A DaemonSet may not set both fields non-zero.
"""

from __future__ import annotations

import math
from typing import Any

from litekube.ecs import networking, placement
from litekube.ecs.context import ANNOTATION_PREFIX, DAEMONSET, DEPLOYMENT, JOB, Context, annotation_key
from litekube.ecs.explain import Scope
from litekube.ecs.quirks import as_dict, to_bool, to_int, to_str, to_str_list

IGNORED_SERVICE_FIELDS = (
    "serviceArn",
    "clusterArn",
    "status",
    "runningCount",
    "pendingCount",
    "deployments",
    "events",
    "createdAt",
    "createdBy",
    "roleArn",
    "taskSets",
    "platformVersion",
    "platformFamily",
    "role",
    "clientToken",
    "currentServiceDeployment",
    "currentServiceRevisions",
)


def service_kind(service: dict[str, Any] | None, scope: Scope | None) -> str:
    if service is None or scope is None:
        return DEPLOYMENT
    strategy = to_str(service.get("schedulingStrategy"), scope.at("schedulingStrategy"))
    if strategy is None:
        return DEPLOYMENT
    if strategy.upper() == "DAEMON":
        scope.at("schedulingStrategy").exact("kind", "DAEMON → DaemonSet")
        return DAEMONSET
    if strategy.upper() == "REPLICA":
        scope.at("schedulingStrategy").exact("kind", "REPLICA → Deployment")
    else:
        scope.at("schedulingStrategy").approx(
            "kind", f"invalid strategy {strategy!r} → Deployment", "ECS accepts REPLICA or DAEMON"
        )
    return DEPLOYMENT


def build_workload(
    ctx: Context, template: dict[str, Any], service: dict[str, Any] | None, scope: Scope | None
) -> list[dict[str, Any]]:
    """The workload plus Services; template must already hold the task's pod spec."""
    spec: dict[str, Any] = {}
    if ctx.kind == JOB:
        spec = {"parallelism": 1, "completions": 1, "backoffLimit": 0, "template": template}
        template["spec"]["restartPolicy"] = "Never"
        workload = {"apiVersion": "batch/v1", "kind": JOB, "metadata": ctx.metadata(ctx.name), "spec": spec}
        _finish_metadata(workload, ctx)
        return [workload]
    if ctx.kind == DEPLOYMENT:
        spec["replicas"] = 1
    spec["selector"] = {"matchLabels": ctx.selector()}
    services: list[dict[str, Any]] = []
    if service is not None and scope is not None:
        _map_service_fields(service, scope, ctx, spec, template)
        services = networking.build_services(service, scope, ctx)
    spec["template"] = template
    api = "apps/v1"
    workload = {"apiVersion": api, "kind": ctx.kind, "metadata": ctx.metadata(ctx.name), "spec": spec}
    _finish_metadata(workload, ctx)
    return [workload, *services]


def _finish_metadata(workload: dict[str, Any], ctx: Context) -> None:
    workload["metadata"]["labels"].update(ctx.labels)
    if ctx.annotations:
        workload["metadata"]["annotations"] = dict(ctx.annotations)


def _map_service_fields(
    service: dict[str, Any], scope: Scope, ctx: Context, spec: dict[str, Any], template: dict[str, Any]
) -> None:
    if ctx.kind == DEPLOYMENT and "desiredCount" in service:
        count = to_int(service["desiredCount"], scope.at("desiredCount"), minimum=0)
        if count is not None:
            spec["replicas"] = count
            scope.at("desiredCount").exact("spec.replicas", "as is")
    elif "desiredCount" in service:
        scope.at("desiredCount").ignored("a DaemonSet runs one pod per node")
    _map_deployment_configuration(service, scope, ctx, spec)
    placement.map_strategies(service.get("placementStrategy"), scope.at("placementStrategy"), ctx)
    placement.map_constraints(service.get("placementConstraints"), scope.at("placementConstraints"), ctx)
    for key in ("affinity", "topologySpreadConstraints", "nodeSelector"):
        if key in ctx.pod:
            template["spec"][key] = ctx.pod[key]
    if "serviceName" in service:
        scope.at("serviceName").exact("metadata.name (workload and Service)", "sanitised")
    if "cluster" in service:
        cluster = to_str(service["cluster"], scope.at("cluster")) or ""
        scope.at("cluster").approx(
            "metadata.namespace", "not applied", f"use --namespace (e.g. {cluster.lower()!r}) if wanted"
        )
    if "taskDefinition" in service:
        _check_task_reference(service["taskDefinition"], scope.at("taskDefinition"), ctx)
    if "launchType" in service:
        scope.at("launchType").approx("", "informational: node pools decide", "")
    if "capacityProviderStrategy" in service:
        scope.at("capacityProviderStrategy").approx(
            "",
            "use nodeSelector/tolerations for spot or on-demand pools",
            "base/weight splits are not expressible",
        )
    network = as_dict(service.get("networkConfiguration"), scope.at("networkConfiguration")) or {}
    vpc_scope = scope.at("networkConfiguration").at("awsvpcConfiguration")
    vpc = as_dict(network.get("awsvpcConfiguration"), vpc_scope) or {}
    groups = to_str_list(vpc.get("securityGroups"), vpc_scope.at("securityGroups")) or []
    if groups:
        template["metadata"].setdefault("annotations", {})[annotation_key("security-groups")] = ",".join(
            groups
        )
        vpc_scope.at("securityGroups").approx(
            f"{ctx.pod_path()}/metadata.annotations[{ANNOTATION_PREFIX}security-groups]",
            "annotation",
            "use an EKS SecurityGroupPolicy or a NetworkPolicy (the rules are not in the input)",
        )
    for key in ("subnets", "assignPublicIp"):
        if key in vpc:
            vpc_scope.at(key).impossible("the cluster's node networking decides")
    grace = to_int(
        service.get("healthCheckGracePeriodSeconds"), scope.at("healthCheckGracePeriodSeconds"), minimum=0
    )
    if grace:
        _apply_grace_period(grace, scope.at("healthCheckGracePeriodSeconds"), template, ctx)
    map_service_tags(service, scope, ctx)
    template["metadata"]["labels"].update(ctx.labels)
    for key, rule in (
        ("enableExecuteCommand", "kubectl exec is governed by RBAC"),
        ("deploymentController", "CODE_DEPLOY/EXTERNAL blue/green → Argo Rollouts or Flagger"),
        (
            "volumeConfigurations",
            "managed EBS → generic ephemeral volumes (see the task's configuredAtLaunch volume)",
        ),
        ("availabilityZoneRebalancing", "topologySpreadConstraints + the descheduler"),
    ):
        if key in service:
            scope.at(key).approx("", rule)
    if "vpcLatticeConfigurations" in service:
        scope.at("vpcLatticeConfigurations").impossible("Gateway API + the AWS Gateway API controller")
    for key in IGNORED_SERVICE_FIELDS:
        if key in service:
            scope.at(key).ignored("runtime/describe field or launch detail")


def _map_deployment_configuration(
    service: dict[str, Any], scope: Scope, ctx: Context, spec: dict[str, Any]
) -> None:
    config_scope = scope.at("deploymentConfiguration")
    config = as_dict(service.get("deploymentConfiguration"), config_scope) or {}
    daemon = ctx.kind == DAEMONSET
    maximum = to_int(config.get("maximumPercent"), config_scope.at("maximumPercent"), minimum=0)
    minimum = to_int(config.get("minimumHealthyPercent"), config_scope.at("minimumHealthyPercent"), minimum=0)
    maximum = (100 if daemon else 200) if maximum is None else maximum
    minimum = (0 if daemon else 100) if minimum is None else minimum
    surge = max(0, maximum - 100)
    unavailable = min(100, max(0, 100 - minimum))
    rolling: dict[str, Any] = {"maxSurge": f"{surge}%", "maxUnavailable": f"{unavailable}%"}
    where = "spec.updateStrategy.rollingUpdate" if daemon else "spec.strategy.rollingUpdate"
    if surge == 0 and unavailable == 0:
        rolling["maxUnavailable"] = 1
        config_scope.approx(f"{where}.maxUnavailable", "0/0 is rejected by Kubernetes: maxUnavailable 1")
    elif daemon and surge and unavailable:
        rolling["maxSurge"] = 0
        config_scope.approx(
            f"{where}.maxSurge", "a DaemonSet cannot surge and be unavailable at once: maxSurge 0"
        )
    if "maximumPercent" in config:
        config_scope.at("maximumPercent").approx(
            f"{where}.maxSurge",
            f"max(0, maximumPercent-100)% = {rolling['maxSurge']}",
            "Kubernetes rounds the surge up, ECS floors",
        )
    if "minimumHealthyPercent" in config:
        config_scope.at("minimumHealthyPercent").exact(
            f"{where}.maxUnavailable", f"100-minimumHealthyPercent = {rolling['maxUnavailable']}"
        )
    if daemon:
        spec["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": rolling}
    else:
        spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": rolling}
    breaker_scope = config_scope.at("deploymentCircuitBreaker")
    breaker = as_dict(config.get("deploymentCircuitBreaker"), breaker_scope) or {}
    if to_bool(breaker.get("enable"), breaker_scope.at("enable")) and not daemon:
        spec["progressDeadlineSeconds"] = 600
        breaker_scope.at("enable").approx(
            "spec.progressDeadlineSeconds", "stuck rollouts are marked Progressing=False after 600 s"
        )
    elif "enable" in breaker:
        breaker_scope.at("enable").exact("", "disabled or not applicable")
    if "rollback" in breaker:
        breaker_scope.at("rollback").impossible(
            "no automatic rollback",
            "run `kubectl rollout status --timeout ... || kubectl rollout undo` in CI, or Argo Rollouts",
        )
    if "alarms" in config:
        config_scope.at("alarms").impossible("CloudWatch alarm rollback", "Argo Rollouts AnalysisTemplate")
    for key in config:
        if key not in ("maximumPercent", "minimumHealthyPercent", "deploymentCircuitBreaker", "alarms"):
            config_scope.at(key).approx("", "blue/green, hooks and bake time → Argo Rollouts or Flagger")


def _check_task_reference(raw: object, scope: Scope, ctx: Context) -> None:
    reference = to_str(raw, scope) or ""
    family = reference.rsplit("/", 1)[-1].split(":", 1)[0]
    original = ctx.annotations.get(annotation_key("original-name"), ctx.name)
    if family and family not in (original, ctx.name):
        scope.error(f"names task family {family!r}, but the task definition given is {original!r}")
    else:
        scope.exact("", "refers to the task definition given")


def _apply_grace_period(grace: int, scope: Scope, template: dict[str, Any], ctx: Context) -> None:
    changed = False
    pod = template["spec"]
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        probe = container.get("livenessProbe")
        if probe is None or "startupProbe" in container:
            continue
        container["startupProbe"] = {
            **probe,
            "failureThreshold": max(probe["failureThreshold"], math.ceil(grace / probe["periodSeconds"])),
        }
        changed = True
    if changed:
        scope.approx(
            f"{ctx.pod_path()}.containers[].startupProbe",
            "grace period → startup probe tolerance ceil(G/period)",
        )
    else:
        scope.approx("", "no probe to delay", "pods count as ready when they run")


def map_service_tags(service: dict[str, Any], scope: Scope, ctx: Context) -> None:
    from litekube.ecs.task import map_tags

    if "tags" in service:
        map_tags(service["tags"], scope.at("tags"), ctx)
    for key in ("propagateTags", "enableECSManagedTags"):
        if key in service:
            scope.at(key).exact("", "labels go on the workload and the pod template")
