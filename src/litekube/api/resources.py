"""The resource types litekube serves, as discovery describes them.

One table drives discovery, routing, storage keys and the `all` category.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # subresources served, e.g. ("status", "scale"); streaming ones for pods too
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = field(
        default=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    )
    # Another group whose storage this resource shares (events.k8s.io Events are core Events
    # stored once and converted on the way in and out, as upstream does).
    storage_group: str | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def group_resource(self) -> str:
        """`deployments.apps`, or `pods` for the core group (as in error messages)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def storage_prefix(self) -> str:
        """Key prefix in storage: /registry/<group or core>/<plural>/ ."""
        group = self.storage_group if self.storage_group is not None else self.group
        return f"/registry/{group or 'core'}/{self.plural}/"

    def storage_key(self, namespace: str | None, name: str) -> str:
        if self.namespaced:
            return f"{self.storage_prefix}{namespace}/{name}"
        return f"{self.storage_prefix}{name}"

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """REST path of the collection or of one object."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        return base


_ALL = ("all",)
_POD_SUBRESOURCES = ("status", "binding", "eviction", "log", "exec", "attach", "portforward")

RESOURCE_TYPES: tuple[ResourceType, ...] = (
    # core/v1
    ResourceType(
        "", "v1", "Namespace", "namespaces", "namespace", False, ("ns",), (), ("status", "finalize")
    ),
    ResourceType("", "v1", "Pod", "pods", "pod", True, ("po",), _ALL, _POD_SUBRESOURCES),
    ResourceType("", "v1", "Service", "services", "service", True, ("svc",), _ALL, ("status",)),
    ResourceType("", "v1", "Endpoints", "endpoints", "endpoints", True, ("ep",)),
    ResourceType("", "v1", "ConfigMap", "configmaps", "configmap", True, ("cm",)),
    ResourceType("", "v1", "Secret", "secrets", "secret", True),
    ResourceType(
        "", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", True, ("sa",), (), ("token",)
    ),
    ResourceType("", "v1", "Event", "events", "event", True, ("ev",)),
    ResourceType("", "v1", "Node", "nodes", "node", False, ("no",), (), ("status",)),
    ResourceType(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        "replicationcontroller",
        True,
        ("rc",),
        _ALL,
        ("status", "scale"),
    ),
    # apps/v1
    ResourceType(
        "apps", "v1", "Deployment", "deployments", "deployment", True, ("deploy",), _ALL, ("status", "scale")
    ),
    ResourceType(
        "apps", "v1", "ReplicaSet", "replicasets", "replicaset", True, ("rs",), _ALL, ("status", "scale")
    ),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", "daemonset", True, ("ds",), _ALL, ("status",)),
    ResourceType(
        "apps", "v1", "StatefulSet", "statefulsets", "statefulset", True, ("sts",), _ALL, ("status", "scale")
    ),
    ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", True),
    # batch/v1
    ResourceType("batch", "v1", "Job", "jobs", "job", True, (), _ALL, ("status",)),
    ResourceType("batch", "v1", "CronJob", "cronjobs", "cronjob", True, ("cj",), _ALL, ("status",)),
    # autoscaling/v2
    ResourceType(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        True,
        ("hpa",),
        _ALL,
        ("status",),
    ),
    # networking.k8s.io/v1
    ResourceType(
        "networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", True, ("ing",), (), ("status",)
    ),
    ResourceType("networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", False),
    # discovery.k8s.io/v1
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", True),
    # coordination.k8s.io/v1
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", "lease", True),
    # events.k8s.io/v1 (the same stored events as core/v1, in the newer shape)
    ResourceType("events.k8s.io", "v1", "Event", "events", "event", True, ("ev",), storage_group=""),
)

_BY_PATH: dict[tuple[str, str, str], ResourceType] = {
    (r.group, r.version, r.plural): r for r in RESOURCE_TYPES
}
_BY_KIND: dict[tuple[str, str], ResourceType] = {}
for _r in RESOURCE_TYPES:
    _BY_KIND.setdefault((_r.api_version, _r.kind), _r)


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    return _BY_PATH.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    return _BY_KIND.get((api_version, kind))


def group_versions() -> list[tuple[str, str]]:
    """Served (group, version) pairs in discovery order, core first."""
    seen: list[tuple[str, str]] = []
    for r in RESOURCE_TYPES:
        if (r.group, r.version) not in seen:
            seen.append((r.group, r.version))
    return seen
