from __future__ import annotations

from litekube.client.base import JSON
from litekube.controllers.ttlafterfinished import JOBS, TTLAfterFinishedController
from litekube.machinery.clock import rfc3339
from tests.controllers.harness import Env


def job(name: str, ttl: int | None) -> JSON:
    spec: JSON = {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
    if ttl is not None:
        spec["ttlSecondsAfterFinished"] = ttl
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


async def finish(env: Env, name: str, condition: str = "Complete") -> None:
    current = env.get(JOBS, name)
    current["status"] = {
        "conditions": [{"type": condition, "status": "True", "lastTransitionTime": rfc3339(env.clock.now())}]
    }
    await env.client.update_status(JOBS, current)


def job_names(env: Env) -> list[str]:
    return sorted(j["metadata"]["name"] for j in env.objects(JOBS))


async def test_deletes_finished_job_when_ttl_passes(env: Env) -> None:
    controller = TTLAfterFinishedController(env.client, env.informers, env.clock)
    await env.start()
    await env.client.create(JOBS, job("done", 100), "default")
    await env.client.create(JOBS, job("failed", 10), "default")
    await env.client.create(JOBS, job("running", 5), "default")
    await env.client.create(JOBS, job("forever", None), "default")
    await finish(env, "done")
    await finish(env, "failed", "Failed")
    await finish(env, "forever")
    await env.drive(controller)
    assert job_names(env) == ["done", "failed", "forever", "running"]
    await env.advance(9.9, controller)
    assert "failed" in job_names(env)
    await env.advance(0.2, controller)
    assert job_names(env) == ["done", "forever", "running"]
    await env.advance(89.8, controller)
    assert "done" in job_names(env)
    await env.advance(0.2, controller)
    assert job_names(env) == ["forever", "running"]
    deletes = [w for w in env.fake.writes if w.method == "DELETE"]
    assert deletes and all(w.body.get("propagationPolicy") == "Background" for w in deletes)
    await env.advance(1000, controller)
    assert job_names(env) == ["forever", "running"]


async def test_ttl_raised_before_expiry_is_honoured(env: Env) -> None:
    controller = TTLAfterFinishedController(env.client, env.informers, env.clock)
    await env.start()
    await env.client.create(JOBS, job("j", 10), "default")
    await finish(env, "j")
    await env.drive(controller)
    current = env.get(JOBS, "j")
    current["spec"]["ttlSecondsAfterFinished"] = 60
    await env.client.update(JOBS, current)
    await env.advance(11, controller)
    assert job_names(env) == ["j"]
    await env.advance(50, controller)
    assert job_names(env) == []
