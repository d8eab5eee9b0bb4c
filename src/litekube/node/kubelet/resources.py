"""Resource arithmetic the kubelet needs: quantities, pod requests, QoS class, cgroup values.

Quantities are parsed exactly (`Fraction`) by the API's own parser. cpu is counted in
millicores rounded up (upstream's `MilliValue`), memory in bytes rounded up.

`pod_requests` follows upstream's resource helpers: app containers plus restartable
("sidecar") init containers, or the largest regular init container plus the sidecars
started before it, whichever is bigger, plus `spec.overhead`. Example: containers 100m +
200m, an init container of 500m → the pod asks for max(300m, 500m) = 500m.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from litekube.api.validation.quantity import parse_quantity

JSON = dict[str, Any]


def quantity(value: Any) -> Fraction | None:
    return parse_quantity(value)


def milli_cpu(value: Any) -> int | None:
    parsed = parse_quantity(value)
    return None if parsed is None else math.ceil(parsed * 1000)


def whole(value: Any) -> int | None:
    """A quantity as an integer (bytes, counts), rounded up."""
    parsed = parse_quantity(value)
    return None if parsed is None else math.ceil(parsed)


@dataclass(frozen=True)
class ContainerResources:
    cpu_request_millis: int | None
    cpu_limit_millis: int | None
    memory_request: int | None
    memory_limit: int | None


def container_resources(container: JSON) -> ContainerResources:
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    # A limit without a request means request == limit (API defaulting; be robust without it).
    requests = {**limits, **(resources.get("requests") or {})}
    return ContainerResources(
        milli_cpu(requests.get("cpu")) if "cpu" in requests else None,
        milli_cpu(limits.get("cpu")) if "cpu" in limits else None,
        whole(requests.get("memory")) if "memory" in requests else None,
        whole(limits.get("memory")) if "memory" in limits else None,
    )


def _requests(container: JSON) -> dict[str, Fraction]:
    resources = container.get("resources") or {}
    merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
    out: dict[str, Fraction] = {}
    for name, raw in merged.items():
        parsed = parse_quantity(raw)
        if parsed is not None:
            out[name] = parsed
    return out


def _add(total: dict[str, Fraction], extra: dict[str, Fraction]) -> None:
    for name, value in extra.items():
        total[name] = total.get(name, Fraction(0)) + value


def pod_requests(pod: JSON) -> dict[str, Fraction]:
    spec = pod.get("spec") or {}
    total: dict[str, Fraction] = {}
    sidecars: dict[str, Fraction] = {}
    init_peak: dict[str, Fraction] = {}
    for container in spec.get("initContainers") or ():
        requests = _requests(container)
        if container.get("restartPolicy") == "Always":
            _add(sidecars, requests)
            continue
        running = dict(sidecars)
        _add(running, requests)
        for name, value in running.items():
            init_peak[name] = max(init_peak.get(name, Fraction(0)), value)
    for container in spec.get("containers") or ():
        _add(total, _requests(container))
    _add(total, sidecars)
    for name, value in init_peak.items():
        total[name] = max(total.get(name, Fraction(0)), value)
    overhead = {k: v for k, v in ((k, parse_quantity(v)) for k, v in (spec.get("overhead") or {}).items())}
    _add(total, {k: v for k, v in overhead.items() if v is not None})
    return total


def qos_class(pod: JSON) -> str:
    """Guaranteed / Burstable / BestEffort, as upstream's GetPodQOS decides it."""
    spec = pod.get("spec") or {}
    containers = list(spec.get("initContainers") or ()) + list(spec.get("containers") or ())
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for container in containers:
        resources = container.get("resources") or {}
        own_requests = {
            k: q
            for k, v in (resources.get("requests") or {}).items()
            if k in ("cpu", "memory") and (q := parse_quantity(v)) is not None and q != 0
        }
        own_limits = {
            k: q
            for k, v in (resources.get("limits") or {}).items()
            if k in ("cpu", "memory") and (q := parse_quantity(v)) is not None and q != 0
        }
        _add(requests, own_requests)
        _add(limits, own_limits)
        if set(own_limits) != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(limits.get(k) == v for k, v in requests.items()) and set(requests) <= set(limits):
        return "Guaranteed"
    return "Burstable"
