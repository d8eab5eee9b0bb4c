from __future__ import annotations

from litekube.controllers.resources import NAMESPACES
from litekube.controllers.rootcacert import ROOT_CA_CONFIG_MAP, RootCACertPublisher
from litekube.controllers.rootcacert.controller import CONFIG_MAPS
from tests.controllers.harness import Env

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


async def test_every_namespace_gets_the_cluster_ca_and_damage_is_repaired(env: Env) -> None:
    publisher = RootCACertPublisher(env.client, env.informers, env.clock, PEM)
    await env.start()
    await env.client.create(NAMESPACES, {"metadata": {"name": "team-a"}})
    await env.drive(publisher)
    [cm] = env.objects(CONFIG_MAPS, "team-a")
    assert cm["metadata"]["name"] == ROOT_CA_CONFIG_MAP
    assert cm["data"] == {"ca.crt": PEM}
    assert "kube-apiserver" in cm["metadata"]["annotations"]["kubernetes.io/description"]

    await env.client.patch(CONFIG_MAPS, ROOT_CA_CONFIG_MAP, {"data": {"ca.crt": "tampered"}}, "team-a")
    await env.drive(publisher)
    assert env.objects(CONFIG_MAPS, "team-a")[0]["data"]["ca.crt"] == PEM

    await env.client.delete(CONFIG_MAPS, ROOT_CA_CONFIG_MAP, "team-a")
    await env.drive(publisher)
    assert [c["metadata"]["name"] for c in env.objects(CONFIG_MAPS, "team-a")] == [ROOT_CA_CONFIG_MAP]
