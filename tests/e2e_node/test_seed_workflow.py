"""The seed's Deployment walk-through on real containers, command by command as commands.sh has it.

Seed 03 (nginx:1.21 with its HTTP liveness and readiness probes) and seed 04 (its ClusterIP
Service), then: get/describe, scale to 5, `set image` to nginx:1.22 with `rollout status`,
`rollout history`, `rollout undo`, `get replicasets -l app=web-app`, `get all -l app=web-app`,
the Service's endpoints, `kubectl run test-pod --image=curlimages/curl --rm -it -- curl
http://web-app-service` exactly as typed in the seed, and `get events --sort-by`.
Also the node behaviours issue 4 names, through kubectl: a failing liveness probe restarts
the container (Unhealthy, Killing), a memory hog is OOMKilled, runAsNonRoot on a root
image is refused with upstream's message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.conftest import SEED, Cluster
from tests.e2e_node.test_pods import _pod, _wait
from tests.e2e_node.test_services import _programmed, _ready_pods
from tests.e2e_node.tty import run_on_tty

pytestmark = [pytest.mark.e2e, pytest.mark.root]
M = SEED / "manifests"
NS = "seedflow"


def _images(c: Cluster, selector: str) -> set[str]:
    return {p["spec"]["containers"][0]["image"] for p in _ready_pods(c, NS, selector)}


def _settled(c: Cluster, replicas: int, image: str) -> bool:
    pods = json.loads(c.ok("get", "pods", "-n", NS, "-l", "app=web-app", "-o", "json"))["items"]
    ready = _ready_pods(c, NS, "app=web-app")
    return len(pods) == replicas and len(ready) == replicas and _images(c, "app=web-app") == {image}


@pytest.fixture(scope="module")
def ns(node_cluster: Cluster) -> str:
    node_cluster.ok("create", "namespace", NS)
    return NS


@pytest.fixture(scope="module")
def seed_deployment(node_cluster: Cluster, ns: str) -> Iterator[Cluster]:
    c = node_cluster
    c.ok("config", "set-context", "--current", f"--namespace={NS}")
    try:
        c.ok("apply", "-f", str(M / "03-deployment-web-app-deployment.yaml"))
        c.ok("apply", "-f", str(M / "04-service-web-app-service.yaml"))
        _wait(lambda: _settled(c, 3, "nginx:1.21"), timeout=120)
        yield c
    finally:
        c.ok("config", "set-context", "--current", "--namespace=default")


def test_deployment_scale_roll_and_undo_as_the_seed_does(seed_deployment: Cluster) -> None:
    c = seed_deployment
    deployments = c.ok("get", "deployments")
    assert "web-app-deployment" in deployments and "3/3" in deployments
    describe = c.ok("describe", "deployment", "web-app-deployment")
    assert "RollingUpdate" in describe and "25% max unavailable, 25% max surge" in describe
    assert "http-get http://:80/ delay=30s" in describe  # the seed's liveness probe, as kubectl shows it

    c.ok("scale", "deployment", "web-app-deployment", "--replicas=5")
    _wait(lambda: _settled(c, 5, "nginx:1.21"), timeout=120)

    c.ok("set", "image", "deployment/web-app-deployment", "web-app=nginx:1.22")
    status = c.kubectl("rollout", "status", "deployment/web-app-deployment", "--timeout=240s", timeout=260)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "successfully rolled out" in status.stdout
    _wait(lambda: _settled(c, 5, "nginx:1.22"), timeout=60)
    for pod in _ready_pods(c, NS, "app=web-app"):
        assert pod["status"]["containerStatuses"][0]["image"].endswith("nginx:1.22")

    history = c.ok("rollout", "history", "deployment/web-app-deployment")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]

    c.ok("rollout", "undo", "deployment/web-app-deployment")
    status = c.kubectl("rollout", "status", "deployment/web-app-deployment", "--timeout=240s", timeout=260)
    assert status.returncode == 0, status.stdout + status.stderr
    _wait(lambda: _settled(c, 5, "nginx:1.21"), timeout=60)

    replicasets = json.loads(c.ok("get", "replicasets", "-l", "app=web-app", "-o", "json"))["items"]
    by_image = {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs for rs in replicasets}
    assert set(by_image) == {"nginx:1.21", "nginx:1.22"}
    assert by_image["nginx:1.22"]["spec"]["replicas"] == 0
    assert by_image["nginx:1.21"]["status"]["readyReplicas"] == 5
    name = by_image["nginx:1.22"]["metadata"]["name"]
    assert re.search(r"Replicas:\s+\d+ current / 0 desired", c.ok("describe", "replicaset", name))

    everything = c.ok("get", "all", "-l", "app=web-app")
    for kind in ("pod/web-app-deployment-", "service/web-app-service", "deployment.apps/web-app-deployment"):
        assert kind in everything
    assert everything.count("replicaset.apps/web-app-deployment-") == 2


def test_service_by_name_from_the_curl_image_as_typed_in_the_seed(seed_deployment: Cluster) -> None:
    c = seed_deployment
    _wait(lambda: len(_ready_pods(c, NS, "app=web-app")) >= 3, timeout=120)
    service = json.loads(c.ok("get", "service", "web-app-service", "-o", "json"))
    _wait(lambda: _programmed(service["spec"]["clusterIP"]), timeout=30)
    endpoints = c.ok("get", "endpoints", "web-app-service")
    assert endpoints.count("10.244.") >= 1 and ":80" in endpoints

    # `kubectl run test-pod --image=curlimages/curl --rm -it -- curl http://web-app-service`,
    # as typed. With a TTY, kubectl shows only what the container prints after it attached;
    # curl can answer before that (on a real cluster too, and with the default restartPolicy
    # Always kubectl then has no logs to fall back to), so a user may have to run it again:
    # so may the test, once.
    texts = []
    for _ in range(2):
        output, code = run_on_tty(
            c,
            "run",
            "test-pod",
            "--image=curlimages/curl",
            "--rm",
            "-it",
            "--",
            "curl",
            "http://web-app-service",
            timeout=120,
        )
        texts.append(output.decode(errors="replace"))
        assert code == 0, texts[-1]
        _wait(lambda: c.kubectl("get", "pod", "test-pod").returncode == 1, timeout=60)
        if "Welcome to nginx!" in texts[-1]:
            break
    assert "Welcome to nginx!" in texts[-1], texts

    events = c.ok("get", "events", "--sort-by=.metadata.creationTimestamp")
    for reason in ("ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Pulled", "Started"):
        assert reason in events


def test_failing_liveness_probe_restarts_the_container(node_cluster: Cluster, ns: str) -> None:
    c = node_cluster
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "liveness", "namespace": NS},
        "spec": {
            # sh as PID 1 ignores SIGTERM: without a short grace period each kill waits 30 s
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "web",
                    "image": "busybox",
                    # serves for a moment, then stops answering: the probe fails and the kubelet restarts it
                    "command": [
                        "sh",
                        "-c",
                        "mkdir /w && echo ok > /w/healthz && httpd -p 8080 -h /w && "
                        "sleep 2 && rm /w/healthz && sleep 3600",
                    ],
                    "livenessProbe": {
                        "httpGet": {"path": "/healthz", "port": 8080},
                        "periodSeconds": 1,
                        "failureThreshold": 2,
                    },
                }
            ],
        },
    }
    c.ok("apply", "-f", "-", input=json.dumps(manifest))

    def restarted() -> bool:
        statuses = _pod(c, NS, "liveness")["status"].get("containerStatuses") or [{}]
        return statuses[0].get("restartCount", 0) >= 2

    _wait(restarted, timeout=120)
    describe = c.ok("describe", "pod", "liveness", "-n", NS)
    assert "Liveness probe failed: HTTP probe failed with statuscode: 404" in describe
    assert "Container web failed liveness probe, will be restarted" in describe
    c.ok("delete", "pod", "liveness", "-n", NS, "--grace-period=1")


def test_memory_hog_is_oom_killed(node_cluster: Cluster, ns: str) -> None:
    c = node_cluster
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "hog", "namespace": NS},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "hog",
                    "image": "busybox",
                    # the main process itself fills a 64 MiB buffer: the kernel kills it in its cgroup
                    "command": ["sh", "-c", "exec dd if=/dev/zero of=/dev/null bs=64M count=4"],
                    "resources": {"limits": {"memory": "32Mi"}},
                }
            ],
        },
    }
    c.ok("apply", "-f", "-", input=json.dumps(manifest))

    def terminated() -> dict | None:
        statuses = _pod(c, NS, "hog")["status"].get("containerStatuses") or [{}]
        return (statuses[0].get("state") or {}).get("terminated")

    state = _wait(terminated, timeout=90)
    assert state["reason"] == "OOMKilled" and state["exitCode"] == 137
    assert "OOMKilled" in c.ok("get", "pod", "hog", "-n", NS)
    c.ok("delete", "pod", "hog", "-n", NS, "--grace-period=1")


def test_run_as_non_root_on_a_root_image_is_refused(node_cluster: Cluster, ns: str) -> None:
    c = node_cluster
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nonroot", "namespace": NS},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "busybox",
                    "command": ["sleep", "3600"],
                    "securityContext": {"runAsNonRoot": True},
                }
            ],
        },
    }
    c.ok("apply", "-f", "-", input=json.dumps(manifest))

    def refused() -> dict | None:
        statuses = _pod(c, NS, "nonroot")["status"].get("containerStatuses") or [{}]
        waiting = (statuses[0].get("state") or {}).get("waiting") or {}
        return waiting if waiting.get("reason") == "CreateContainerConfigError" else None

    waiting = _wait(refused, timeout=90)
    uid = _pod(c, NS, "nonroot")["metadata"]["uid"]
    expected = (
        f'container has runAsNonRoot and image will run as root (pod: "nonroot_{NS}({uid})", container: app)'
    )
    assert waiting["message"] == expected
    assert "CreateContainerConfigError" in c.ok("get", "pod", "nonroot", "-n", NS)
    c.ok("delete", "pod", "nonroot", "-n", NS, "--grace-period=1")
