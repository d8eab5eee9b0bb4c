"""FakeNetwork: the in-memory pod network the kubelet's unit tests use."""

from __future__ import annotations

import pytest

from litekube.node.network import FakeNetwork, NetworkError, PodNetwork, PodRef, PortMapping


async def test_addresses_come_from_the_cidr_and_are_reused() -> None:
    network = FakeNetwork("10.244.3.0/30")  # hosts .1 (gateway) and .2 only
    assert isinstance(network, PodNetwork)
    first = await network.setup(PodRef("u1", "default", "a"), [PortMapping(80, 8080)])
    assert (first.ip, first.gateway, first.prefix_length) == ("10.244.3.2", "10.244.3.1", 30)
    assert first.port_mappings == (PortMapping(80, 8080),)
    assert await network.setup(PodRef("u1", "default", "a"), []) == first  # idempotent
    with pytest.raises(NetworkError, match="no IP addresses available"):
        await network.setup(PodRef("u2", "default", "b"), [])
    await network.teardown("u1")
    await network.teardown("u1")
    assert (await network.setup(PodRef("u2", "default", "b"), [])).ip == "10.244.3.2"
    assert [status.pod_uid for status in await network.list_pods()] == ["u2"]


async def test_injected_failures_and_call_log() -> None:
    network = FakeNetwork()
    network.fail_next("plugin type='bridge' failed (ADD): boom")
    with pytest.raises(NetworkError, match="boom"):
        await network.setup(PodRef("u1", "default", "a"), [])
    assert (await network.setup(PodRef("u1", "default", "a"), [])).ip == "10.244.0.2"
    await network.cleanup_all()
    assert await network.list_pods() == []
    assert network.calls == [("setup", "u1"), ("setup", "u1"), ("cleanup_all", "")]
