"""ClusterIP and NodePort bookkeeping for Services (upstream's service REST allocators).

The allocators live in memory and are rebuilt from stored Services at start; the
apiserver is the only writer of Services, so they cannot drift while it runs.
"""

from __future__ import annotations

from typing import Any

from litekube.api.allocators import AllocationError, IPAllocator, PortAllocator
from litekube.api.resources import ResourceType
from litekube.apiserver import errors

JSON = dict[str, Any]

SERVICE_CIDR = "10.96.0.0/12"
NODE_PORT_RANGE = (30000, 32767)


def _needs_cluster_ip(svc: JSON) -> bool:
    spec = svc.get("spec") or {}
    return spec.get("type", "ClusterIP") != "ExternalName" and spec.get("clusterIP") != "None"


def _needs_node_ports(svc: JSON) -> bool:
    spec = svc.get("spec") or {}
    t = spec.get("type", "ClusterIP")
    if t == "NodePort":
        return True
    return t == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts", True) is not False


class ServiceAllocations:
    def __init__(self) -> None:
        self.ips = IPAllocator(SERVICE_CIDR)
        self.ports = PortAllocator(*NODE_PORT_RANGE)

    def rebuild(self, services: list[JSON]) -> None:
        for svc in services:
            spec = svc.get("spec") or {}
            ip = spec.get("clusterIP")
            if ip and ip != "None":
                self.ips.mark_used(ip)
            for p in spec.get("ports") or []:
                if p.get("nodePort"):
                    self.ports.mark_used(int(p["nodePort"]))

    def allocate(self, svc: JSON, *, dry_run: bool, rt: ResourceType) -> None:
        spec = svc.setdefault("spec", {})
        name = svc["metadata"].get("name", "")
        taken_ips: list[str] = []
        taken_ports: list[int] = []
        try:
            if _needs_cluster_ip(svc):
                wanted = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0]
                if wanted:
                    self._specific_ip(wanted, rt, name)
                    ip = wanted
                else:
                    ip = self.ips.allocate()
                taken_ips.append(ip)
                spec["clusterIP"] = ip
                spec["clusterIPs"] = [ip]
            elif spec.get("clusterIP") == "None":
                spec["clusterIPs"] = ["None"]
            if _needs_node_ports(svc):
                for i, port in enumerate(spec.get("ports") or []):
                    if port.get("nodePort"):
                        self._specific_port(int(port["nodePort"]), rt, name, i)
                    else:
                        port["nodePort"] = self.ports.allocate()
                    taken_ports.append(int(port["nodePort"]))
            if spec.get("type") == "LoadBalancer" or spec.get("externalTrafficPolicy") == "Local":
                if spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local":
                    if not spec.get("healthCheckNodePort"):
                        spec["healthCheckNodePort"] = self.ports.allocate()
                        taken_ports.append(spec["healthCheckNodePort"])
        except Exception:
            self._give_back(taken_ips, taken_ports)
            raise
        if dry_run:
            self._give_back(taken_ips, taken_ports)

    def _give_back(self, ips: list[str], ports: list[int]) -> None:
        for ip in ips:
            self.ips.release(ip)
        for p in ports:
            self.ports.release(p)

    def _specific_ip(self, ip: str, rt: ResourceType, name: str) -> None:
        try:
            self.ips.allocate_specific(ip)
        except AllocationError as e:
            cause = {"reason": "FieldValueInvalid", "field": "spec.clusterIPs", "message": str(e)}
            raise errors.invalid(
                rt, name, [cause], f'Service "{name}" is invalid: spec.clusterIPs: {e}'
            ) from None

    def _specific_port(self, port: int, rt: ResourceType, name: str, index: int) -> None:
        try:
            self.ports.allocate_specific(port)
        except AllocationError as e:
            field = f"spec.ports[{index}].nodePort"
            cause = {"reason": "FieldValueInvalid", "field": field, "message": str(e)}
            raise errors.invalid(rt, name, [cause], f'Service "{name}" is invalid: {field}: {e}') from None

    def carry_over(self, new: JSON, old: JSON) -> None:
        """An update that omits clusterIP / nodePorts keeps the allocated ones (as upstream does)."""
        ns, os_ = new.setdefault("spec", {}), old.get("spec") or {}
        if not ns.get("clusterIP") and os_.get("clusterIP") and _needs_cluster_ip(new):
            ns["clusterIP"] = os_["clusterIP"]
        if not ns.get("clusterIPs") and os_.get("clusterIPs") and ns.get("clusterIP") == os_.get("clusterIP"):
            ns["clusterIPs"] = os_["clusterIPs"]
        if _needs_node_ports(new) and _needs_node_ports(old):
            old_ports = {
                (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in os_.get("ports") or []
            }
            for p in ns.get("ports") or []:
                if not p.get("nodePort"):
                    np = old_ports.get((p.get("port"), p.get("protocol", "TCP")))
                    if np:
                        p["nodePort"] = np
        if _needs_node_ports(old) and not _needs_node_ports(new):
            # Upstream drops type-dependent fields the client did not change (dropTypeDependentFields).
            old_node_ports = {p.get("nodePort") for p in os_.get("ports") or []}
            for p in ns.get("ports") or []:
                if p.get("nodePort") in old_node_ports:
                    p.pop("nodePort", None)
        if ns.get("healthCheckNodePort") is None and os_.get("healthCheckNodePort"):
            ns["healthCheckNodePort"] = os_["healthCheckNodePort"]

    def reallocate(self, new: JSON, old: JSON, *, dry_run: bool, rt: ResourceType) -> None:
        """Allocate what an update newly needs, release what it no longer uses."""
        ns, os_ = new.setdefault("spec", {}), old.get("spec") or {}
        name = new["metadata"].get("name", "")
        if _needs_cluster_ip(new) and not ns.get("clusterIP"):
            ip = self.ips.allocate()
            ns["clusterIP"], ns["clusterIPs"] = ip, [ip]
            if dry_run:
                self.ips.release(ip)
        if not _needs_cluster_ip(new) and os_.get("clusterIP") not in (None, "None"):
            if not dry_run:
                self.ips.release(os_["clusterIP"])
            if ns.get("type") == "ExternalName":
                ns.pop("clusterIP", None)
                ns.pop("clusterIPs", None)
        old_ports = {int(p["nodePort"]) for p in os_.get("ports") or [] if p.get("nodePort")}
        new_ports: set[int] = set()
        if _needs_node_ports(new):
            for i, p in enumerate(ns.get("ports") or []):
                if p.get("nodePort"):
                    np = int(p["nodePort"])
                    if np not in old_ports:
                        self._specific_port(np, rt, name, i)
                else:
                    p["nodePort"] = self.ports.allocate()
                new_ports.add(int(p["nodePort"]))
        else:
            for p in ns.get("ports") or []:
                p.pop("nodePort", None)
        if dry_run:
            for np in new_ports - old_ports:
                self.ports.release(np)
        else:
            for np in old_ports - new_ports:
                self.ports.release(np)

    def release(self, svc: JSON) -> None:
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if ip and ip != "None":
            self.ips.release(ip)
        for p in spec.get("ports") or []:
            if p.get("nodePort"):
                self.ports.release(int(p["nodePort"]))
        if spec.get("healthCheckNodePort"):
            self.ports.release(int(spec["healthCheckNodePort"]))
