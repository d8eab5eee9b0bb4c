"""Against a real litekube server (the `cluster` fixture from tests/conftest.py): every
sample passes server-side dry-run, and a two-container task with desiredCount 2 runs with
its pods Ready."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from litekube.ecs.render import render_yaml
from tests.ecs.helpers import convert_data, convert_files
from tests.ecs.test_samples import SAMPLE_SETS

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("files", SAMPLE_SETS, ids=lambda fs: "+".join(Path(f).name[:40] for f in fs))
def test_samples_pass_server_side_dry_run(cluster: Any, files: tuple[Path, ...]) -> None:
    manifests = render_yaml(convert_files(*files).objects)
    result = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=manifests)
    assert result.returncode == 0, result.stderr


def test_two_containers_with_sidecar_health_check_reach_ready(cluster: Any) -> None:
    task = {
        "family": "ecs-e2e",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "busybox",
                "essential": True,
                "command": ["sh", "-c", "while true; do sleep 3600; done"],
                "memory": 64,
                "cpu": 128,
                "dependsOn": [{"containerName": "side_car", "condition": "HEALTHY"}],
            },
            {
                "name": "side_car",
                "image": "busybox",
                "essential": False,
                "command": ["sh", "-c", "touch /tmp/healthy; while true; do sleep 3600; done"],
                "healthCheck": {
                    "command": ["CMD-SHELL", "test -f /tmp/healthy"],
                    "interval": 5,
                    "timeout": 2,
                    "retries": 3,
                },
            },
        ],
    }
    service = {"serviceName": "ecs-e2e", "desiredCount": 2}
    conversion = convert_data(task, service)
    result = cluster.kubectl("apply", "-f", "-", input=render_yaml(conversion.objects))
    assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 180
    ready = 0
    while time.monotonic() < deadline:
        pods = json.loads(
            cluster.kubectl("get", "pods", "-l", "app.kubernetes.io/name=ecs-e2e", "-o", "json").stdout
        )
        ready = sum(
            1
            for pod in pods["items"]
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in pod.get("status", {}).get("conditions", [])
            )
        )
        if ready == 2:
            break
        time.sleep(2)
    assert ready == 2
    deployment = json.loads(cluster.kubectl("get", "deployment", "ecs-e2e", "-o", "json").stdout)
    assert deployment["status"].get("readyReplicas") == 2
    cluster.kubectl("delete", "deployment", "ecs-e2e", "--wait=false")
