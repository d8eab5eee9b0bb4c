from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from litekube.node.kubelet import node_status


def test_host_facts(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16318412 kB\nMemFree:  1 kB\n")
    assert node_status.memory_total(meminfo) == 16318412 * 1024
    release = tmp_path / "os-release"
    release.write_text('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
    assert node_status.os_image(release) == "Debian GNU/Linux 12 (bookworm)"
    assert node_status.architecture("x86_64") == "amd64" and node_status.architecture("aarch64") == "arm64"


def test_capacity_and_allocatable(tmp_path: Path) -> None:
    cap, alloc = node_status.capacity(tmp_path, cpus=4, memory=8 * 2**30)
    assert cap["cpu"] == "4" and cap["pods"] == "110" and cap["memory"] == f"{8 * 2**20}Ki"
    assert alloc["cpu"] == "3900m"
    assert alloc["memory"] == f"{(8 * 2**30 - 356 * 2**20) // 1024}Ki"
    assert int(alloc["ephemeral-storage"]) < int(cap["ephemeral-storage"][:-2]) * 1024


def test_conditions_keep_transition_times() -> None:
    t0, t1 = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, 0, 1, tzinfo=UTC)
    first = node_status.node_status("n", {}, {}, "10.0.0.1", {}, t0)
    second = node_status.node_status("n", {}, {}, "10.0.0.1", {}, t1, first)
    ready = next(c for c in second["conditions"] if c["type"] == "Ready")
    assert (
        ready["lastTransitionTime"] == "2025-01-01T00:00:00Z"
        and ready["lastHeartbeatTime"] == "2025-01-01T00:01:00Z"
    )
    assert [c["reason"] for c in second["conditions"]] == [
        "KubeletHasSufficientMemory",
        "KubeletHasNoDiskPressure",
        "KubeletHasSufficientPID",
        "KubeletReady",
    ]


def test_primary_ip_is_an_ipv4_address() -> None:
    address = node_status.primary_ipv4()
    assert len(address.split(".")) == 4
