"""Forward names outside the cluster zone to the host's resolvers.

`host_upstreams()` reads /etc/resolv.conf (falling back to systemd-resolved's real list when
the file only names its 127.0.0.53 stub) and drops our own listen addresses, which would
send a query back to us forever. `Forwarder.forward()` tries each upstream in turn over UDP
(TCP when the answer is truncated) within one overall deadline (2 s by default), and answers
SERVFAIL when none replies in time, so a pod's resolver is never left hanging.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode

log = logging.getLogger(__name__)

Upstream = tuple[str, int]
SYSTEMD_RESOLV = Path("/run/systemd/resolve/resolv.conf")


def read_nameservers(path: Path) -> list[str]:
    try:
        text = path.read_text()
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 2 and words[0] == "nameserver":
            found.append(words[1])
    return found


def host_upstreams(own: Iterable[str] = (), resolv_conf: Path = Path("/etc/resolv.conf")) -> list[Upstream]:
    servers = read_nameservers(resolv_conf)
    if servers and all(s.startswith("127.0.0.53") for s in servers) and SYSTEMD_RESOLV.exists():
        servers = read_nameservers(SYSTEMD_RESOLV)
    skip = set(own) | {"10.96.0.10"}
    return [(s, 53) for s in servers if s not in skip and ":" not in s]


class Forwarder:
    def __init__(self, upstreams: list[Upstream], timeout: float = 2.0) -> None:
        self.upstreams = upstreams
        self.timeout = timeout

    async def forward(self, query: dns.message.Message) -> dns.message.Message:
        deadline = time.monotonic() + self.timeout
        for index, (host, port) in enumerate(self.upstreams):
            # split what is left of the deadline over the upstreams not yet tried
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                response, _ = await dns.asyncquery.udp_with_fallback(
                    query, host, timeout=left / (len(self.upstreams) - index), port=port
                )
                return response
            except (TimeoutError, dns.exception.DNSException, OSError) as e:
                log.debug("upstream %s:%d failed for %s: %s", host, port, query.question, e)
        response = dns.message.make_response(query, recursion_available=True)
        response.set_rcode(dns.rcode.SERVFAIL)
        return response
