"""Golden files of the rendered table for representative models, and `nft -c` on each.

Regenerate after an intended change: LITEKUBE_UPDATE_GOLDEN=1 pytest tests/proxy/test_rules.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from litekube.proxy.model import Endpoint, ServicePort
from litekube.proxy.rules import render

GOLDEN = Path(__file__).parent / "golden"
NODE = ["192.0.2.2"]
A, B, C = Endpoint("10.244.0.5", 8080, True), Endpoint("10.244.0.6", 8080), Endpoint("10.244.0.7", 8080, True)

MODELS: dict[str, list[ServicePort]] = {
    "empty": [],
    "clusterip": [
        ServicePort("default", "web", "http", "TCP", 80, "10.96.0.20", endpoints=(A, B)),
        ServicePort(
            "default", "web", "metrics", "TCP", 9090, "10.96.0.20", endpoints=(Endpoint("10.244.0.5", 9100),)
        ),
        ServicePort(
            "kube-system", "dns", "dns", "UDP", 53, "10.96.0.53", endpoints=(Endpoint("10.244.0.9", 53),)
        ),
        ServicePort("default", "assoc", "", "SCTP", 7777, "10.96.0.21", endpoints=(A,)),
    ],
    "nodeport": [
        ServicePort("default", "web", "", "TCP", 80, "10.96.0.20", node_port=30080, endpoints=(A, B, C)),
    ],
    "loadbalancer-local": [
        ServicePort(
            "default",
            "lb",
            "",
            "TCP",
            8080,
            "10.96.0.30",
            node_port=31000,
            external_ips=("127.0.0.1", "192.0.2.2"),
            external_local=True,
            endpoints=(A, B, C),
        ),
        ServicePort(
            "default",
            "remote-only",
            "",
            "TCP",
            8081,
            "10.96.0.31",
            node_port=31001,
            external_ips=("127.0.0.1", "192.0.2.2"),
            external_local=True,
            endpoints=(B,),
        ),
    ],
    "affinity": [
        ServicePort("default", "sticky", "", "TCP", 80, "10.96.0.40", affinity_timeout=600, endpoints=(A, B)),
    ],
    "no-endpoints": [
        ServicePort("default", "idle", "", "TCP", 80, "10.96.0.50"),
        ServicePort("default", "idle-np", "", "UDP", 5353, "10.96.0.51", node_port=30053),
        ServicePort(
            "default", "idle-lb", "", "TCP", 443, "10.96.0.52", node_port=30443, external_ips=("127.0.0.1",)
        ),
    ],
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_rendered_table_matches_golden(name: str) -> None:
    text = render(MODELS[name], NODE, "10.244.0.0/16").to_text()
    path = GOLDEN / f"{name}.nft"
    if os.environ.get("LITEKUBE_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_every_model_has_a_golden_file_and_no_strays() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.nft")) == sorted(MODELS)


def test_rendering_is_deterministic_and_chain_names_are_unique() -> None:
    ports = MODELS["clusterip"]
    first, second = render(ports, NODE), render(list(ports), NODE)
    assert first.to_text() == second.to_text()
    assert len({name.split("-", 2)[1] for name in first.chains if name.startswith("endpoint-")}) == 5


def test_random_spread_covers_every_endpoint_once() -> None:
    rs = render(MODELS["nodeport"], NODE)
    [chain] = [c for n, c in rs.chains.items() if n.startswith("service-") and "/" in n]
    pick = chain.rules[-1]
    assert pick.startswith("numgen random mod 3 vmap {")
    assert [pick.count(f"__{e.ip}/") for e in (A, B, C)] == [1, 1, 1]


def test_local_policy_without_local_endpoints_drops_external_traffic() -> None:
    rs = render(MODELS["loadbalancer-local"], NODE)
    [local] = [c for n, c in rs.chains.items() if n.startswith("local-") and "remote-only" in n]
    assert local.rules == ["drop"]


def test_duplicate_load_balancer_ports_keep_the_first_owner() -> None:
    ports = [
        ServicePort(
            "default",
            "a",
            "",
            "TCP",
            80,
            "10.96.0.60",
            external_ips=("127.0.0.1",),
            node_port=30001,
            endpoints=(A,),
        ),
        ServicePort(
            "default",
            "b",
            "",
            "TCP",
            80,
            "10.96.0.61",
            external_ips=("127.0.0.1",),
            node_port=30002,
            endpoints=(B,),
        ),
    ]
    elements = render(ports, NODE).sets["service-ips"].elements
    assert [e for e in elements if e.startswith("127.0.0.1 .")] == [
        e for e in elements if e.startswith("127.0.0.1 .") and "/a/" in e
    ]
    assert len([e for e in elements if e.startswith("127.0.0.1 .")]) == 1


@pytest.mark.root
@pytest.mark.parametrize("name", sorted(MODELS))
def test_golden_passes_nft_check(name: str) -> None:
    if os.geteuid() != 0 or shutil.which("nft") is None:
        pytest.skip("needs root and nft")
    # a different table name: `nft -c` validates in the kernel without committing anything
    text = (GOLDEN / f"{name}.nft").read_text().replace("table ip litekube ", "table ip litekube-check ", 1)
    result = subprocess.run(["nft", "-c", "-f", "-"], input=text, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
