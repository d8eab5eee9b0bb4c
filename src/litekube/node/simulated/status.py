"""The objects a simulated (kwok-style) node writes: its Node, its Lease and pod statuses.

Pure functions from inputs to dicts, so they are easy to read and to test. Addresses are
of our own invention and never contacted: node i has InternalIP 10.250.x.y and pod CIDR
10.244.(i+1).0/24 (the real agent's node takes 10.244.0.0/24).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from litekube import __version__ as _litekube_version
from litekube.client.base import JSON
from litekube.machinery.clock import rfc3339
from litekube.version import KUBERNETES_GIT_VERSION

KUBELET_VERSION = KUBERNETES_GIT_VERSION
RUNTIME_VERSION = "litekube-sim://0.1"
SIMULATED_LABEL = "node.litekube.io/simulated"
# A pod carrying this annotation exits with that code instead of 0 (to simulate failures).
EXIT_CODE_ANNOTATION = "sim.litekube.io/exit-code"


def node_ip(index: int) -> str:
    return f"10.250.{index // 250}.{index % 250 + 1}"


def pod_cidr_prefix(index: int) -> str:
    """ "10.244.N" for node index N-1; wraps into 10.245+ past 254 nodes."""
    block = index + 1
    return f"10.{244 + block // 256}.{block % 256}"


def _fake_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def node_object(name: str, index: int) -> JSON:
    prefix = pod_cidr_prefix(index)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                SIMULATED_LABEL: "true",
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
        },
        "spec": {"podCIDR": f"{prefix}.0/24", "podCIDRs": [f"{prefix}.0/24"]},
    }


def node_status(name: str, index: int, now: datetime, since: datetime) -> JSON:
    beat, since_text = rfc3339(now), rfc3339(since)

    def condition(type_: str, status: str, reason: str, message: str) -> JSON:
        return {
            "type": type_,
            "status": status,
            "lastHeartbeatTime": beat,
            "lastTransitionTime": since_text,
            "reason": reason,
            "message": message,
        }

    resources = {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"}
    return {
        "capacity": dict(resources),
        "allocatable": dict(resources),
        "conditions": [
            condition(
                "MemoryPressure",
                "False",
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
            ),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition(
                "PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"
            ),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [
            {"type": "InternalIP", "address": node_ip(index)},
            {"type": "Hostname", "address": name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": _fake_id(name)[:32],
            "systemUUID": _fake_id("uuid" + name)[:32],
            "bootID": _fake_id("boot" + name)[:32],
            "kernelVersion": "6.1.0-litekube-sim",
            "osImage": f"litekube simulated node {_litekube_version}",
            "containerRuntimeVersion": RUNTIME_VERSION,
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
        "phase": "Running",
    }


def _image_ref(image: str) -> tuple[str, str]:
    """(status.image, status.imageID) as containerd reports them for a Docker Hub short name."""
    name = image
    if "/" not in name.split(":")[0]:
        name = "library/" + name
    if "." not in name.split("/")[0] and ":" not in name.split("/")[0] and name.split("/")[0] != "localhost":
        name = "docker.io/" + name
    if ":" not in name.rsplit("/", 1)[-1] and "@" not in name:
        name += ":latest"
    repository = name.split("@")[0].rsplit(":", 1)[0]
    return name, f"{repository}@sha256:{_fake_id(name)}"


def _condition(type_: str, status: str, stamp: str, reason: str | None = None) -> JSON:
    cond: JSON = {"type": type_, "status": status, "lastProbeTime": None, "lastTransitionTime": stamp}
    if reason:
        cond["reason"] = reason
    return cond


def qos_class(pod: JSON) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    requests_any = False
    guaranteed = bool(containers)
    for c in containers:
        res = c.get("resources") or {}
        limits, requests = res.get("limits") or {}, res.get("requests") or {}
        if limits or requests:
            requests_any = True
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                guaranteed = False
    if guaranteed:
        return "Guaranteed"
    return "Burstable" if requests_any else "BestEffort"


def running_status(pod: JSON, host_ip: str, pod_ip: str, now: datetime) -> JSON:
    stamp = rfc3339(now)
    spec = pod.get("spec") or {}
    uid = (pod.get("metadata") or {}).get("uid", "")
    statuses = []
    for c in spec.get("containers") or ():
        image, image_id = _image_ref(str(c.get("image") or ""))
        statuses.append(
            {
                "name": c.get("name", ""),
                "state": {"running": {"startedAt": stamp}},
                "lastState": {},
                "ready": True,
                "restartCount": 0,
                "image": image,
                "imageID": image_id,
                "containerID": f"litekube-sim://{_fake_id(uid + c.get('name', ''))}",
                "started": True,
            }
        )
    status: JSON = {
        "phase": "Running",
        "conditions": [
            _condition("PodReadyToStartContainers", "True", stamp),
            _condition("Initialized", "True", stamp),
            _condition("Ready", "True", stamp),
            _condition("ContainersReady", "True", stamp),
            _condition("PodScheduled", "True", stamp),
        ],
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": stamp,
        "containerStatuses": statuses,
        "qosClass": qos_class(pod),
    }
    init = []
    for c in spec.get("initContainers") or ():
        image, image_id = _image_ref(str(c.get("image") or ""))
        init.append(
            {
                "name": c.get("name", ""),
                "state": {
                    "terminated": {
                        "exitCode": 0,
                        "reason": "Completed",
                        "startedAt": stamp,
                        "finishedAt": stamp,
                    }
                },
                "lastState": {},
                "ready": True,
                "restartCount": 0,
                "image": image,
                "imageID": image_id,
                "containerID": f"litekube-sim://{_fake_id(uid + 'init' + c.get('name', ''))}",
                "started": False,
            }
        )
    if init:
        status["initContainerStatuses"] = init
    return status


def finished_status(pod: JSON, exit_code: int, now: datetime) -> JSON:
    """The pod's containers exited with `exit_code`: Succeeded for 0, Failed otherwise."""
    stamp = rfc3339(now)
    old = pod.get("status") or {}
    status: JSON = {k: v for k, v in old.items() if k not in ("conditions", "containerStatuses")}
    status["phase"] = "Succeeded" if exit_code == 0 else "Failed"
    reason = "PodCompleted" if exit_code == 0 else "PodFailed"
    status["conditions"] = [
        _condition("PodReadyToStartContainers", "False", stamp),
        _condition(
            "Initialized", "True", _since(old, "Initialized", stamp), reason if exit_code == 0 else None
        ),
        _condition("Ready", "False", stamp, reason),
        _condition("ContainersReady", "False", stamp, reason),
        _condition("PodScheduled", "True", _since(old, "PodScheduled", stamp)),
    ]
    containers = []
    for c in old.get("containerStatuses") or ():
        started = ((c.get("state") or {}).get("running") or {}).get("startedAt", stamp)
        terminated = {
            "exitCode": exit_code,
            "reason": "Completed" if exit_code == 0 else "Error",
            "startedAt": started,
            "finishedAt": stamp,
            "containerID": c.get("containerID", ""),
        }
        containers.append({**c, "state": {"terminated": terminated}, "ready": False, "started": False})
    status["containerStatuses"] = containers
    return status


def _since(status: JSON, type_: str, default: str) -> str:
    for cond in status.get("conditions") or ():
        if cond.get("type") == type_:
            return str(cond.get("lastTransitionTime") or default)
    return default
