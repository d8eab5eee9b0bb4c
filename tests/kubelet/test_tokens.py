"""Projected service-account tokens: requested bound to the pod, cached, renewed past 80% of their life."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, cast

import pytest

from litekube.client.base import ApiError, Client
from litekube.node.kubelet.tokens import PodTokens, TokenError, requires_refresh
from litekube.node.kubelet.volumes import DirectoryMounter, VolumeError, setup_volumes

JSON = dict[str, Any]
POD = {
    "metadata": {"name": "web", "namespace": "shop", "uid": "u-1"},
    "spec": {
        "serviceAccountName": "robot",
        "volumes": [
            {
                "name": "kube-api-access-x1",
                "projected": {
                    "sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]
                },
            }
        ],
    },
}


def stamp(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TokenAPI:
    """Answers TokenRequests like the API server, or fails when told to."""

    def __init__(self, now: list[float]) -> None:
        self.now = now
        self.requests: list[tuple[str, str, str, JSON]] = []
        self.fail = False

    async def create_subresource(
        self, rt: Any, name: str, sub: str, body: JSON, namespace: str | None
    ) -> JSON:
        if self.fail:
            raise ApiError(404, {"reason": "NotFound", "message": f'serviceaccounts "{name}" not found'})
        self.requests.append((str(namespace), name, sub, body))
        spec = body["spec"]
        expires = self.now[0] + spec["expirationSeconds"]
        return {
            "spec": spec,
            "status": {"token": f"token-{len(self.requests)}", "expirationTimestamp": stamp(expires)},
        }


class Facts:
    host_ip = "10.0.0.1"
    pod_ip = "10.244.0.2"
    node_allocatable: JSON = {}


async def fetch(kind: str, namespace: str, name: str) -> JSON | None:
    return None


def test_refresh_past_eighty_percent_or_a_day() -> None:
    request = {"spec": {"expirationSeconds": 3600}, "status": {"expirationTimestamp": stamp(1_003_600)}}
    assert not requires_refresh(request, 1_000_000 + 2879, jitter=0)
    assert requires_refresh(request, 1_000_000 + 2881, jitter=0)
    assert requires_refresh(request, 1_000_000 + 2871, jitter=10)  # jitter renews a little earlier
    week = {
        "spec": {"expirationSeconds": 7 * 86400},
        "status": {"expirationTimestamp": stamp(1_000_000 + 7 * 86400)},
    }
    assert requires_refresh(week, 1_000_000 + 86401, jitter=0)


async def test_token_is_bound_to_the_pod_cached_and_renewed(tmp_path: Path) -> None:
    now = [1_000_000.0]
    api = TokenAPI(now)
    tokens = PodTokens(cast(Client, api), now=lambda: now[0])
    paths = await setup_volumes(POD, tmp_path, fetch, DirectoryMounter(), Facts(), tokens)
    assert (paths["kube-api-access-x1"] / "token").read_text() == "token-1"
    namespace, name, sub, body = api.requests[0]
    assert (namespace, name, sub) == ("shop", "robot", "token")
    assert body["spec"] == {
        "expirationSeconds": 3600,
        "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "web", "uid": "u-1"},
    }
    now[0] += 2000  # 56% of the lifetime: the cached token is kept
    await setup_volumes(POD, tmp_path, fetch, DirectoryMounter(), Facts(), tokens)
    assert len(api.requests) == 1
    now[0] += 900  # 80.5%: renewed, and the file changes
    await setup_volumes(POD, tmp_path, fetch, DirectoryMounter(), Facts(), tokens)
    assert (paths["kube-api-access-x1"] / "token").read_text() == "token-2"
    assert len(api.requests) == 2


async def test_failures_keep_a_valid_token_and_otherwise_fail_the_mount(tmp_path: Path) -> None:
    now = [1_000_000.0]
    api = TokenAPI(now)
    tokens = PodTokens(cast(Client, api), now=lambda: now[0])
    assert await tokens.token(POD, "vault", 600) == "token-1"
    assert api.requests[0][3]["spec"]["audiences"] == ["vault"]
    api.fail = True
    now[0] += 590  # due for renewal, the request fails, the old token is still valid
    assert await tokens.token(POD, "vault", 600) == "token-1"
    now[0] += 20  # expired and nothing new
    with pytest.raises(TokenError, match='failed to fetch token: serviceaccounts "robot" not found'):
        await tokens.token(POD, "vault", 600)
    with pytest.raises(VolumeError) as error:
        await setup_volumes(POD, tmp_path, fetch, DirectoryMounter(), Facts(), PodTokens(cast(Client, api)))
    assert error.value.volume == "kube-api-access-x1"
