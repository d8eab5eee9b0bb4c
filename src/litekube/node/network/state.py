"""On-disk records of pod networks: what teardown needs after the agent restarted.

One JSON file per pod at `<data-dir>/network/pods/<uid>.json`, holding the pod, its
namespace name, the port mappings, the exact conflist used for ADD (so a later change of
MTU or plugins cannot break DEL of older pods) and the ADD result (`null` while ADD is in
flight: a record without a result is a setup that crashed half-way, and teardown treats
it like any other). Files are replaced atomically (write to a temporary file, rename), so
a crash of the agent leaves either the old or the new record, never half of one. There is
no fsync: what a record describes (namespaces under /run, veths, rules) dies with the
machine, and a machine crash is answered by `cleanup_all` sweeping by name.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import orjson

from litekube.node.network.base import PodNetworkStatus, PodRef, PortMapping, TransportProtocol

JSON = dict[str, Any]


@dataclass
class PodRecord:
    pod: PodRef
    netns: str
    conflist: JSON
    port_mappings: list[PortMapping] = field(default_factory=list)
    result: JSON | None = None

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "pod": {"uid": self.pod.uid, "namespace": self.pod.namespace, "name": self.pod.name},
                "netns": self.netns,
                "portMappings": [
                    {
                        "containerPort": mapping.container_port,
                        "hostPort": mapping.host_port,
                        "protocol": mapping.protocol,
                        "hostIP": mapping.host_ip,
                    }
                    for mapping in self.port_mappings
                ],
                "conflist": self.conflist,
                "result": self.result,
            },
            option=orjson.OPT_INDENT_2,
        )

    @classmethod
    def from_json(cls, data: bytes) -> PodRecord:
        raw = orjson.loads(data)
        mappings = [
            PortMapping(
                container_port=int(item["containerPort"]),
                host_port=int(item["hostPort"]),
                protocol=cast(TransportProtocol, item.get("protocol", "TCP")),
                host_ip=str(item.get("hostIP", "")),
            )
            for item in raw.get("portMappings", [])
        ]
        return cls(
            pod=PodRef(**raw["pod"]),
            netns=raw["netns"],
            conflist=raw["conflist"],
            port_mappings=mappings,
            result=raw.get("result"),
        )


class RecordStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, uid: str) -> Path:
        return self.directory / f"{uid}.json"

    def load(self, uid: str) -> PodRecord | None:
        try:
            return PodRecord.from_json(self._path(uid).read_bytes())
        except FileNotFoundError:
            return None

    def save(self, record: PodRecord) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(record.pod.uid)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(record.to_json())
        temporary.replace(path)

    def remove(self, uid: str) -> None:
        self._path(uid).unlink(missing_ok=True)

    def uids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(path.stem for path in self.directory.glob("*.json"))


def status_from_record(record: PodRecord, netns_path: str, bridge: str) -> PodNetworkStatus:
    """Read the pod's address out of a CNI result (spec 0.4.0 and 1.0.0 share this shape).

    `ips[].interface` indexes `interfaces[]`; the pod's own interface is the one with a
    `sandbox`. Of its addresses the first IPv4 one wins (the pod CIDR is IPv4).
    """
    result = record.result or {}
    interfaces: list[JSON] = result.get("interfaces") or []
    candidates: list[tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, str]] = []
    for entry in result.get("ips") or []:
        index = entry.get("interface")
        if isinstance(index, int) and 0 <= index < len(interfaces) and not interfaces[index].get("sandbox"):
            continue
        candidates.append((ipaddress.ip_interface(entry["address"]), str(entry.get("gateway", ""))))
    candidates.sort(key=lambda candidate: candidate[0].version)
    host_interface = next(
        (str(item["name"]) for item in interfaces if not item.get("sandbox") and item.get("name") != bridge),
        "",
    )
    pod_interface = next((str(item["name"]) for item in interfaces if item.get("sandbox")), "eth0")
    address, gateway = candidates[0] if candidates else (None, "")
    return PodNetworkStatus(
        pod_uid=record.pod.uid,
        netns_path=netns_path,
        ip=str(address.ip) if address else "",
        gateway=gateway,
        prefix_length=address.network.prefixlen if address else 0,
        interface=pod_interface,
        host_interface=host_interface,
        bridge=bridge,
        port_mappings=tuple(record.port_mappings),
    )
