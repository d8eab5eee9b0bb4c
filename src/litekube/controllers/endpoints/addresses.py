"""Which pods back a Service, on which ports, in which state (shared by both controllers).

A pod backs a Service when it is in its namespace, matches `spec.selector`, has a podIP and
is not finished. Its state: `ready` (Ready condition True and not terminating, or always
with `publishNotReadyAddresses`), `serving` (Ready condition True, even while terminating)
and `terminating` (deletionTimestamp set). A named targetPort is resolved against that
pod's container ports; a pod that does not expose the name is left out for that port.
"""

from __future__ import annotations

from dataclasses import dataclass

from litekube.client.base import JSON


@dataclass(frozen=True)
class Backend:
    pod: JSON
    ip: str
    node: str | None
    ready: bool
    serving: bool
    terminating: bool
    ports: tuple[tuple[str, int, str, str | None], ...]  # (name, port, protocol, appProtocol)

    def target_ref(self) -> JSON:
        meta = self.pod["metadata"]
        return {
            "kind": "Pod",
            "namespace": meta.get("namespace", ""),
            "name": meta["name"],
            "uid": meta.get("uid", ""),
        }


def _pod_ready(pod: JSON) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def selects(service: JSON, pod: JSON) -> bool:
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selector:
        return False
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def resolve_port(service_port: JSON, pod: JSON) -> int | None:
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for container in (pod.get("spec") or {}).get("containers") or ():
        for port in container.get("ports") or ():
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def backends(service: JSON, pods: list[JSON]) -> list[Backend]:
    spec = service.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    out = []
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        status = pod.get("status") or {}
        if (
            not selects(service, pod)
            or not status.get("podIP")
            or status.get("phase") in ("Succeeded", "Failed")
        ):
            continue
        ports = []
        for sp in spec.get("ports") or ():
            port = resolve_port(sp, pod)
            if port is not None:
                ports.append(
                    (str(sp.get("name") or ""), port, str(sp.get("protocol") or "TCP"), sp.get("appProtocol"))
                )
        terminating = bool(pod["metadata"].get("deletionTimestamp"))
        ready = _pod_ready(pod)
        out.append(
            Backend(
                pod=pod,
                ip=str(status["podIP"]),
                node=(pod.get("spec") or {}).get("nodeName"),
                ready=publish or (ready and not terminating),
                serving=publish or ready,
                terminating=terminating,
                ports=tuple(ports),
            )
        )
    return out
