"""Render the proxy model into one nftables table, in the shape of kube-proxy's nftables mode.

`render(ports, node_addresses, cluster_cidr)` is pure: the same model gives the same
`Ruleset`, and `to_text()` prints it as the table's complete text (the golden files).

How a packet travels through the table (all in `table ip litekube`):

    nat prerouting / nat output (priority -100, dstnat) ─► services
      services: ip daddr . l4proto . dport  vmap @service-ips      (ClusterIPs, LB/external IPs)
                ip daddr @nodeport-ips l4proto . dport vmap @service-nodeports
        ─► service-<hash>-ns/svc/proto/port   mark clients on other hosts (not pods, not the
             │                                 node itself) for masquerade,
             │                                 sticky clients (affinity set) first, then
             └ numgen random mod N vmap { 0: goto endpoint-…, 1: … }   (even spreading)
        ─► external-<hash>-…  (NodePort / LoadBalancer / externalIPs): Cluster policy masquerades
             everything; Local policy keeps the client address and goes to `local-…`, which
             only picks endpoints on this node (and drops when there are none)
        ─► endpoint-<hash>-…__ip/port   hairpin (source is the endpoint) → masquerade,
                                         remember the client in the affinity set, dnat
    nat postrouting (priority 100, srcnat) ─► masquerading: packets carrying mark 0x4000 are masqueraded
    filter input/forward/output (priority -110, before dnat): new connections to a
      service port without endpoints hit @no-endpoint-* maps → reject-chain (tcp reset /
      icmp port-unreachable), so clients fail at once instead of timing out; a ClusterIP
      on a port no service uses is rejected too (cluster-ips-check, after dnat).

Per-packet cost: the nat hooks only ever see a connection's first packet (conntrack keeps
the NAT for the rest), and the filter hooks start with `ct state != new accept`, so an
established packet is one conntrack-state test away from leaving this table.

NodePorts answer on the node addresses and 127.0.0.1. Localhost only works with
`net.ipv4.conf.all.route_localnet=1` (apply.py sets it), and such connections are always
masqueraded (`fib saddr type local`) so the pod never sees a 127.0.0.0/8 source.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from litekube.proxy.model import Endpoint, ServicePort

MASQUERADE_MARK = 0x4000
LOCALHOST = "127.0.0.1"
LOOPBACK = "127.0.0.0/8"


@dataclass
class Chain:
    name: str
    rules: list[str] = field(default_factory=list)
    # "type nat hook prerouting priority -100; policy accept;" for base chains
    hook: str | None = None


@dataclass
class NamedSet:
    """A named set or map. `dynamic` sets are filled by the kernel (affinity) and never flushed."""

    name: str
    kind: str  # "set" or "map"
    spec: tuple[str, ...]
    elements: list[str] = field(default_factory=list)
    dynamic: bool = False


@dataclass
class Ruleset:
    table: str
    sets: dict[str, NamedSet] = field(default_factory=dict)
    chains: dict[str, Chain] = field(default_factory=dict)

    def chain(self, name: str, *rules: str, hook: str | None = None) -> Chain:
        chain = self.chains.setdefault(name, Chain(name, hook=hook))
        chain.rules.extend(rules)
        return chain

    def named(self, name: str, kind: str, *spec: str, dynamic: bool = False) -> NamedSet:
        return self.sets.setdefault(name, NamedSet(name, kind, spec, dynamic=dynamic))

    def to_text(self) -> str:
        """The whole table as `nft list table` would take it back (`nft -f`)."""
        lines = [f"table ip {self.table} {{"]
        for s in self.sets.values():
            lines.append(f"\t{s.kind} {s.name} {{")
            lines.extend(f"\t\t{line}" for line in s.spec)
            if s.elements:
                lines.append("\t\telements = {")
                lines.extend(f"\t\t\t{e}," for e in s.elements)
                lines.append("\t\t}")
            lines.append("\t}")
        for c in self.chains.values():
            lines.append(f"\tchain {c.name} {{")
            if c.hook:
                lines.append(f"\t\t{c.hook}")
            lines.extend(f"\t\t{rule}" for rule in c.rules)
            lines.append("\t}")
        lines.append("}")
        return "\n".join(lines) + "\n"


def short_hash(text: str) -> str:
    """8 base32 characters of sha256: keeps chain names unique when the readable part is cut."""
    return base64.b32encode(hashlib.sha256(text.encode()).digest())[:8].decode()


def service_chain(sp: ServicePort) -> str:
    return f"service-{short_hash(sp.key)}-{sp.key}"


def external_chain(sp: ServicePort) -> str:
    return f"external-{short_hash(sp.key)}-{sp.key}"


def local_chain(sp: ServicePort) -> str:
    return f"local-{short_hash(sp.key)}-{sp.key}"


def _endpoint_suffix(sp: ServicePort, ep: Endpoint) -> str:
    text = f"{sp.key}__{ep.ip}/{ep.port}"
    return f"{short_hash(text)}-{text}"


def endpoint_chain(sp: ServicePort, ep: Endpoint) -> str:
    return f"endpoint-{_endpoint_suffix(sp, ep)}"


def affinity_set(sp: ServicePort, ep: Endpoint) -> str:
    # the timeout is part of the hash: a new timeout is a new set, and the chains naming it
    # change with it, so the old set is unreferenced when apply.py deletes it
    text = f"{sp.key}__{ep.ip}/{ep.port}"
    return f"affinity-{short_hash(f'{text}@{sp.affinity_timeout}')}-{text}"


def render(
    ports: Sequence[ServicePort],
    node_addresses: Iterable[str] = (),
    cluster_cidr: str | None = "10.244.0.0/16",
    table: str = "litekube",
) -> Ruleset:
    rs = Ruleset(table)
    _base(rs, node_addresses)
    for sp in ports:
        _service_port(rs, sp, cluster_cidr)
    rs.sets["cluster-ips"].elements = sorted(set(rs.sets["cluster-ips"].elements), key=_ip_key)
    for named in rs.sets.values():
        if named.kind == "map":
            named.elements = _first_per_key(named.elements)
    return rs


def _first_per_key(elements: list[str]) -> list[str]:
    """One verdict per key: two LoadBalancer services on the same port cannot both own the node
    address (as with ServiceLB, the later one in sort order loses); nft rejects duplicate keys."""
    seen: dict[str, str] = {}
    for element in elements:
        seen.setdefault(element.split(" : ", 1)[0], element)
    return list(seen.values())


def _base(rs: Ruleset, node_addresses: Iterable[str]) -> None:
    service_key = "type ipv4_addr . inet_proto . inet_service : verdict"
    port_key = "type inet_proto . inet_service : verdict"
    rs.named("cluster-ips", "set", "type ipv4_addr")
    ips = rs.named("nodeport-ips", "set", "type ipv4_addr")
    ips.elements = sorted({*node_addresses, LOCALHOST}, key=_ip_key)
    rs.named("service-ips", "map", service_key)
    rs.named("service-nodeports", "map", port_key)
    rs.named("no-endpoint-services", "map", service_key)
    rs.named("no-endpoint-nodeports", "map", port_key)

    # rejects run before dnat (-110 < dstnat -100) so they still see the service address.
    # These hooks see every packet, so the first rule lets all but a connection's first packet
    # leave at once: established traffic costs one conntrack-state test and no map lookups.
    first_only = "ct state != new accept"
    rs.chain(
        "filter-input",
        first_only,
        # route_localnet (set for NodePorts on 127.0.0.1) would also let other hosts and pods
        # reach services bound to loopback; as the kubelet's rule for CVE-2020-8558, only
        # connections that our DNAT sent there may arrive at 127.0.0.0/8 from outside it
        f"ip daddr {LOOPBACK} ip saddr != {LOOPBACK} ct status ! dnat drop",
        "jump nodeport-endpoints-check",
        "jump service-endpoints-check",
        hook="type filter hook input priority -110; policy accept;",
    )
    rs.chain(
        "filter-forward",
        first_only,
        "jump service-endpoints-check",
        "jump cluster-ips-check",
        hook="type filter hook forward priority -110; policy accept;",
    )
    rs.chain(
        "filter-output",
        first_only,
        "jump service-endpoints-check",
        hook="type filter hook output priority -110; policy accept;",
    )
    # after the output dnat: what is still addressed to a ClusterIP matched no service port
    rs.chain(
        "filter-output-post-dnat",
        first_only,
        "jump cluster-ips-check",
        hook="type filter hook output priority -90; policy accept;",
    )
    rs.chain("nat-prerouting", "jump services", hook="type nat hook prerouting priority -100; policy accept;")
    rs.chain("nat-output", "jump services", hook="type nat hook output priority -100; policy accept;")
    rs.chain(
        "nat-postrouting", "jump masquerading", hook="type nat hook postrouting priority 100; policy accept;"
    )
    rs.chain("mark-for-masquerade", f"meta mark set meta mark | {MASQUERADE_MARK:#x}")
    rs.chain(
        "masquerading",
        f"meta mark & {MASQUERADE_MARK:#x} == 0 return",
        f"meta mark set meta mark ^ {MASQUERADE_MARK:#x}",
        "masquerade fully-random",
    )
    rs.chain(
        "services",
        "ip daddr . meta l4proto . th dport vmap @service-ips",
        "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports",
    )
    rs.chain("service-endpoints-check", "ip daddr . meta l4proto . th dport vmap @no-endpoint-services")
    rs.chain(
        "nodeport-endpoints-check",
        "ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports",
    )
    rs.chain("cluster-ips-check", "ip daddr @cluster-ips goto reject-chain")
    rs.chain("reject-chain", "meta l4proto tcp reject with tcp reset", "reject")


def _service_port(rs: Ruleset, sp: ServicePort, cluster_cidr: str | None) -> None:
    proto = sp.protocol.lower()
    rs.sets["cluster-ips"].elements.append(sp.cluster_ip)
    has_external = sp.node_port is not None or bool(sp.external_ips)
    if not sp.endpoints:
        verdict = "goto reject-chain"
        no_eps = rs.sets["no-endpoint-services"].elements
        no_eps.append(f"{sp.cluster_ip} . {proto} . {sp.port} : {verdict}")
        no_eps.extend(f"{ip} . {proto} . {sp.port} : {verdict}" for ip in sp.external_ips)
        if sp.node_port is not None:
            rs.sets["no-endpoint-nodeports"].elements.append(f"{proto} . {sp.node_port} : {verdict}")
        return

    chain = service_chain(sp)
    rs.sets["service-ips"].elements.append(f"{sp.cluster_ip} . {proto} . {sp.port} : goto {chain}")
    if has_external:
        external = external_chain(sp)
        rs.sets["service-ips"].elements.extend(
            f"{ip} . {proto} . {sp.port} : goto {external}" for ip in sp.external_ips
        )
        if sp.node_port is not None:
            rs.sets["service-nodeports"].elements.append(f"{proto} . {sp.node_port} : goto {external}")
        _external_chains(rs, sp, cluster_cidr)

    rules = []
    if cluster_cidr:
        to_service = f"ip daddr {sp.cluster_ip} meta l4proto {proto} th dport {sp.port}"
        # Off-cluster clients on other hosts reach the pod with our address, so the reply comes
        # back through this node's conntrack and is un-NATed. The node's own processes are
        # left alone: the pod answers a node address through its gateway (this node) anyway,
        # and masquerading them would hand the pod tuples whose sequence numbers and
        # timestamps were made for another 4-tuple, so a new SYN meeting the pod's TIME_WAIT
        # socket of an earlier connection is taken for an old duplicate and waits for a 1 s
        # retransmit (half the throughput with one connection per request).
        rules.append(
            f"{to_service} ip saddr != {cluster_cidr} fib saddr type != local jump mark-for-masquerade"
        )
        # a socket bound to 127.0.0.1 is local but no pod could answer it
        rules.append(f"{to_service} ip saddr {LOOPBACK} jump mark-for-masquerade")
    rs.chain(chain, *rules, *_pick(sp, sp.endpoints))
    for ep in sp.endpoints:
        _endpoint(rs, sp, ep)


def _external_chains(rs: Ruleset, sp: ServicePort, cluster_cidr: str | None) -> None:
    chain, external = service_chain(sp), external_chain(sp)
    if not sp.external_local:
        rs.chain(external, "jump mark-for-masquerade", f"goto {chain}")
        return
    local = local_chain(sp)
    rules = []
    if cluster_cidr:
        # pods reaching a NodePort/LB address get cluster-wide endpoints (kube-proxy's short-circuit)
        rules.append(f"ip saddr {cluster_cidr} goto {chain}")
    # the node itself (incl. localhost) has no client address worth keeping
    rules += [
        "fib saddr type local jump mark-for-masquerade",
        f"fib saddr type local goto {chain}",
        f"goto {local}",
    ]
    rs.chain(external, *rules)
    on_node = tuple(ep for ep in sp.endpoints if ep.local)
    rs.chain(local, *(_pick(sp, on_node) if on_node else ["drop"]))


def _pick(sp: ServicePort, endpoints: Sequence[Endpoint]) -> list[str]:
    """Rules choosing one endpoint: a sticky client's endpoint first, else a random one."""
    rules = []
    if sp.affinity_timeout is not None:
        rules += [f"ip saddr @{affinity_set(sp, ep)} goto {endpoint_chain(sp, ep)}" for ep in endpoints]
    # numgen random mod N gives each of the N endpoints 1/N of the new connections
    choices = ", ".join(f"{i} : goto {endpoint_chain(sp, ep)}" for i, ep in enumerate(endpoints))
    rules.append(f"numgen random mod {len(endpoints)} vmap {{ {choices} }}")
    return rules


def _endpoint(rs: Ruleset, sp: ServicePort, ep: Endpoint) -> None:
    rules = [f"ip saddr {ep.ip} jump mark-for-masquerade"]  # hairpin: a pod reaching itself
    if sp.affinity_timeout is not None:
        name = affinity_set(sp, ep)
        rs.named(
            name,
            "set",
            "type ipv4_addr",
            "flags dynamic,timeout",
            f"timeout {sp.affinity_timeout}s",
            dynamic=True,
        )
        rules.append(f"update @{name} {{ ip saddr }}")
    rules.append(f"meta l4proto {sp.protocol.lower()} dnat to {ep.ip}:{ep.port}")
    rs.chain(endpoint_chain(sp, ep), *rules)


def _ip_key(ip: str) -> tuple[int, ...]:
    return tuple(int(part) for part in ip.split("."))
