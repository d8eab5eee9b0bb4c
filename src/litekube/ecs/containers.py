"""Container-definition fields that map onto the container itself or onto simple
pod-level fields (ECS-MAPPING §4): image, entryPoint/command, ports, working directory,
terminal flags, stop timeout, hostname, links/extraHosts/DNS, docker labels.

Security, resources, probes, environment, volumes and logging have their own modules;
`map_container` calls them all in a fixed order so the output is stable.
"""

from __future__ import annotations

from typing import Any

from litekube.ecs import environment, log_routing, probes, resources, security, volumes
from litekube.ecs.context import ContainerPlan, Context, annotation_key
from litekube.ecs.explain import Severity
from litekube.ecs.names import DNS1123_LABEL, DNS1123_SUBDOMAIN, is_qualified_name, port_name
from litekube.ecs.quirks import as_dict, as_list, escape_dollar, to_bool, to_int, to_str, to_str_list

_PROTOCOLS = {"tcp": "TCP", "udp": "UDP"}
# appProtocol values of Service Connect → Kubernetes Service appProtocol
APP_PROTOCOLS = {"http": "http", "http2": "kubernetes.io/h2c", "grpc": "grpc"}


def map_container(plan: ContainerPlan, ctx: Context, used_port_names: set[str]) -> None:
    src, scope = plan.source, plan.scope
    path = ctx.container_path(plan)
    plan.spec["name"] = plan.name
    scope.at("name").exact(
        f"{path}.name", "sanitised to a DNS-1123 label" if plan.name != plan.original_name else "as is"
    )
    image = to_str(src.get("image"), scope.at("image"))
    plan.spec["image"] = image or ""
    if image:
        note = "a moving tag: consider pinning a digest" if image.endswith(":latest") else ""
        scope.at("image").exact(f"{path}.image", "as is", note)
    if "entryPoint" in src:
        entry = to_str_list(src["entryPoint"], scope.at("entryPoint"))
        if entry:
            plan.spec["command"] = [escape_dollar(a) for a in entry]
            scope.at("entryPoint").exact(f"{path}.command", "ENTRYPOINT → command ($( escaped as $$()")
    if "command" in src:
        command = to_str_list(src["command"], scope.at("command"))
        if command:
            plan.spec["args"] = [escape_dollar(a) for a in command]
            scope.at("command").exact(f"{path}.args", "CMD → args ($( escaped as $$()")
    if "workingDirectory" in src:
        workdir = to_str(src["workingDirectory"], scope.at("workingDirectory"))
        if workdir:
            plan.spec["workingDir"] = workdir
            scope.at("workingDirectory").exact(f"{path}.workingDir", "as is")
    _map_ports(plan, ctx, used_port_names)
    for ecs_key, k8s_key in (("interactive", "stdin"), ("pseudoTerminal", "tty")):
        if ecs_key in src:
            flag = to_bool(src[ecs_key], scope.at(ecs_key))
            if flag:
                plan.spec[k8s_key] = True
            scope.at(ecs_key).exact(f"{path}.{k8s_key}", f"{ecs_key} → {k8s_key}")
    resources.map_container_resources(plan, ctx)
    probes.build_probes(plan, ctx)
    environment.map_environment(plan, ctx)
    security.map_security(plan, ctx)
    volumes.map_mount_points(plan, ctx)
    log_routing.map_logging(plan, ctx)
    _map_pod_level(plan, ctx)
    _map_misc(plan, ctx)


def _map_ports(plan: ContainerPlan, ctx: Context, used_names: set[str]) -> None:
    scope = plan.scope.at("portMappings")
    path = ctx.container_path(plan)
    ports: list[dict[str, Any]] = []
    for index, raw in enumerate(as_list(plan.source.get("portMappings"), scope)):
        item_scope = scope.at(index)
        item = as_dict(raw, item_scope)
        if item is None:
            continue
        numbers: list[int] = []
        if "containerPort" in item:
            number = to_int(item["containerPort"], item_scope.at("containerPort"))
            if number is not None and 1 <= number <= 65535:
                numbers.append(number)
                item_scope.at("containerPort").exact(f"{path}.ports[].containerPort", "as is")
            elif number is not None:
                item_scope.at("containerPort").error("port outside 1-65535: dropped", f"value {number}")
        if "containerPortRange" in item:
            numbers.extend(
                _expand_range(item["containerPortRange"], item_scope.at("containerPortRange"), path)
            )
        protocol = "TCP"
        if "protocol" in item:
            text = to_str(item["protocol"], item_scope.at("protocol")) or ""
            if text.lower() in _PROTOCOLS:
                protocol = _PROTOCOLS[text.lower()]
                item_scope.at("protocol").exact(f"{path}.ports[].protocol", f"{text} → {protocol}")
            else:
                item_scope.at("protocol").approx(
                    f"{path}.ports[].protocol",
                    f"invalid protocol {text!r} → TCP",
                    "ECS accepts only tcp or udp",
                )
        name = None
        if "name" in item and len(numbers) != 1:
            item_scope.at("name").approx("", "no single valid port to name: left unnamed")
        elif "name" in item:
            original = to_str(item["name"], item_scope.at("name"))
            name = port_name(original) if original else None
            if name and name not in used_names:
                used_names.add(name)
                plan.port_names[str(original)] = name
                item_scope.at("name").exact(f"{path}.ports[].name", "sanitised to an IANA service name")
            else:
                item_scope.at("name").approx("", "not a usable unique port name: port left unnamed")
                name = None
        if "hostPort" in item:
            host = to_int(item["hostPort"], item_scope.at("hostPort"))
            if ctx.network_mode == "host":
                item_scope.at("hostPort").exact(
                    f"{path}.ports[].hostPort", "host network: hostPort = containerPort"
                )
            elif host:
                item_scope.at("hostPort").approx(
                    "",
                    "dropped: the pod has its own IP",
                    "expose the port with a Service (NodePort/LoadBalancer)",
                )
            else:
                item_scope.at("hostPort").exact("", "dynamic host port: nothing to map")
        if "appProtocol" in item:
            app = to_str(item["appProtocol"], item_scope.at("appProtocol")) or ""
            item_scope.at("appProtocol").approx(
                "Service.spec.ports[].appProtocol",
                f"{app} → {APP_PROTOCOLS.get(app.lower(), app)} on Services",
            )
        for number in numbers:
            if number in plan.ports and plan.ports[number] == protocol:
                item_scope.approx("", f"duplicate port {number}/{protocol}: merged")
                continue
            for other in ctx.plans:
                if (
                    other is not plan
                    and not other.dropped
                    and plan.ports.get(number) is None
                    and number in other.ports
                ):
                    item_scope.approx(
                        "",
                        f"port {number} also used by container {other.original_name}",
                        "containers of a pod share one network namespace: the ports will collide",
                    )
            port: dict[str, Any] = {"containerPort": number, "protocol": protocol}
            if name and len(numbers) == 1:
                port = {"name": name, **port}
            if ctx.network_mode == "host":
                port["hostPort"] = number
            plan.ports[number] = protocol
            ports.append(port)
        for key in item:
            if key not in (
                "containerPort",
                "containerPortRange",
                "protocol",
                "name",
                "hostPort",
                "appProtocol",
            ):
                item_scope.at(key).record("", "unknown portMappings field", Severity.UNMAPPED)
    if ports:
        plan.spec["ports"] = ports


def _expand_range(value: object, scope: Any, path: str, limit: int = 100) -> list[int]:
    text = to_str(value, scope) or ""
    low, _, high = text.partition("-")
    if low.strip().isdigit() and high.strip().isdigit():
        first, last = int(low), int(high)
        if 1 <= first <= last <= 65535 and last - first < limit:
            scope.approx(f"{path}.ports[]", f"range expanded into {last - first + 1} ports")
            return list(range(first, last + 1))
    scope.impossible("port range too large or malformed", f"Kubernetes has no port ranges; value {text!r}")
    return []


def _map_pod_level(plan: ContainerPlan, ctx: Context) -> None:
    src, scope, pod = plan.source, plan.scope, ctx.pod
    pod_path = ctx.pod_path()
    if "links" in src:
        for index, link in enumerate(to_str_list(src["links"], scope.at("links")) or []):
            target, _, alias = link.partition(":")
            if ctx.find_plan(target) is None:
                scope.at("links").at(index).error(f"link to unknown container {target!r}: dropped")
                continue
            # the sanitised name too: Docker allowed "_" in hostnames, Kubernetes does not
            names = [n for n in (alias, target, ctx.containers.get(target)) if n]
            _add_host_alias(pod, "127.0.0.1", names)
            scope.at("links").at(index).approx(
                f"{pod_path}.hostAliases[ip=127.0.0.1]",
                "link → hostAlias to 127.0.0.1",
                "containers of a pod share localhost; the old hostnames keep resolving",
            )
    for index, raw in enumerate(as_list(src.get("extraHosts"), scope.at("extraHosts"))):
        item_scope = scope.at("extraHosts").at(index)
        item = as_dict(raw, item_scope) or {}
        host = to_str(item.get("hostname"), item_scope.at("hostname"))
        address = to_str(item.get("ipAddress"), item_scope.at("ipAddress"))
        if host and address and _is_ip(address):
            _add_host_alias(pod, address, [host])
            item_scope.exact(f"{pod_path}.hostAliases[ip={address}]", "grouped by IP (pod-level)")
        else:
            item_scope.error("hostname and a valid ipAddress needed: dropped")
    for ecs_key, k8s_key in (("dnsServers", "nameservers"), ("dnsSearchDomains", "searches")):
        if ecs_key in src:
            values = to_str_list(src[ecs_key], scope.at(ecs_key)) or []
            config = pod.setdefault("dnsConfig", {})
            current = config.setdefault(k8s_key, [])
            for value in values:
                if value not in current and (k8s_key != "nameservers" or _is_ip(value)):
                    current.append(value)
            # cluster DNS stays first (dnsPolicy ClusterFirst), so at most 2 extra nameservers fit
            if k8s_key == "nameservers" and len(current) > 2:
                del current[2:]
            if k8s_key == "searches" and len(current) > 32:
                del current[32:]
            if not current:
                del config[k8s_key]
            if not config:
                del pod["dnsConfig"]
            scope.at(ecs_key).approx(f"{pod_path}.dnsConfig.{k8s_key}", "pod-level, merged over containers")
    if "hostname" in src:
        host = to_str(src["hostname"], scope.at("hostname"))
        if host and "hostname" not in pod and DNS1123_LABEL.match(host) and ctx.network_mode != "host":
            pod["hostname"] = host
            scope.at("hostname").approx(
                f"{pod_path}.hostname", "pod-level: the first container's hostname wins"
            )
        else:
            scope.at("hostname").approx("", "not applied", "pod-level, must be a DNS label; one per pod")
    if "disableNetworking" in src:
        flag = to_bool(src["disableNetworking"], scope.at("disableNetworking"))
        if flag:
            scope.at("disableNetworking").impossible("a pod always has a network namespace")
        else:
            scope.at("disableNetworking").exact("", "false: the default")
    if "stopTimeout" in src:
        timeout = to_int(src["stopTimeout"], scope.at("stopTimeout"), minimum=0)
        if timeout is not None:
            pod["terminationGracePeriodSeconds"] = max(pod.get("terminationGracePeriodSeconds", 30), timeout)
            scope.at("stopTimeout").approx(
                f"{pod_path}.terminationGracePeriodSeconds",
                "max(stopTimeout of all containers, 30)",
                "pod-level",
            )
    labels = as_dict(src.get("dockerLabels"), scope.at("dockerLabels")) or {}
    for key, value in labels.items():
        text = to_str(value, scope.at("dockerLabels").at(str(key)))
        if text is None:
            continue
        if is_qualified_name(str(key)):
            ctx.pod_annotations[str(key)] = text
            scope.at("dockerLabels").at(str(key)).approx(
                f"{pod_path}/metadata.annotations[{key}]", "docker label → pod annotation (pod-level merge)"
            )
        else:
            scope.at("dockerLabels").at(str(key)).impossible("not a valid annotation key: dropped")


def _map_misc(plan: ContainerPlan, ctx: Context) -> None:
    src, scope = plan.source, plan.scope
    if "startTimeout" in src:
        timeout = to_int(src["startTimeout"], scope.at("startTimeout"), minimum=0)
        if timeout is not None:
            ctx.pod_annotations[annotation_key(f"start-timeout.{plan.name}")] = str(timeout)
        scope.at("startTimeout").impossible(
            "annotation only", "Kubernetes waits for init containers and sidecars without a timeout"
        )
    if "versionConsistency" in src:
        scope.at("versionConsistency").approx("", "not needed", "pin images by digest for the same guarantee")
    if "restartPolicy" in src:
        scope.at("restartPolicy").approx(
            "",
            "Deployment pods restart containers already",
            "ignoredExitCodes need container restart rules (alpha); restartAttemptPeriod has no equivalent",
        )
    if "credentialSpecs" in src:
        scope.at("credentialSpecs").impossible(
            "Windows gMSA needs the gMSA webhook", "set windowsOptions by hand"
        )


def _add_host_alias(pod: dict[str, Any], address: str, names: list[str]) -> None:
    # hostAliases hostnames must be DNS-1123 subdomains
    names = [n.lower() for n in names if len(n) <= 253 and DNS1123_SUBDOMAIN.match(n.lower())]
    if not names:
        return
    aliases = pod.setdefault("hostAliases", [])
    for alias in aliases:
        if alias["ip"] == address:
            alias["hostnames"].extend(n for n in names if n not in alias["hostnames"])
            return
    aliases.append({"ip": address, "hostnames": list(dict.fromkeys(names))})


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
