"""ClusterIP and NodePort allocation."""

from __future__ import annotations

import ipaddress
import random
import time

import pytest

from litekube.api.allocators import AllocationError, IPAllocator, PortAllocator


def test_random_ips_avoid_the_static_band_and_never_repeat() -> None:
    allocator = IPAllocator("10.96.0.0/12", rng=random.Random(1))
    seen = {allocator.allocate() for _ in range(2000)}
    assert len(seen) == 2000
    # the lower 256 addresses (10.96.0.1 - 10.96.1.0) are kept for static requests
    base = int(ipaddress.ip_address("10.96.0.1"))
    assert min(int(ipaddress.ip_address(ip)) - base for ip in seen) >= 256
    assert "10.96.0.1" not in seen and "10.96.0.10" not in seen


def test_specific_ips_and_upstream_messages() -> None:
    allocator = IPAllocator("10.96.0.0/12")
    allocator.allocate_specific("10.96.0.1")
    allocator.allocate_specific("10.96.0.10")
    with pytest.raises(AllocationError) as taken:
        allocator.allocate_specific("10.96.0.10")
    assert str(taken.value) == (
        'Invalid value: []string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: provided IP is already allocated'
    )
    assert taken.value.cause.reason == "FieldValueInvalid"
    assert taken.value.cause.field == "spec.clusterIPs"
    with pytest.raises(AllocationError) as outside:
        allocator.allocate_specific("10.0.0.1")
    assert str(outside.value).endswith(
        "failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. "
        "The range of valid IPs is 10.96.0.0/12"
    )
    allocator.release("10.96.0.10")
    allocator.allocate_specific("10.96.0.10")


def test_reserved_and_mark_used() -> None:
    allocator = IPAllocator("10.96.0.0/28", reserved=frozenset({"10.96.0.1"}))
    assert allocator.is_used("10.96.0.1")
    allocator.mark_used("10.96.0.5")
    allocator.mark_used("192.168.0.1")  # outside: ignored
    handed = {allocator.allocate() for _ in range(12)}
    assert "10.96.0.1" not in handed and "10.96.0.5" not in handed
    assert handed <= {f"10.96.0.{i}" for i in range(1, 15)}
    with pytest.raises(AllocationError, match="range is full"):
        allocator.allocate()


def test_small_range_falls_back_to_the_static_band() -> None:
    allocator = IPAllocator("10.96.0.0/29")  # 6 usable addresses, all inside the static band
    assert sorted(allocator.allocate() for _ in range(6)) == [f"10.96.0.{i}" for i in range(1, 7)]


def test_node_ports() -> None:
    ports = PortAllocator(rng=random.Random(2))
    ports.allocate_specific(30080)
    with pytest.raises(AllocationError) as taken:
        ports.allocate_specific(30080)
    assert str(taken.value) == "Invalid value: 30080: provided port is already allocated"
    assert (
        str(taken.value.cause)
        == "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"
    )
    with pytest.raises(AllocationError) as outside:
        ports.allocate_specific(80)
    assert str(outside.value) == (
        "Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"
    )
    handed = {ports.allocate() for _ in range(2767)}
    assert len(handed) == 2767 and 30080 not in handed
    assert all(30000 <= p <= 32767 for p in handed)
    ports.release(30080)
    assert ports.allocate() == 30080  # the only one left
    with pytest.raises(AllocationError):
        ports.allocate()


def test_allocation_stays_fast_with_many_services() -> None:
    allocator = IPAllocator("10.96.0.0/16", rng=random.Random(3))
    started = time.perf_counter()
    for _ in range(30000):
        allocator.allocate()
    assert time.perf_counter() - started < 2.0
    assert allocator.used_count == 30000
