"""Logging (ECS-MAPPING §10): Kubernetes has no per-pod log driver.

Containers log to stdout/stderr and a node-level agent ships the logs, so every
`logConfiguration` is reported as approximate and its routing data is kept where a log
agent can use it: `awslogs` options become pod annotations, `awsfirelens` options become
a suggested Fluent Bit `[OUTPUT]` section in a ConfigMap. The FireLens router container
itself is dropped by the converter (`task.py`), because only the ECS agent wires
application output into it.
"""

from __future__ import annotations

from litekube.ecs.context import ContainerPlan, Context, annotation_key
from litekube.ecs.names import config_key, dns_label
from litekube.ecs.quirks import as_dict, to_str


def map_logging(plan: ContainerPlan, ctx: Context) -> None:
    scope = plan.scope.at("logConfiguration")
    config = as_dict(plan.source.get("logConfiguration"), scope)
    if config is not None:
        driver = to_str(config.get("logDriver"), scope.at("logDriver")) or ""
        options = as_dict(config.get("options"), scope.at("options")) or {}
        pod_path = ctx.pod_path()
        if driver == "awsfirelens":
            _firelens_output(plan, ctx, {str(k): str(v) for k, v in options.items()})
            scope.approx(
                f"ConfigMap/{ctx.name}-fluent-bit",
                "awsfirelens options → suggested Fluent Bit [OUTPUT] section",
                "no FireLens wiring in Kubernetes: run Fluent Bit as a node agent (DaemonSet) tailing container logs",
            )
        else:
            if driver == "awslogs" and "awslogs-group" in options:
                key = annotation_key(f"awslogs-group.{plan.name}")
                ctx.pod_annotations[key] = str(options["awslogs-group"])
            scope.approx(
                f"{pod_path}/metadata.annotations[ecs-import/awslogs-group.*]" if driver == "awslogs" else "",
                f"log driver {driver or '(none)'} → stdout/stderr + node log agent",
                "Kubernetes has no per-pod log driver; the awslogs group is kept as an annotation for routing",
            )
        if "secretOptions" in config:
            scope.at("secretOptions").impossible("log-agent credentials: configure the node agent instead")
    if "firelensConfiguration" in plan.source:
        plan.scope.at("firelensConfiguration").impossible(
            "FireLens log router: no Kubernetes equivalent",
            "the ECS agent routes other containers' output into it; use a Fluent Bit DaemonSet",
        )


def _firelens_output(plan: ContainerPlan, ctx: Context, options: dict[str, str]) -> None:
    lines = ["[OUTPUT]"]
    lines += [f"    {key} {value}" for key, value in options.items()]
    lines.append(f"    Match kube.*{plan.name}*")
    name = dns_label(f"{ctx.name}-fluent-bit", 253)
    for obj in ctx.objects:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == name:
            obj["data"][config_key(f"{plan.name}.conf")] = "\n".join(lines) + "\n"
            return
    ctx.add_object(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": ctx.metadata(
                name, {annotation_key("note"): "suggested Fluent Bit outputs from awsfirelens log options"}
            ),
            "data": {config_key(f"{plan.name}.conf"): "\n".join(lines) + "\n"},
        }
    )
