"""Ingress and IngressClass tables.

HOSTS lists at most three rule hosts (`*` when no rule names one) and then ` + N more...`;
PORTS is "80", or "80, 443" when the ingress has TLS; ADDRESS is the load balancer's
sorted IPs/hostnames.
"""

from __future__ import annotations

from typing import Any

from litekube.api.printers.columns import Column, age_column, name_column
from litekube.api.printers.duration import translate_timestamp_since
from litekube.api.printers.services import load_balancer_addresses

INGRESS_COLUMNS = (
    name_column(),
    Column(
        "Class",
        text="The name of the IngressClass resource that should be used for additional configuration",
    ),
    Column("Hosts", text="Hosts that incoming requests are matched against before the ingress rule"),
    Column("Address", text="Address is a list containing ingress points for the load-balancer"),
    Column("Ports", text="Ports of TLS configurations that open"),
    age_column(),
)


def _hosts(rules: list[dict[str, Any]]) -> str:
    shown: list[str] = []
    more = False
    for rule in rules:
        if len(shown) == 3:
            more = True
        if not more and rule.get("host"):
            shown.append(str(rule["host"]))
    if not shown:
        return "*"
    text = ",".join(shown)
    # upstream counts every rule past the third, hostless ones included
    return f"{text} + {len(rules) - 3} more..." if more else text


def ingress_cells(obj: dict[str, Any], now: float) -> list[Any]:
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    class_name = spec.get("ingressClassName")
    return [
        metadata.get("name", ""),
        "<none>" if class_name is None else class_name,
        _hosts(spec.get("rules") or []),
        load_balancer_addresses(obj.get("status")),
        "80, 443" if spec.get("tls") else "80",
        translate_timestamp_since(metadata.get("creationTimestamp"), now),
    ]


INGRESS_CLASS_COLUMNS = (
    name_column(),
    Column("Controller", text="Controller that is responsible for handling this class"),
    Column("Parameters", text="A reference to a resource with additional parameters"),
    age_column(),
)


def ingress_class_cells(obj: dict[str, Any], now: float) -> list[Any]:
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    parameters = "<none>"
    ref = spec.get("parameters")
    if ref is not None:
        parameters = str(ref.get("kind", ""))
        if ref.get("apiGroup") is not None:
            parameters += "." + str(ref["apiGroup"])
        parameters += "/" + str(ref.get("name", ""))
    return [
        metadata.get("name", ""),
        spec.get("controller", ""),
        parameters,
        translate_timestamp_since(metadata.get("creationTimestamp"), now),
    ]
