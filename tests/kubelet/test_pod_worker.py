"""One pod worker against the fake API, runtime, network and images, one `sync()` at a time."""

from __future__ import annotations

import asyncio
import signal

from litekube.node.images import ImagePullError
from litekube.node.runtime.fake import Behaviour
from tests.kubelet.fakes import PODS, Harness

SIMPLE = {
    "metadata": {"name": "simple-app", "labels": {"app": "web-server"}},
    "spec": {
        "containers": [
            {
                "name": "nginx",
                "image": "nginx:1.21",
                "ports": [{"containerPort": 80}],
                "resources": {
                    "requests": {"memory": "128Mi", "cpu": "100m"},
                    "limits": {"memory": "256Mi", "cpu": "200m"},
                },
            }
        ]
    },
}


def one(name: str, **container: object) -> dict:
    return {
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "app", "image": "busybox", **container}]},
    }


def status_of(h: Harness, name: str) -> dict:
    pod = h.pod(name)
    assert pod is not None
    return pod["status"]


def container_status(h: Harness, name: str, container: str = "app") -> dict:
    return next(c for c in status_of(h, name)["containerStatuses"] if c["name"] == container)


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


async def test_simple_pod_runs_and_reports_running(harness: Harness) -> None:
    worker = await harness.worker(SIMPLE)
    await worker.sync()
    status = status_of(harness, "simple-app")
    assert status["phase"] == "Running"
    assert status["podIP"] == "10.244.0.2" and status["hostIP"] == "192.168.1.10"
    assert status["qosClass"] == "Burstable"
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "PodReadyToStartContainers": "True",
        "Initialized": "True",
        "ContainersReady": "True",
        "Ready": "True",
        "PodScheduled": "True",
    }
    nginx = container_status(harness, "simple-app", "nginx")
    assert nginx["state"] == {"running": {"startedAt": "2025-01-01T00:00:00Z"}}
    assert nginx["image"] == "docker.io/library/nginx:1.21"
    assert nginx["imageID"].startswith("docker.io/library/nginx@sha256:")
    assert nginx["containerID"] == f"runc://{worker.current['nginx'].id}"
    assert (nginx["ready"], nginx["started"], nginx["restartCount"]) == (True, True, 0)
    config = harness.runtime.containers[worker.current["nginx"].id].config
    assert config.args == ["nginx", "-g", "daemon off;"]
    assert (config.resources.cpu_shares, config.resources.cpu_quota, config.resources.memory_limit) == (
        102,
        20000,
        256 * 2**20,
    )
    assert config.sandbox_id == worker.sandbox_id and config.netns_path == worker.network.netns_path
    assert ("Pulled", 'Container image "nginx:1.21" already present on machine') in harness.events()
    assert ("Created", "Created container: nginx") in harness.events()
    assert ("Started", "Started container nginx") in harness.events()
    writes = len(harness.transport.writes_to("pods", "PUT", "status"))
    assert writes >= 1
    await worker.sync()
    assert len(harness.transport.writes_to("pods", "PUT", "status")) == writes  # nothing changed: no write


async def test_crash_loop_back_off(harness: Harness) -> None:
    worker = await harness.worker(one("crash", command=["false"]))
    await worker.sync()
    harness.runtime.finish(worker.current["app"].id, 1)
    await worker.sync()  # first exit: restarted at once
    assert worker.current["app"].attempt == 1
    harness.clock.advance(1)
    harness.runtime.finish(worker.current["app"].id, 1)
    delay = await worker.sync()  # second exit within 10 s: back-off
    assert delay == 10.0
    app = container_status(harness, "crash")
    pod_text = f"crash_default({worker.uid})"
    assert app["state"] == {
        "waiting": {
            "reason": "CrashLoopBackOff",
            "message": f"back-off 10s restarting failed container=app pod={pod_text}",
        }
    }
    assert app["lastState"]["terminated"]["exitCode"] == 1
    assert app["lastState"]["terminated"]["reason"] == "Error"
    assert app["restartCount"] == 1 and app["ready"] is False
    assert status_of(harness, "crash")["phase"] == "Running"
    assert ("BackOff", f"Back-off restarting failed container app in pod {pod_text}") in harness.events()
    harness.clock.advance(10)
    await worker.sync()
    assert worker.current["app"].attempt == 2
    assert container_status(harness, "crash")["restartCount"] == 2
    assert "running" in container_status(harness, "crash")["state"]
    harness.clock.advance(1)
    harness.runtime.finish(worker.current["app"].id, 1)
    await worker.sync()
    assert "back-off 20s" in container_status(harness, "crash")["state"]["waiting"]["message"]
    # only the current and the previous instance are kept
    assert len([c for c in harness.runtime.containers.values() if c.config.name == "app"]) == 2


async def test_image_pull_failure_backs_off(harness: Harness) -> None:
    harness.images.fail(
        "nginx:bad",
        ImagePullError('failed to pull and unpack image "docker.io/library/nginx:bad": not found'),
    )
    worker = await harness.worker(one("pull", image="nginx:bad"))
    await worker.sync()
    waiting = container_status(harness, "pull")["state"]["waiting"]
    assert waiting["reason"] == "ErrImagePull"
    events = harness.events()
    assert ("Pulling", 'Pulling image "nginx:bad"') in events
    assert (
        "Failed",
        'Failed to pull image "nginx:bad": failed to pull and unpack image "docker.io/library/nginx:bad": not found',
    ) in events
    assert ("Failed", "Error: ErrImagePull") in events
    await worker.sync()
    waiting = container_status(harness, "pull")["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff"
    assert waiting["message"].startswith('Back-off pulling image "nginx:bad": ErrImagePull: failed to pull')
    assert ("BackOff", 'Back-off pulling image "nginx:bad"') in harness.events()
    assert harness.images.pulls.count("docker.io/library/nginx:bad") == 1
    harness.clock.advance(11)
    await worker.sync()
    assert harness.images.pulls.count("docker.io/library/nginx:bad") == 2
    assert status_of(harness, "pull")["phase"] == "Pending"


async def test_missing_config_map_key_is_a_config_error(harness: Harness) -> None:
    ref = {"configMapKeyRef": {"name": "app-config", "key": "LEVEL"}}
    worker = await harness.worker(one("cfg", env=[{"name": "LEVEL", "valueFrom": ref}]))
    await worker.sync()
    assert container_status(harness, "cfg")["state"] == {
        "waiting": {"reason": "CreateContainerConfigError", "message": 'configmap "app-config" not found'}
    }
    assert ("Failed", 'Error: configmap "app-config" not found') in harness.events()
    await harness.client.create(
        __import__("litekube.api.resources", fromlist=["lookup"]).lookup("", "v1", "configmaps"),
        {"metadata": {"name": "app-config", "namespace": "default"}, "data": {"LEVEL": "debug"}},
    )
    await worker.sync()
    config = harness.runtime.containers[worker.current["app"].id].config
    assert ("LEVEL", "debug") in config.env


async def test_run_as_non_root_on_a_root_image_is_refused(harness: Harness) -> None:
    worker = await harness.worker(one("nonroot", securityContext={"runAsNonRoot": True}))
    await worker.sync()
    waiting = container_status(harness, "nonroot")["state"]["waiting"]
    assert waiting == {
        "reason": "CreateContainerConfigError",
        "message": f'container has runAsNonRoot and image will run as root (pod: "nonroot_default({worker.uid})", container: app)',
    }
    assert [c.config.name for c in harness.runtime.containers.values()] == ["POD"]


async def test_restart_policy_never_success_completes_and_frees_the_ip(harness: Harness) -> None:
    pod = one("job", command=["true"])
    pod["spec"]["restartPolicy"] = "Never"
    worker = await harness.worker(pod)
    await worker.sync()
    harness.runtime.finish(worker.current["app"].id, 0)
    await worker.sync()
    await worker.sync()
    status = status_of(harness, "job")
    assert status["phase"] == "Succeeded"
    terminated = container_status(harness, "job")["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert harness.network.pods == {}
    assert worker.current["app"].id in harness.runtime.containers  # kept for kubectl logs
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "PodCompleted"


async def test_init_containers_run_in_order_then_sidecars_then_main(harness: Harness) -> None:
    pod = {
        "metadata": {"name": "init"},
        "spec": {
            "initContainers": [
                {"name": "first", "image": "busybox"},
                {"name": "second", "image": "busybox"},
                {"name": "sidecar", "image": "busybox", "restartPolicy": "Always"},
            ],
            "containers": [{"name": "app", "image": "busybox"}],
        },
    }
    worker = await harness.worker(pod)
    await worker.sync()
    assert set(worker.current) == {"first"}
    status = status_of(harness, "init")
    assert status["phase"] == "Pending"
    assert container_status(harness, "init")["state"] == {"waiting": {"reason": "PodInitializing"}}
    initialized = next(c for c in status["conditions"] if c["type"] == "Initialized")
    assert initialized["message"] == "containers with incomplete status: [first second sidecar]"
    harness.runtime.finish(worker.current["first"].id, 0)
    await worker.sync()
    assert set(worker.current) == {"first", "second"}
    harness.runtime.finish(worker.current["second"].id, 0)
    await worker.sync()
    assert set(worker.current) == {"first", "second", "sidecar", "app"}
    status = status_of(harness, "init")
    assert status["phase"] == "Running"
    assert next(c for c in status["conditions"] if c["type"] == "Initialized")["status"] == "True"
    # the sidecar restarts whatever the pod's restart policy
    harness.runtime.finish(worker.current["sidecar"].id, 0)
    await worker.sync()
    assert worker.current["sidecar"].attempt == 1


async def test_graceful_deletion_runs_pre_stop_then_sigterm_then_deletes(harness: Harness) -> None:
    pod = one("bye", lifecycle={"preStop": {"exec": {"command": ["nginx", "-s", "quit"]}}})
    pod["spec"]["terminationGracePeriodSeconds"] = 5
    worker = await harness.worker(pod)
    await worker.sync()
    container_id = worker.current["app"].id
    signals_at_pre_stop: list[int] = []

    def handler(cid: str, argv: list[str], stdin: bytes) -> tuple[int, bytes, bytes]:
        signals_at_pre_stop.append(len(harness.runtime.signals))
        return 0, b"", b""

    harness.runtime.exec_handler = handler
    await harness.client.delete(PODS, "bye", "default")
    deleting = harness.pod("bye")
    assert deleting is not None and deleting["metadata"]["deletionGracePeriodSeconds"] == 5
    worker.update(deleting)
    await worker.sync()
    assert harness.runtime.exec_calls == [(container_id, ["nginx", "-s", "quit"])]
    assert signals_at_pre_stop == [0]
    assert (container_id, signal.SIGTERM) in harness.runtime.signals
    assert harness.runtime.containers == {}
    assert harness.network.pods == {}
    assert harness.pod("bye") is None
    assert ("Killing", "Stopping container app") in harness.events()
    deletes = [w for w in harness.transport.writes_to("pods") if w.method == "DELETE"]
    assert deletes[-1].body["gracePeriodSeconds"] == 0
    assert deletes[-1].body["preconditions"] == {"uid": worker.uid}
    assert worker.finished and not worker.pod_dir.exists()


async def test_sigkill_after_the_grace_period(harness: Harness) -> None:
    harness.runtime.behave("app", Behaviour(ignore_sigterm=True))
    pod = one("stubborn")
    pod["spec"]["terminationGracePeriodSeconds"] = 0
    worker = await harness.worker(pod)
    await worker.sync()
    container_id = worker.current["app"].id
    await harness.client.delete(PODS, "stubborn", "default", grace_period_seconds=1)
    worker.update(harness.pod("stubborn") or {})
    await worker.sync()
    sent = [sig for cid, sig in harness.runtime.signals if cid == container_id]
    assert sent == [signal.SIGTERM, signal.SIGKILL]
    assert harness.pod("stubborn") is None


async def test_liveness_failure_restarts_the_container(harness: Harness) -> None:
    probe = {
        "httpGet": {"path": "/healthz", "port": 80},
        "initialDelaySeconds": 5,
        "periodSeconds": 10,
        "failureThreshold": 3,
    }
    harness.prober.script("app", "/healthz", ("failure", "HTTP probe failed with statuscode: 500"))
    worker = await harness.worker(one("live", livenessProbe=probe))
    await worker.sync()
    first = worker.current["app"].id
    for step in (5, 10, 10):
        harness.clock.advance(step)
        await settle()
    assert harness.prober.calls == [("app", "/healthz")] * 3
    await worker.sync()  # kills it
    await worker.sync()  # restarts it
    assert worker.current["app"].id != first and worker.current["app"].attempt == 1
    events = harness.events()
    assert ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500") in events
    assert ("Killing", "Container app failed liveness probe, will be restarted") in events
    unhealthy = next(
        e
        for e in harness.transport.objects(__import__("tests.kubelet.fakes", fromlist=["EVENTS"]).EVENTS)
        if e["reason"] == "Unhealthy"
    )
    assert unhealthy["count"] == 3
    assert container_status(harness, "live")["restartCount"] == 1


async def test_readiness_and_startup_gate_ready(harness: Harness) -> None:
    startup = {"httpGet": {"path": "/started", "port": 80}, "periodSeconds": 1, "failureThreshold": 30}
    readiness = {"httpGet": {"path": "/ready", "port": 80}, "periodSeconds": 1, "successThreshold": 2}
    harness.prober.script("app", "/started", ("failure", "not yet"), ("success", ""))
    worker = await harness.worker(one("ready", startupProbe=startup, readinessProbe=readiness))
    await worker.sync()
    await settle()  # startup probe: failure
    await worker.sync()
    app = container_status(harness, "ready")
    assert (app["started"], app["ready"]) == (False, False)
    assert ("app", "/ready") not in harness.prober.calls  # gated by the startup probe
    harness.clock.advance(1)
    await settle()  # startup succeeds; readiness runs once (1 of 2 successes)
    harness.clock.advance(1)
    await settle()
    harness.clock.advance(1)
    await settle()
    await worker.sync()
    app = container_status(harness, "ready")
    assert (app["started"], app["ready"]) == (True, True)
    ready = next(c for c in status_of(harness, "ready")["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"


async def test_admission_rejects_what_does_not_fit(harness: Harness) -> None:
    pod = one("huge", resources={"requests": {"cpu": "5"}})
    worker = await harness.worker(pod)
    harness.kubelet._admit(worker)
    await worker.sync()
    await settle()
    status = status_of(harness, "huge")
    assert status["phase"] == "Failed" and status["reason"] == "OutOfcpu"
    assert (
        status["message"]
        == "Pod was rejected: Node didn't have enough resource: cpu, requested: 5000, used: 0, capacity: 3900"
    )
    assert harness.runtime.containers == {}
    assert (
        "OutOfcpu",
        "Node didn't have enough resource: cpu, requested: 5000, used: 0, capacity: 3900",
    ) in harness.events()


async def test_a_failed_network_setup_makes_no_sandbox_and_the_next_sync_retries(harness: Harness) -> None:
    harness.network.fail_next()
    worker = await harness.worker(SIMPLE)
    await worker.sync()
    assert worker.sandbox_id is None and worker.network is None
    assert not [c for c in harness.runtime.containers.values() if c.config.name == "POD"]
    assert any(reason == "FailedCreatePodSandBox" for reason, _ in harness.events())
    await worker.sync()
    assert status_of(harness, "simple-app")["phase"] == "Running"
    sandboxes = [c for c in harness.runtime.containers.values() if c.config.name == "POD"]
    assert len(sandboxes) == 1 and sandboxes[0].config.id == worker.sandbox_id
    assert worker.network is not None and sandboxes[0].config.netns_path == worker.network.netns_path
