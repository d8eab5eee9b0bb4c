"""Issue 7's bridge on real containers: an ECS task definition from the samples, applied unchanged.

The amazon-ecs-agent functional test `container-ordering` names its image
`127.0.0.1:51670/busybox:latest`; the node's mirrors file sends that registry to the local
test registry (as a user would point a private registry at a mirror), so the sample file
runs as it is. Its dependsOn conditions become init containers (SUCCESS, COMPLETE) and a
native sidecar with a startup probe (HEALTHY); the test checks that the kubelet ran them in
that order and that the essential container runs.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import BIN, SEED, Cluster
from tests.e2e_node.test_pods import _wait
from tests.fixtures.images import LocalRegistry

pytestmark = [pytest.mark.e2e, pytest.mark.root]
SAMPLE = (
    SEED.parent
    / "ecs-samples"
    / "aws__amazon-ecs-agent__agent__functional_tests__testdata__taskdefinitions__container-ordering__task-definition.json"
)
SAMPLE_REGISTRY = "127.0.0.1:51670"
NS = "ecs"


def _ecs_pod(c: Cluster) -> dict | None:
    selector = "app.kubernetes.io/name=ecsftest-container-ordering"
    items = json.loads(c.ok("get", "pods", "-n", NS, "-l", selector, "-o", "json"))["items"]
    return items[0] if items else None


def test_container_ordering_sample_runs_in_dependency_order(
    node_cluster: Cluster,
    local_registry: LocalRegistry,
) -> None:
    if not SAMPLE.exists():
        pytest.skip(f"ECS samples not found beside the repository ({SAMPLE})")
    c = node_cluster
    # the sample's registry, mirrored to the local one (the kubelet re-reads the file when it changes)
    local_registry.push(local_registry.layouts["busybox"], "latest", "busybox:latest")
    mirrors = c.data_dir / "registries.yaml"
    mirrors.write_text(
        mirrors.read_text() + f'  "{SAMPLE_REGISTRY}":\n    endpoint: ["{local_registry.url}"]\n'
    )
    c.ok("create", "namespace", NS)
    applied = subprocess.run(
        [str(BIN / "litekube"), "ecs", "apply", "-n", NS, "--kubeconfig", c.kubeconfig, str(SAMPLE)],
        capture_output=True,
        text=True,
        env=c.env(),
        timeout=60,
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "deployment.apps/ecsftest-container-ordering created" in applied.stdout

    def essential_running() -> dict | None:
        pod = _ecs_pod(c)
        if pod is None:
            return None
        statuses = {s["name"]: s for s in pod["status"].get("containerStatuses") or []}
        return pod if "running" in (statuses.get("success", {}).get("state") or {}) else None

    pod = _wait(essential_running, timeout=120)
    init = {s["name"]: s for s in pod["status"]["initContainerStatuses"]}
    # SUCCESS and COMPLETE dependencies ran to completion before the main containers started
    for name in ("success-dependency", "complete-dependency"):
        assert init[name]["state"]["terminated"]["exitCode"] == 0, init[name]
    # the HEALTHY dependency is a native sidecar: started (its startup probe passed) and still running
    sidecar = init["healthy-dependency"]
    assert sidecar["started"] is True and ("running" in sidecar["state"] or sidecar["restartCount"] > 0)
    started_main = pod["status"]["containerStatuses"]
    finished_init = max(
        init[name]["state"]["terminated"]["finishedAt"]
        for name in ("success-dependency", "complete-dependency")
    )
    for status in started_main:
        state = status["state"].get("running") or status["state"].get("terminated") or {}
        if "startedAt" in state and status["restartCount"] == 0:
            assert state["startedAt"] >= finished_init, (status["name"], state, finished_init)
    image = pod["spec"]["containers"][0]["image"]
    assert image == f"{SAMPLE_REGISTRY}/busybox:latest"  # the sample's own image name, unchanged
    c.ok("delete", "namespace", NS, "--timeout=120s")
