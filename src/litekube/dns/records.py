"""The cluster zone: answer names under `cluster.local` from the Service/EndpointSlice caches.

`ClusterZone.answer(query)` is pure over the caches (no API calls) and returns a complete
response message, or None when the name is outside the zone (the server forwards it).

Names served (TTL 5 s, as CoreDNS's kubernetes plugin):

    <svc>.<ns>.svc.cluster.local              A: the ClusterIP; headless: every ready endpoint
                                               ExternalName: CNAME to spec.externalName
    <host>.<svc>.<ns>.svc.cluster.local       A: the headless endpoint with that hostname
                                               (or dashed IP, 10-244-0-5)
    _<port>._<proto>.<svc>.<ns>.svc.cluster.local
                                              SRV per named port (headless: one per endpoint)
    <a-b-c-d>.<ns>.pod.cluster.local          A: a.b.c.d (CoreDNS "pods insecure")

An unknown name inside the zone is NXDOMAIN; a known name without records of the asked type
(AAAA for an IPv4 service, say) is NOERROR with no answers. Both carry the zone's SOA in the
authority section so resolvers can cache the negative answer.
"""

from __future__ import annotations

import ipaddress

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from litekube.client.base import JSON
from litekube.machinery.informer import Store

TTL = 5
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


class SliceIndex:
    """EndpointSlice keys by owning service, kept current by informer handlers."""

    def __init__(self) -> None:
        self._by_service: dict[tuple[str, str], set[str]] = {}
        self._owner: dict[str, tuple[str, str]] = {}

    def upsert(self, obj: JSON) -> None:
        meta = obj.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        self.remove(obj)
        service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if service:
            owner = (meta.get("namespace") or "", service)
            self._by_service.setdefault(owner, set()).add(key)
            self._owner[key] = owner

    def remove(self, obj: JSON) -> None:
        meta = obj.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        owner = self._owner.pop(key, None)
        if owner is not None:
            keys = self._by_service.get(owner, set())
            keys.discard(key)
            if not keys:
                self._by_service.pop(owner, None)

    def keys(self, namespace: str, service: str) -> list[str]:
        return sorted(self._by_service.get((namespace, service), ()))


class ClusterZone:
    def __init__(
        self, services: Store, slices: Store, index: SliceIndex, domain: str = "cluster.local"
    ) -> None:
        self.services = services
        self.slices = slices
        self.index = index
        self.origin = dns.name.from_text(domain)
        self.soa = dns.rrset.from_text(
            self.origin,
            TTL,
            "IN",
            "SOA",
            f"ns.dns.{domain}. hostmaster.{domain}. 1 7200 1800 86400 {TTL}",
        )

    def answer(self, query: dns.message.Message) -> dns.message.Message | None:
        if len(query.question) != 1:
            return None
        question = query.question[0]
        qname = question.name
        if not qname.is_subdomain(self.origin):
            return None
        response = dns.message.make_response(query, recursion_available=True)
        response.flags |= dns.flags.AA
        if question.rdclass != dns.rdataclass.IN:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        labels = [label.decode().lower() for label in qname.relativize(self.origin).labels]
        records = self._lookup(labels, qname, question.rdtype)
        if records is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(self.soa)
        else:
            response.answer.extend(records)
            if not records:
                response.authority.append(self.soa)
        return response

    # --- names -------------------------------------------------------------------------

    def _lookup(self, labels: list[str], qname: dns.name.Name, rdtype: int) -> list[dns.rrset.RRset] | None:
        """Records for the name, [] if the name exists without that type, None if it does not exist."""
        if labels in ([], ["svc"], ["pod"]):
            return [self.soa] if rdtype == dns.rdatatype.SOA and not labels else []
        if labels[-1] == "pod":
            return self._pod(labels[:-1], qname, rdtype)
        if labels[-1] != "svc":
            return None
        labels = labels[:-1]
        if len(labels) == 1:  # <ns>.svc: exists when some service lives there
            return [] if self.services.list(labels[0]) else None
        if len(labels) == 4 and labels[0].startswith("_") and labels[1].startswith("_"):
            return self._srv(labels, qname, rdtype)
        if len(labels) == 2:
            return self._service(labels[0], labels[1], qname, rdtype)
        if len(labels) == 3:
            return self._endpoint_host(labels[0], labels[1], labels[2], qname, rdtype)
        return None

    def _pod(self, labels: list[str], qname: dns.name.Name, rdtype: int) -> list[dns.rrset.RRset] | None:
        if len(labels) != 2:
            return [] if len(labels) == 1 else None
        try:
            ip = ipaddress.IPv4Address(labels[0].replace("-", "."))
        except ValueError:
            return None
        return [_rrset(qname, "A", [str(ip)])] if rdtype in (dns.rdatatype.A, dns.rdatatype.ANY) else []

    def _service(
        self, name: str, namespace: str, qname: dns.name.Name, rdtype: int
    ) -> list[dns.rrset.RRset] | None:
        svc = self.services.get_by_name(namespace, name)
        if svc is None:
            return None
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            target = str(spec.get("externalName") or "").rstrip(".") + "."
            return [_rrset(qname, "CNAME", [target])]
        if rdtype not in (dns.rdatatype.A, dns.rdatatype.ANY):
            return []
        cluster_ip = spec.get("clusterIP")
        if cluster_ip and cluster_ip != "None":
            return [_rrset(qname, "A", [cluster_ip])] if _is_ipv4(cluster_ip) else []
        ips = sorted({ep["addresses"][0] for ep in self._ready_endpoints(namespace, name)}, key=_ip_key)
        return [_rrset(qname, "A", ips)] if ips else []

    def _endpoint_host(
        self, host: str, name: str, namespace: str, qname: dns.name.Name, rdtype: int
    ) -> list[dns.rrset.RRset] | None:
        for ep in self._ready_endpoints(namespace, name):
            if _host_label(ep) == host:
                ip = ep["addresses"][0]
                return [_rrset(qname, "A", [ip])] if rdtype in (dns.rdatatype.A, dns.rdatatype.ANY) else []
        return None

    def _srv(self, labels: list[str], qname: dns.name.Name, rdtype: int) -> list[dns.rrset.RRset] | None:
        port_name, proto, name, namespace = labels[0][1:], labels[1][1:].upper(), labels[2], labels[3]
        svc = self.services.get_by_name(namespace, name)
        if svc is None:
            return None
        spec = svc.get("spec") or {}
        port = next(
            (
                p
                for p in spec.get("ports") or ()
                if p.get("name") == port_name and (p.get("protocol") or "TCP") == proto
            ),
            None,
        )
        if port is None:
            return None
        if rdtype not in (dns.rdatatype.SRV, dns.rdatatype.ANY):
            return []
        service_name = f"{name}.{namespace}.svc.{self.origin.to_text(omit_final_dot=True)}."
        cluster_ip = spec.get("clusterIP")
        if cluster_ip and cluster_ip != "None":
            return [_rrset(qname, "SRV", [f"0 100 {port['port']} {service_name}"])]
        # headless: one record per endpoint, at the endpoint's own name, with the target port
        targets = []
        for eps_key in self.index.keys(namespace, name):
            eps = self.slices.get(eps_key) or {}
            slice_port = next((p for p in eps.get("ports") or () if (p.get("name") or "") == port_name), None)
            if slice_port is None:
                continue
            for ep in eps.get("endpoints") or ():
                if _ready(ep):
                    targets.append(f"0 100 {slice_port['port']} {_host_label(ep)}.{service_name}")
        return [_rrset(qname, "SRV", sorted(set(targets)))] if targets else []

    def _ready_endpoints(self, namespace: str, name: str) -> list[JSON]:
        found = []
        for key in self.index.keys(namespace, name):
            eps = self.slices.get(key) or {}
            if eps.get("addressType", "IPv4") != "IPv4":
                continue
            found += [ep for ep in eps.get("endpoints") or () if _ready(ep)]
        return found


def _ready(ep: JSON) -> bool:
    return bool(ep.get("addresses")) and (ep.get("conditions") or {}).get("ready", True) is not False


def _host_label(ep: JSON) -> str:
    return str(ep.get("hostname") or ep["addresses"][0].replace(".", "-"))


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _ip_key(ip: str) -> tuple[int, ...]:
    return tuple(int(part) for part in ip.split("."))


def _rrset(name: dns.name.Name, rdtype: str, values: list[str]) -> dns.rrset.RRset:
    return dns.rrset.from_text_list(name, TTL, "IN", rdtype, values)
