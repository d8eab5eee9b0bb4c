from __future__ import annotations

from pathlib import Path

import pytest

from litekube.proxy.apply import FakeNft, NftApplier, NftError, update_script
from litekube.proxy.model import Endpoint, ServicePort
from litekube.proxy.rules import render

A, B = Endpoint("10.244.0.5", 80), Endpoint("10.244.0.6", 80)


def sticky(*eps: Endpoint, timeout: int = 600) -> list[ServicePort]:
    return [
        ServicePort("default", "web", "", "TCP", 80, "10.96.0.20", affinity_timeout=timeout, endpoints=eps)
    ]


@pytest.fixture
def sysctl(tmp_path: Path) -> Path:
    (tmp_path / "net/ipv4/conf/all").mkdir(parents=True)
    (tmp_path / "net/ipv4/conf/all/route_localnet").write_text("0\n")
    return tmp_path


async def test_first_apply_replaces_the_table_then_updates_are_incremental(sysctl: Path) -> None:
    nft = FakeNft()
    applier = NftApplier(nft, sysctl)
    await applier.apply(render(sticky(A)))
    assert nft.scripts[0].startswith("add table ip litekube\ndelete table ip litekube\ntable ip litekube {")
    await applier.apply(render(sticky(A, B)))
    second = nft.scripts[1].splitlines()
    assert "delete table ip litekube" not in second
    # affinity sets keep their kernel-written members: never flushed
    assert not [line for line in second if line.startswith("flush set") and "affinity" in line]
    assert [line for line in second if line.startswith("add set")] == [
        line for line in second if line.startswith("add set") and "10.244.0.6" in line
    ]
    # the unchanged chain of endpoint A is not rewritten
    assert not [line for line in second if line.startswith("add rule") and "dnat to 10.244.0.5" in line]


async def test_removed_endpoint_chain_is_flushed_before_it_is_deleted() -> None:
    script = update_script(render(sticky(A, B)), render(sticky(A))).splitlines()
    flush = next(
        i for i, line in enumerate(script) if line.startswith("flush chain") and "10.244.0.6" in line
    )
    delete = next(
        i for i, line in enumerate(script) if line.startswith("delete chain") and "10.244.0.6" in line
    )
    service = next(i for i, line in enumerate(script) if line.startswith("flush chain ip litekube service-"))
    assert service < delete and flush < delete
    assert any(line.startswith("delete set") and "10.244.0.6" in line for line in script)


async def test_new_affinity_timeout_makes_a_new_set_and_drops_the_old() -> None:
    script = update_script(render(sticky(A, timeout=600)), render(sticky(A, timeout=60))).splitlines()
    assert any(line.startswith("add set") and "timeout 60s" in line for line in script)
    assert sum(line.startswith("delete set") for line in script) == 1


async def test_identical_ruleset_touches_nothing() -> None:
    assert update_script(render(sticky(A)), render(sticky(A))) == "add table ip litekube\n"


async def test_failed_apply_falls_back_to_full_replace(sysctl: Path) -> None:
    nft = FakeNft()
    applier = NftApplier(nft, sysctl)
    await applier.apply(render(sticky(A)))
    nft.fail_next = 1
    with pytest.raises(NftError):
        await applier.apply(render(sticky(A, B)))
    await applier.apply(render(sticky(A, B)))
    assert "delete table ip litekube" in nft.scripts[-1]


async def test_route_localnet_is_enabled_and_restored_and_table_removed(sysctl: Path) -> None:
    nft = FakeNft()
    applier = NftApplier(nft, sysctl)
    await applier.apply(render([]))
    knob = sysctl / "net/ipv4/conf/all/route_localnet"
    assert knob.read_text().strip() == "1" and nft.tables == {"litekube"}
    await applier.remove()
    assert knob.read_text().strip() == "0" and nft.tables == set()
    assert nft.scripts[-1] == "delete table ip litekube\n"
