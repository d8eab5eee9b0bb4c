"""ClusterIP and NodePort allocators: which service IPs and node ports are taken.

Both hand out values from a fixed range and keep the used set in memory; the API server
rebuilds them at start from the stored Services (`mark_used`) and calls `allocate` /
`allocate_specific` on create and `release` on delete. An `AllocationError`'s text is the
422 cause's message upstream shows at `spec.clusterIPs` / `spec.ports[i].nodePort`.

Random allocation is O(1) on average: try a few random offsets, then scan from a random
start, so it stays fast until the range is nearly full. Like upstream, service IPs are split
into a lower band kept for static requests (the `kubernetes` service's .1 and DNS's .10 live
there) and an upper band random allocation prefers; it falls back to the lower band only
when the upper one is full. Upstream sizes the lower band min(max(16, size/16), 256).
"""

from __future__ import annotations

import ipaddress
import random

from litekube.api.validation import field
from litekube.api.validation.field import Cause

_RANDOM_TRIES = 16


class AllocationError(Exception):
    """A value could not be allocated.

    `str()` is the cause's message body as upstream renders it
    (`Invalid value: []string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: provided IP is
    already allocated`); `detail` is the reason alone and `cause` the 422 cause at
    `field_path` (`spec.clusterIPs`, or the node port's `spec.ports[i].nodePort`).
    """

    def __init__(self, detail: str, field_path: str = "", value: object = None) -> None:
        self.detail = detail
        self.field_path = field_path
        self.value = value
        super().__init__(detail if value is None else self.cause.message)

    @property
    def cause(self) -> Cause:
        return field.invalid(self.field_path, self.value, self.detail)


class _Range:
    """Offsets [0, size) with a used set; random picks within [low, high)."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.size = size
        self.used: set[int] = set()
        self._rng = rng

    def pick(self, low: int, high: int) -> int | None:
        if high <= low:
            return None
        for _ in range(_RANDOM_TRIES):
            offset = self._rng.randrange(low, high)
            if offset not in self.used:
                return offset
        start = self._rng.randrange(low, high)
        span = high - low
        for step in range(span):
            offset = low + (start - low + step) % span
            if offset not in self.used:
                return offset
        return None


class IPAllocator:
    """Service cluster IPs from one CIDR (network and broadcast addresses excluded)."""

    def __init__(
        self,
        cidr: str = "10.96.0.0/12",
        reserved: frozenset[str] = frozenset(),
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.network = ipaddress.ip_network(cidr, strict=False)
        self._first = int(self.network.network_address) + 1
        # IPv4 excludes the broadcast address; huge IPv6 ranges are capped like upstream's bitmap
        size = self.network.num_addresses - (2 if self.network.version == 4 else 1)
        self._range = _Range(min(size, 2**16 if self.network.version == 6 else size), rng or random.Random())
        self._static_band = min(max(16, self._range.size // 16), 256)
        for ip in reserved:
            self.mark_used(ip)

    @property
    def used_count(self) -> int:
        return len(self._range.used)

    def _offset(self, ip: str) -> int | None:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        offset = int(address) - self._first
        if address.version != self.network.version or not 0 <= offset < self._range.size:
            return None
        return offset

    def _ip(self, offset: int) -> str:
        return str(ipaddress.ip_address(self._first + offset))

    def allocate(self) -> str:
        offset = self._range.pick(self._static_band, self._range.size)
        if offset is None:
            offset = self._range.pick(0, min(self._static_band, self._range.size))
        if offset is None:
            raise AllocationError("range is full")
        self._range.used.add(offset)
        return self._ip(offset)

    def allocate_specific(self, ip: str, field_path: str = "spec.clusterIPs") -> None:
        """Take one requested IP; the error names `field_path` with the IP list as its value."""
        offset = self._offset(ip)
        if offset is None:
            detail = (
                f"failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. "
                f"The range of valid IPs is {self.network}"
            )
            raise AllocationError(detail, field_path, [ip])
        if offset in self._range.used:
            raise AllocationError(
                f"failed to allocate IP {ip}: provided IP is already allocated", field_path, [ip]
            )
        self._range.used.add(offset)

    def mark_used(self, ip: str) -> None:
        """Record an IP already held by a stored Service (ignored when outside the range)."""
        offset = self._offset(ip)
        if offset is not None:
            self._range.used.add(offset)

    def release(self, ip: str) -> None:
        offset = self._offset(ip)
        if offset is not None:
            self._range.used.discard(offset)

    def is_used(self, ip: str) -> bool:
        offset = self._offset(ip)
        return offset is not None and offset in self._range.used


class PortAllocator:
    """Node ports from [start, end], inclusive."""

    def __init__(self, start: int = 30000, end: int = 32767, *, rng: random.Random | None = None) -> None:
        self.start = start
        self.end = end
        self._range = _Range(end - start + 1, rng or random.Random())

    @property
    def used_count(self) -> int:
        return len(self._range.used)

    def allocate(self) -> int:
        offset = self._range.pick(0, self._range.size)
        if offset is None:
            raise AllocationError("range is full")
        self._range.used.add(offset)
        return self.start + offset

    def allocate_specific(self, port: int, field_path: str = "spec.ports[0].nodePort") -> None:
        """Take one requested port; `field_path` names the port in the error's `cause`."""
        if not self.start <= port <= self.end:
            detail = f"provided port is not in the valid range. The range of valid ports is {self.start}-{self.end}"
            raise AllocationError(detail, field_path, port)
        offset = port - self.start
        if offset in self._range.used:
            raise AllocationError("provided port is already allocated", field_path, port)
        self._range.used.add(offset)

    def mark_used(self, port: int) -> None:
        if self.start <= port <= self.end:
            self._range.used.add(port - self.start)

    def release(self, port: int) -> None:
        if self.start <= port <= self.end:
            self._range.used.discard(port - self.start)

    def is_used(self, port: int) -> bool:
        return self.start <= port <= self.end and (port - self.start) in self._range.used
