from __future__ import annotations

from litekube.controllers.garbagecollector import GarbageCollector
from litekube.controllers.namespace import NamespaceController
from litekube.controllers.resources import DEPLOYMENTS, NAMESPACES, PODS, REPLICA_SETS, SERVICE_ACCOUNTS
from litekube.controllers.serviceaccount import ServiceAccountsController
from tests.controllers.deployment_helpers import Cluster, deployment_body
from tests.controllers.harness import Env


async def test_every_namespace_gets_a_default_service_account(env: Env) -> None:
    sac = ServiceAccountsController(env.client, env.informers, env.clock)
    await env.start()
    await env.client.create(NAMESPACES, {"metadata": {"name": "team-a"}})
    await env.drive(sac)
    [sa] = env.objects(SERVICE_ACCOUNTS, "team-a")
    assert sa["metadata"]["name"] == "default"
    # deleted → recreated
    await env.client.delete(SERVICE_ACCOUNTS, "default", "team-a")
    await env.drive(sac)
    assert [s["metadata"]["name"] for s in env.objects(SERVICE_ACCOUNTS, "team-a")] == ["default"]


async def test_namespace_deletion_empties_then_removes_namespace(env: Env) -> None:
    cluster = Cluster(env)
    gc = GarbageCollector(env.client, env.informers, env.clock, resources=[DEPLOYMENTS, REPLICA_SETS, PODS])
    nsc = NamespaceController(env.client, env.informers, env.clock)
    sac = ServiceAccountsController(env.client, env.informers, env.clock)
    controllers = (cluster.deployments, cluster.replica_sets, gc, nsc, sac)
    await env.start()
    await env.client.create(NAMESPACES, {"metadata": {"name": "team-a"}})
    body = deployment_body()
    body["metadata"]["namespace"] = "team-a"
    await env.client.create(DEPLOYMENTS, body, "team-a")
    await env.drive(*controllers)
    assert len(env.objects(PODS, "team-a")) == 3
    await env.client.delete(NAMESPACES, "team-a")
    await env.fake.settle()
    ns = env.get(NAMESPACES, "team-a", None)
    assert ns["status"]["phase"] == "Terminating"
    await env.drive(*controllers)
    for _ in range(5):
        if env.fake.get_object(NAMESPACES, None, "team-a") is None:
            break
        await env.advance(2, *controllers)
    assert env.fake.get_object(NAMESPACES, None, "team-a") is None
    assert env.objects(PODS, "team-a") == [] and env.objects(DEPLOYMENTS, "team-a") == []
    finalize = [w for w in env.fake.writes if w.path.endswith("/finalize")]
    assert finalize and finalize[-1].body["spec"]["finalizers"] == []


async def test_creating_in_terminating_namespace_is_forbidden_and_ignored_by_replica_sets(env: Env) -> None:
    await env.start()
    await env.client.create(NAMESPACES, {"metadata": {"name": "gone"}})
    await env.client.delete(NAMESPACES, "gone")
    code, body = await env.fake.request(
        "POST", "/api/v1/namespaces/gone/pods", None, {"metadata": {"name": "p"}}
    )
    assert code == 403
    assert body["details"]["causes"][0]["reason"] == "NamespaceTerminating"
