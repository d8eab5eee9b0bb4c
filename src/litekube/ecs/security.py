"""User, privileges and Linux parameters (ECS-MAPPING §4).

`user` → runAsUser/runAsGroup (numbers only: names stay unset and are reported);
`privileged`, `readonlyRootFilesystem`, `linuxParameters.capabilities` → the container
securityContext; `dockerSecurityOptions` → allowPrivilegeEscalation / AppArmor /
SELinux; `systemControls` → pod sysctls; tmpfs and shared memory → memory-backed
emptyDirs (volumes.py). What has no API in Kubernetes is reported: ulimits, devices,
swap, the init process.
"""

from __future__ import annotations

import re
from typing import Any

from litekube.ecs import volumes
from litekube.ecs.context import ContainerPlan, Context, annotation_key
from litekube.ecs.quirks import as_dict, as_list, to_bool, to_str, to_str_list

_SYSCTL_NAME = re.compile(r"^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$")
# sysctls the kubelet allows without --allowed-unsafe-sysctls
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)
_MAX_ID = 2**31 - 1


def map_security(plan: ContainerPlan, ctx: Context) -> None:
    src, scope = plan.source, plan.scope
    path = ctx.container_path(plan)
    context: dict[str, Any] = {}
    if "user" in src:
        _map_user(to_str(src["user"], scope.at("user")), plan, context, path)
    for ecs_key, k8s_key in (
        ("privileged", "privileged"),
        ("readonlyRootFilesystem", "readOnlyRootFilesystem"),
    ):
        if ecs_key in src:
            flag = to_bool(src[ecs_key], scope.at(ecs_key))
            if flag is not None:
                if flag:
                    context[k8s_key] = True
                note = "not allowed on EKS Fargate" if ecs_key == "privileged" and flag else ""
                scope.at(ecs_key).exact(f"{path}.securityContext.{k8s_key}", "as is", note)
    params = as_dict(src.get("linuxParameters"), scope.at("linuxParameters"))
    if params is not None:
        _map_linux_parameters(params, plan, ctx, context, path)
    for index, option in enumerate(
        to_str_list(src.get("dockerSecurityOptions"), scope.at("dockerSecurityOptions")) or []
    ):
        _map_security_option(option, plan, context, path, index)
    if context.get("privileged") and context.get("allowPrivilegeEscalation") is False:
        # the API server rejects privileged together with allowPrivilegeEscalation: false
        del context["allowPrivilegeEscalation"]
        scope.at("dockerSecurityOptions").error("no-new-privileges contradicts privileged: dropped")
    if context:
        plan.spec["securityContext"] = context
    if "ulimits" in src:
        limits = []
        for index, raw in enumerate(as_list(src["ulimits"], scope.at("ulimits"))):
            item = as_dict(raw, scope.at("ulimits").at(index)) or {}
            limits.append(f"{item.get('name')}={item.get('softLimit')}:{item.get('hardLimit')}")
        ctx.pod_annotations[annotation_key(f"ulimits.{plan.name}")] = ",".join(limits)
        scope.at("ulimits").impossible(
            "no rlimit API: kept as an annotation",
            "the runtime default applies; wrap the command with `sh -c 'ulimit -n N; exec ...'` if needed",
        )
    if "systemControls" in src:
        _map_sysctls(plan, ctx)


def _map_user(user: str | None, plan: ContainerPlan, context: dict[str, Any], path: str) -> None:
    scope = plan.scope.at("user")
    if not user:
        scope.ignored("empty user: the image USER applies")
        return
    uid, _, gid = user.partition(":")
    if uid.isdigit() and int(uid) <= _MAX_ID and (not gid or (gid.isdigit() and int(gid) <= _MAX_ID)):
        context["runAsUser"] = int(uid)
        if gid:
            context["runAsGroup"] = int(gid)
        scope.exact(f"{path}.securityContext.runAsUser", "uid[:gid] → runAsUser/runAsGroup")
    else:
        scope.approx(
            "", f"user name {user!r} left unset", "Kubernetes takes numeric ids only; the image USER applies"
        )


def _map_linux_parameters(
    params: dict[str, Any], plan: ContainerPlan, ctx: Context, context: dict[str, Any], path: str
) -> None:
    scope = plan.scope.at("linuxParameters")
    for key, value in params.items():
        key_scope = scope.at(key)
        if key == "capabilities":
            caps = as_dict(value, key_scope) or {}
            result: dict[str, list[str]] = {}
            for action in ("add", "drop"):
                names = to_str_list(caps.get(action), key_scope.at(action)) if action in caps else None
                if names:
                    result[action] = [n.upper().removeprefix("CAP_") for n in names if n.strip()]
                    key_scope.at(action).exact(
                        f"{path}.securityContext.capabilities.{action}", "CAP_ prefix removed"
                    )
            for other in caps:
                if other not in ("add", "drop"):
                    key_scope.at(other).ignored("unknown capabilities field")
            if result:
                context["capabilities"] = result
        elif key == "initProcessEnabled":
            flag = to_bool(value, key_scope)
            if flag:
                key_scope.impossible(
                    "Kubernetes has no --init",
                    "use tini/dumb-init in the image, or shareProcessNamespace so pause reaps zombies",
                )
            else:
                key_scope.exact("", "false: the default")
        elif key == "tmpfs":
            volumes.map_tmpfs(value, plan, ctx)
        elif key == "sharedMemorySize":
            volumes.map_shared_memory(value, plan, ctx)
        elif key == "devices":
            key_scope.impossible("no device API", "use a device plugin, or hostPath + privileged")
        elif key in ("maxSwap", "swappiness"):
            key_scope.impossible("swap is a node setting (NodeSwap / LimitedSwap)")
        else:
            key_scope.ignored("unknown linuxParameters field")


def _map_security_option(
    option: str, plan: ContainerPlan, context: dict[str, Any], path: str, index: int
) -> None:
    scope = plan.scope.at("dockerSecurityOptions").at(index)
    kind, _, value = option.partition(":")
    if option == "no-new-privileges":
        context["allowPrivilegeEscalation"] = False
        scope.exact(f"{path}.securityContext.allowPrivilegeEscalation", "no-new-privileges → false")
    elif kind == "apparmor" and value:
        if value == "unconfined":
            context["appArmorProfile"] = {"type": "Unconfined"}
        elif value in ("runtime/default", "docker-default"):
            context["appArmorProfile"] = {"type": "RuntimeDefault"}
        else:
            context["appArmorProfile"] = {"type": "Localhost", "localhostProfile": value}
        scope.exact(f"{path}.securityContext.appArmorProfile", "apparmor:<profile>")
    elif kind == "label" and value:
        field, _, setting = value.partition(":")
        if field in ("user", "role", "type", "level") and setting:
            context.setdefault("seLinuxOptions", {})[field] = setting
            scope.exact(f"{path}.securityContext.seLinuxOptions.{field}", "label:<field>:<value>")
        else:
            scope.impossible(f"SELinux option {value!r} has no field")
    elif kind == "credentialspec":
        scope.impossible("Windows gMSA credential spec", "needs the gMSA webhook and windowsOptions")
    else:
        scope.error(f"unknown security option {option!r}: ignored")


def _map_sysctls(plan: ContainerPlan, ctx: Context) -> None:
    scope = plan.scope.at("systemControls")
    sysctls = ctx.pod.setdefault("securityContext", {}).setdefault("sysctls", [])
    for index, raw in enumerate(as_list(plan.source["systemControls"], scope)):
        item_scope = scope.at(index)
        item = as_dict(raw, item_scope) or {}
        name = to_str(item.get("namespace"), item_scope.at("namespace")) or ""
        value = to_str(item.get("value"), item_scope.at("value"))
        host_network = ctx.network_mode == "host" and name.startswith("net.")
        host_ipc = ctx.pod.get("hostIPC") and name.startswith(
            ("kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue.")
        )
        if not _SYSCTL_NAME.match(name) or value is None or host_network or host_ipc:
            item_scope.error("not a valid sysctl for this pod: dropped", f"{name!r}")
            continue
        if any(s["name"] == name for s in sysctls):
            item_scope.approx("", "duplicate sysctl: the first value wins", "pod-level")
            continue
        sysctls.append({"name": name, "value": value})
        note = (
            ""
            if name in SAFE_SYSCTLS
            else "unsafe sysctl: the kubelet must allow it (--allowed-unsafe-sysctls)"
        )
        item_scope.approx(f"{ctx.pod_path()}.securityContext.sysctls[name={name}]", "pod-level sysctl", note)
    if not sysctls:
        del ctx.pod["securityContext"]["sysctls"]
        if not ctx.pod["securityContext"]:
            del ctx.pod["securityContext"]
