"""Load balancers and service discovery → Services (ECS-MAPPING §9.3, §9.4).

* `loadBalancers[{targetGroupArn|loadBalancerName, containerName, containerPort}]` →
  one `Service` named after the ECS service, type LoadBalancer (the ALB/NLB target group
  itself cannot be reused outside EKS; its ARN is kept as an annotation), one port per
  entry, targetPort = the container port (by name when the port is named);
* `serviceRegistries` (Cloud Map A/SRV records → task IPs) → a headless Service;
* `serviceConnectConfiguration.services[]` → one ClusterIP Service each, named
  `discoveryName || portName`, port = the first client alias port.
Service names are DNS-1035 labels (they must start with a letter).
"""

from __future__ import annotations

from typing import Any

from litekube.ecs.context import ContainerPlan, Context, annotation_key
from litekube.ecs.explain import Scope
from litekube.ecs.names import dns1035_label, port_name
from litekube.ecs.quirks import as_dict, as_list, to_bool, to_int, to_str


def build_services(service: dict[str, Any], scope: Scope, ctx: Context) -> list[dict[str, Any]]:
    base = to_str(service.get("serviceName"), scope.at("serviceName")) or ctx.name
    main_name = dns1035_label(base)
    services: list[dict[str, Any]] = []
    lb = _load_balancer_service(service, scope, ctx, main_name)
    if lb:
        services.append(lb)
    registry = _registry_service(service, scope, ctx, main_name + "-headless" if lb else main_name)
    if registry:
        services.append(registry)
    services.extend(_service_connect(service, scope, ctx, {s["metadata"]["name"] for s in services}))
    return services


def _target(item: dict[str, Any], item_scope: Scope, ctx: Context) -> tuple[ContainerPlan, int] | None:
    name = item.get("containerName")
    plan = ctx.find_plan(name)
    if plan is None:
        item_scope.error(f"container {name!r} does not exist (or was dropped): entry ignored")
        return None
    port = to_int(item.get("containerPort"), item_scope.at("containerPort"))
    if port is None or not 1 <= port <= 65535:
        item_scope.error("containerPort missing or invalid: entry ignored")
        return None
    if port not in plan.ports:
        item_scope.at("containerPort").approx(
            "", f"port {port} is not in {name}'s portMappings", "targeted by number"
        )
    return plan, port


def _service_port(plan: ContainerPlan, port: int, number: int | None = None) -> dict[str, Any]:
    named = next(
        (p.get("name") for p in plan.spec.get("ports", []) if p["containerPort"] == port and p.get("name")),
        None,
    )
    return {"port": number or port, "targetPort": named or port, "protocol": plan.ports.get(port, "TCP")}


def _new_service(ctx: Context, name: str, service_type: str, annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": ctx.metadata(name, annotations or None),
        "spec": {"type": service_type, "selector": ctx.selector(), "ports": []},
    }


def _add_port(svc: dict[str, Any], port: dict[str, Any]) -> bool:
    ports = svc["spec"]["ports"]
    if any(p["port"] == port["port"] and p["protocol"] == port["protocol"] for p in ports):
        return False
    ports.append(port)
    if len(ports) > 1:
        # several ports need unique names
        for index, entry in enumerate(ports):
            entry.setdefault("name", port_name(f"port-{entry['port']}") or f"p{index}")
    return True


def _load_balancer_service(
    service: dict[str, Any], scope: Scope, ctx: Context, name: str
) -> dict[str, Any] | None:
    lb_scope = scope.at("loadBalancers")
    entries = as_list(service.get("loadBalancers"), lb_scope)
    if not entries:
        return None
    annotations: dict[str, str] = {}
    svc = _new_service(ctx, name, "LoadBalancer", annotations)
    for index, raw in enumerate(entries):
        item_scope = lb_scope.at(index)
        item = as_dict(raw, item_scope)
        if item is None:
            continue
        target = _target(item, item_scope, ctx)
        if target is None:
            continue
        _add_port(svc, _service_port(*target))
        arn = to_str(item.get("targetGroupArn"), item_scope.at("targetGroupArn"))
        if arn:
            annotations[annotation_key(f"target-group-arn.{index}")] = arn
            item_scope.at("targetGroupArn").approx(
                f"Service/{name}.metadata.annotations",
                "target group → Service type LoadBalancer",
                "on EKS prefer a TargetGroupBinding (AWS Load Balancer Controller) or an Ingress for ALBs; "
                "the target group's health check is not in the input",
            )
        if "loadBalancerName" in item:
            item_scope.at("loadBalancerName").approx(
                f"Service/{name}", "Classic ELB → Service type LoadBalancer"
            )
        item_scope.at("containerName").exact(f"Service/{name}.spec.selector", "the pods of this workload")
        item_scope.at("containerPort").exact(f"Service/{name}.spec.ports[].targetPort", "port and targetPort")
    if not svc["spec"]["ports"]:
        return None
    if annotations:
        svc["metadata"]["annotations"] = annotations
    return svc


def _registry_service(
    service: dict[str, Any], scope: Scope, ctx: Context, name: str
) -> dict[str, Any] | None:
    reg_scope = scope.at("serviceRegistries")
    entries = as_list(service.get("serviceRegistries"), reg_scope)
    if not entries:
        return None
    svc = _new_service(ctx, name, "ClusterIP", {})
    svc["spec"]["clusterIP"] = "None"
    for index, raw in enumerate(entries):
        item_scope = reg_scope.at(index)
        item = as_dict(raw, item_scope)
        if item is None:
            continue
        arn = to_str(item.get("registryArn"), item_scope.at("registryArn")) or ""
        svc["metadata"].setdefault("annotations", {})[annotation_key(f"registry-arn.{index}")] = arn
        if "containerName" in item:
            target = _target(item, item_scope, ctx)
            if target:
                _add_port(svc, _service_port(*target))
        elif "port" in item:
            port = to_int(item["port"], item_scope.at("port"))
            if port and 1 <= port <= 65535:
                _add_port(svc, {"port": port, "targetPort": port, "protocol": "TCP"})
        item_scope.approx(
            f"Service/{name} (clusterIP: None)",
            "Cloud Map → headless Service (DNS returns pod IPs)",
            f"the DNS name becomes {name}.<namespace>.svc.cluster.local",
        )
    if not svc["spec"]["ports"]:
        del svc["spec"]["ports"]
    return svc


def _service_connect(
    service: dict[str, Any], scope: Scope, ctx: Context, taken: set[str]
) -> list[dict[str, Any]]:
    sc_scope = scope.at("serviceConnectConfiguration")
    config = as_dict(service.get("serviceConnectConfiguration"), sc_scope)
    if config is None:
        return []
    if "enabled" in config:
        to_bool(config["enabled"], sc_scope.at("enabled"))
        sc_scope.at("enabled").exact("", "Services are always on")
    if "namespace" in config:
        sc_scope.at("namespace").approx("metadata.namespace", "use --namespace", "")
    if "logConfiguration" in config:
        sc_scope.at("logConfiguration").impossible("managed proxy logs: no proxy here")
    result: list[dict[str, Any]] = []
    for index, raw in enumerate(as_list(config.get("services"), sc_scope.at("services"))):
        item_scope = sc_scope.at("services").at(index)
        item = as_dict(raw, item_scope)
        if item is None:
            continue
        port_key = to_str(item.get("portName"), item_scope.at("portName")) or ""
        plan, k8s_port = _find_named_port(ctx, port_key)
        if plan is None or k8s_port is None:
            item_scope.error(f"portName {port_key!r} is not a named portMapping: entry ignored")
            continue
        discovery = to_str(item.get("discoveryName"), item_scope.at("discoveryName")) or port_key
        name = dns1035_label(discovery)
        if name in taken:
            item_scope.error(f"Service name {name} already used: entry ignored")
            continue
        taken.add(name)
        aliases = as_list(item.get("clientAliases"), item_scope.at("clientAliases"))
        first = as_dict(aliases[0], item_scope.at("clientAliases").at(0)) if aliases else None
        number = to_int(first.get("port"), item_scope.at("clientAliases").at(0).at("port")) if first else None
        svc = _new_service(ctx, name, "ClusterIP", {})
        _add_port(svc, _service_port(plan, k8s_port, number if number and 1 <= number <= 65535 else None))
        result.append(svc)
        item_scope.approx(
            f"Service/{name}",
            "Service Connect service → ClusterIP Service",
            "retries, timeouts, TLS and outlier detection of the managed proxy need a mesh; extra dnsNames are not kept",
        )
    return result


def _find_named_port(ctx: Context, ecs_name: str) -> tuple[ContainerPlan | None, int | None]:
    for plan in ctx.plans:
        k8s_name = plan.port_names.get(ecs_name)
        if k8s_name and not plan.dropped:
            for port in plan.spec.get("ports", []):
                if port.get("name") == k8s_name:
                    return plan, int(port["containerPort"])
    return None, None
