"""Cluster DNS: `<svc>.<ns>.svc.cluster.local` and friends from informer caches, the rest forwarded.

records.py (the zone, pure over the caches) · forward.py (host resolvers) · server.py (UDP/TCP)
· interface.py (10.96.0.10 on the `litekube-dns` dummy interface).
"""

from litekube.dns.server import ClusterDNS, build_dns

__all__ = ["ClusterDNS", "build_dns"]
