"""What the API server checks before any stream reaches the node (upstream's pod strategy).

Every stream handler starts here: the pod must exist (404 `pods "x" not found`), and the requested container must be one of its containers, or, when none is
named, the pod must have exactly one (kubectl always names one; other clients may not).
"""

from __future__ import annotations

from aiohttp import web

from litekube.apiserver import errors
from litekube.apiserver.rest import ResourceRequest
from litekube.node.streams.backend import ContainerBackend, PodDict

TRUE_VALUES = ("true", "1", "True")


def flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "") in TRUE_VALUES


def container_names(pod: PodDict) -> list[str]:
    """Init, regular, then ephemeral containers: upstream's VisitContainers order."""
    spec = pod.get("spec") or {}
    names: list[str] = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        names.extend(str(c.get("name", "")) for c in spec.get(key) or [])
    return names


async def get_pod(backend: ContainerBackend, rr: ResourceRequest) -> PodDict:
    namespace, name = rr.namespace or "default", rr.name or ""
    pod = await backend.get_pod(namespace, name)
    if pod is None:
        raise errors.not_found(rr.rt, name)
    return pod


def pick_container(pod: PodDict, requested: str) -> str:
    name = (pod.get("metadata") or {}).get("name", "")
    if requested:
        if requested not in container_names(pod):
            raise errors.bad_request(f"container {requested} is not valid for pod {name}")
        return requested
    containers = (pod.get("spec") or {}).get("containers") or []
    if len(containers) == 1:
        return str(containers[0].get("name", ""))
    if not containers:
        raise errors.bad_request(f"pod {name} does not have a container")
    choices = " ".join(container_names(pod))
    raise errors.bad_request(f"a container name must be specified for pod {name}, choose one of: [{choices}]")


def require_node(pod: PodDict) -> None:
    if not (pod.get("spec") or {}).get("nodeName"):
        name = (pod.get("metadata") or {}).get("name", "")
        raise errors.bad_request(f"pod {name} does not have a host assigned")


async def resolve(
    backend: ContainerBackend, request: web.Request, rr: ResourceRequest
) -> tuple[PodDict, str]:
    """The pod and the container a stream request is about, or the upstream error.

    Callers check the node binding themselves: logs of an unbound pod are simply empty,
    exec/attach/port-forward refuse with `require_node`.
    """
    pod = await get_pod(backend, rr)
    return pod, pick_container(pod, request.query.get("container", ""))
