"""Pod spec defaults (upstream's `SetDefaults_PodSpec`, `_Container`, `_Probe`, `_Volume`...).

`default_pod_spec` fills in what every pod spec gets, in a bare Pod and in a workload's
template alike. `default_pod` adds what only a bare Pod gets on create: requests copied from
limits, `enableServiceLinks`, the admission plugins' additions (service account, priority,
default tolerations) and the initial status with its QoS class.
"""

from __future__ import annotations

from typing import Any

from litekube.api.validation.quantity import parse_quantity

Obj = dict[str, Any]

DEFAULT_FILE_MODE = 0o644  # 420, as `kubectl get -o yaml` shows it
_NOT_READY_TOLERATION_SECONDS = 300
_DEFAULT_TOLERATION_KEYS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
_VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs", "iscsi",
    "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI",
    "fc", "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk",
    "projected", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image",
)  # fmt: skip


def _dict(parent: Obj, key: str) -> Obj:
    value = parent.get(key)
    if not isinstance(value, dict):
        value = {}
        parent[key] = value
    return value


def image_pull_policy(image: str) -> str:
    """Always for `:latest` or an untagged name, else IfNotPresent (a digest alone counts as a tag)."""
    if (
        not image
        or image != image.strip()
        or any(ch.isupper() for ch in image.split("@", 1)[0].rsplit(":", 1)[0])
    ):
        return "IfNotPresent"  # an unparsable reference: upstream ignores the error and takes no tag
    name = image.split("@", 1)[0]
    has_digest = "@" in image
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    if not tag:
        tag = "" if has_digest else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def default_pod_spec(spec: Obj) -> None:
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    # the v1 API keeps the deprecated `serviceAccount` in step with `serviceAccountName`
    if spec.get("serviceAccountName") and not spec.get("serviceAccount"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    elif spec.get("serviceAccount") and not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(group) or []:
            if isinstance(container, dict):
                default_container(container, host_network=spec.get("hostNetwork") is True)
    for volume in spec.get("volumes") or []:
        if isinstance(volume, dict):
            default_volume(volume)


def default_container(container: Obj, *, host_network: bool = False) -> None:
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    if not container.get("imagePullPolicy"):
        image = container.get("image")
        container["imagePullPolicy"] = image_pull_policy(image if isinstance(image, str) else "")
    if container.get("resources") is None:
        container["resources"] = {}
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if host_network and not port.get("hostPort"):
                port["hostPort"] = port.get("containerPort")
    for var in container.get("env") or []:
        if isinstance(var, dict):
            _default_env_source(var.get("valueFrom"))
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(name)
        if isinstance(probe, dict):
            default_probe(probe)
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            handler = lifecycle.get(hook)
            if isinstance(handler, dict):
                _default_handler(handler)


def _default_env_source(value_from: Any) -> None:
    if not isinstance(value_from, dict):
        return
    field_ref = value_from.get("fieldRef")
    if isinstance(field_ref, dict):
        field_ref.setdefault("apiVersion", "v1")
    resource_ref = value_from.get("resourceFieldRef")
    if isinstance(resource_ref, dict):
        resource_ref.setdefault("divisor", "0")  # a non-pointer Quantity: always shown


def default_probe(probe: Obj) -> None:
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    _default_handler(probe)


def _default_handler(handler: Obj) -> None:
    http_get = handler.get("httpGet")
    if isinstance(http_get, dict):
        if not http_get.get("path"):
            http_get["path"] = "/"
        http_get.setdefault("scheme", "HTTP")


def default_volume(volume: Obj) -> None:
    if not any(volume.get(source) is not None for source in _VOLUME_SOURCES):
        volume["emptyDir"] = {}
    for source in ("configMap", "secret", "downwardAPI", "projected"):
        value = volume.get(source)
        if isinstance(value, dict):
            value.setdefault("defaultMode", DEFAULT_FILE_MODE)
    for item in (volume.get("downwardAPI") or {}).get("items") or []:
        if isinstance(item, dict):
            _default_env_source(item)
    projected = volume.get("projected")
    if isinstance(projected, dict):
        for source in projected.get("sources") or []:
            if not isinstance(source, dict):
                continue
            token = source.get("serviceAccountToken")
            if isinstance(token, dict):
                token.setdefault("expirationSeconds", 3600)
            for item in (source.get("downwardAPI") or {}).get("items") or []:
                if isinstance(item, dict):
                    _default_env_source(item)
    host_path = volume.get("hostPath")
    if isinstance(host_path, dict):
        host_path.setdefault("type", "")
    ephemeral = volume.get("ephemeral")
    if isinstance(ephemeral, dict):
        template = ephemeral.get("volumeClaimTemplate")
        if isinstance(template, dict) and isinstance(template.get("spec"), dict):
            template["spec"].setdefault("volumeMode", "Filesystem")


def default_pod_template(template: Any) -> None:
    if isinstance(template, dict):
        default_pod_spec(_dict(template, "spec"))


def default_pod(pod: Obj) -> None:
    spec = _dict(pod, "spec")
    default_pod_spec(spec)
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            if isinstance(container, dict):
                _requests_from_limits(container)
    spec.setdefault("enableServiceLinks", True)
    # ServiceAccount admission
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = "default"
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    # Priority admission: no PriorityClass named means priority 0
    if not spec.get("priorityClassName"):
        spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    _add_default_tolerations(spec)
    status = _dict(pod, "status")
    status.setdefault("phase", "Pending")
    status.setdefault("qosClass", qos_class(spec))


def _requests_from_limits(container: Obj) -> None:
    resources = container.get("resources")
    if not isinstance(resources, dict) or not isinstance(resources.get("limits"), dict):
        return
    requests = _dict(resources, "requests")
    for name, value in resources["limits"].items():
        requests.setdefault(name, value)


def _add_default_tolerations(spec: Obj) -> None:
    """DefaultTolerationSeconds admission: tolerate a not-ready/unreachable node for 5 minutes."""
    tolerations = spec.get("tolerations")
    if not isinstance(tolerations, list):
        tolerations = []
    for key in _DEFAULT_TOLERATION_KEYS:
        covered = any(
            isinstance(t, dict)
            and (t.get("key") == key or (not t.get("key") and t.get("operator") == "Exists"))
            and t.get("effect") in (None, "", "NoExecute")
            for t in tolerations
        )
        if not covered:
            tolerations.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": _NOT_READY_TOLERATION_SECONDS,
                }
            )
    spec["tolerations"] = tolerations


def qos_class(spec: Obj) -> str:
    """Guaranteed when every container's cpu and memory requests equal limits; BestEffort with none."""
    containers = [
        c for group in ("initContainers", "containers") for c in spec.get(group) or [] if isinstance(c, dict)
    ]
    any_set = False
    guaranteed = True
    for container in containers:
        resources = container.get("resources") or {}
        requests = resources.get("requests") or {}
        limits = resources.get("limits") or {}
        compute = ("cpu", "memory")
        if any(requests.get(n) not in (None, "0", 0) for n in compute) or any(
            limits.get(n) not in (None, "0", 0) for n in compute
        ):
            any_set = True
        for name in compute:
            if name not in limits or _quantity(requests.get(name, limits.get(name))) != _quantity(
                limits[name]
            ):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _quantity(value: Any) -> Any:
    parsed = parse_quantity(value)
    return parsed if parsed is not None else value
