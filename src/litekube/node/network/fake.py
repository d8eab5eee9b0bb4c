"""`FakeNetwork`: the pod network without a kernel, for kubelet unit tests.

Addresses come from the pod CIDR in order, skipping the network address and the gateway
(the first host), as host-local does; a torn-down pod's address becomes free again. No
namespace exists: `netns_path` is a made-up path under /run/netns that nothing opens.
Tests can make the next setups fail (`fail_next`) to drive the kubelet's error path, and
read `calls` to see what was asked.
"""

from __future__ import annotations

import ipaddress

from litekube.node.network.base import NetworkError, PodNetworkStatus, PodRef, PortMapping


class FakeNetwork:
    def __init__(self, pod_cidr: str = "10.244.0.0/24", bridge: str = "litekube0") -> None:
        self.network = ipaddress.IPv4Network(pod_cidr)
        self.bridge = bridge
        hosts = self.network.hosts()
        self.gateway = str(next(hosts))
        self._free = [str(address) for address in hosts]
        self.pods: dict[str, PodNetworkStatus] = {}
        self.refs: dict[str, PodRef] = {}
        self.calls: list[tuple[str, str]] = []
        self.failures: list[str] = []

    def fail_next(self, message: str = 'plugin type="bridge" failed (add): fake failure') -> None:
        """Make the next `setup` raise NetworkError(message)."""
        self.failures.append(message)

    async def setup(self, pod: PodRef, port_mappings: list[PortMapping]) -> PodNetworkStatus:
        self.calls.append(("setup", pod.uid))
        if pod.uid in self.pods:
            return self.pods[pod.uid]
        if self.failures:
            raise NetworkError(self.failures.pop(0))
        taken = {status.ip for status in self.pods.values()}
        address = next((candidate for candidate in self._free if candidate not in taken), None)
        if address is None:
            raise NetworkError(f"no IP addresses available in range set: {self.network}")
        status = PodNetworkStatus(
            pod_uid=pod.uid,
            netns_path=f"/run/netns/litekube-fake-{pod.uid}",
            ip=address,
            gateway=self.gateway,
            prefix_length=self.network.prefixlen,
            interface="eth0",
            host_interface=f"veth{pod.uid.replace('-', '')[:8]}",
            bridge=self.bridge,
            port_mappings=tuple(port_mappings),
        )
        self.pods[pod.uid] = status
        self.refs[pod.uid] = pod
        return status

    async def teardown(self, pod_uid: str) -> None:
        self.calls.append(("teardown", pod_uid))
        self.pods.pop(pod_uid, None)
        self.refs.pop(pod_uid, None)

    async def list_pods(self) -> list[PodNetworkStatus]:
        return [self.pods[uid] for uid in sorted(self.pods)]

    async def cleanup_all(self) -> None:
        self.calls.append(("cleanup_all", ""))
        self.pods.clear()
        self.refs.clear()
