"""Service-account tokens for projected volumes, requested from the TokenRequest API.

`PodTokens.token(pod, audience, expiration)` is what volumes.py calls for every
`serviceAccountToken` source each time it refreshes a pod's volumes. It keeps the last
TokenRequest per (service account, audience, expiration) and asks the API server for a new
one only when the cached one needs a refresh, as the kubelet's token manager does:
- past 80% of its lifetime (within 20% of the TTL, minus up to 10 s of jitter, of its
  expiry), e.g. a 3600 s token issued at 12:00:00 is renewed from about 12:47:50 on;
- or older than 24 hours, whatever its lifetime.
Each request binds the token to the pod (boundObjectRef kind Pod, name, uid), so the API
server stops accepting it once the pod is gone. A failed request keeps serving the cached
token while it has not expired; with nothing usable it raises `TokenError`, which the volume
code reports as upstream does ("failed to fetch token: ...").
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable
from typing import Any

from litekube.api.resources import lookup
from litekube.client.base import ApiError, Client

JSON = dict[str, Any]
MAX_TTL = 24 * 3600
MAX_JITTER = 10.0


class TokenError(Exception):
    pass


def _expiry(request: JSON) -> float:
    text = (request.get("status") or {}).get("expirationTimestamp", "")
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC).timestamp()


def requires_refresh(request: JSON, now: float, jitter: float) -> bool:
    ttl = int((request.get("spec") or {}).get("expirationSeconds") or 0)
    expires = _expiry(request)
    issued = expires - ttl
    return now > issued + MAX_TTL - jitter or now > expires - ttl * 20 // 100 - jitter


class PodTokens:
    """One pod's token cache (a pod worker owns one)."""

    def __init__(self, client: Client, now: Callable[[], float] = time.time) -> None:
        self.client = client
        self.now = now
        self._cache: dict[tuple[str, str, int], JSON] = {}

    async def token(self, pod: JSON, audience: str, expiration: int) -> str:
        meta = pod.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        account = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        key = (account, audience, expiration)
        cached = self._cache.get(key)
        now = self.now()
        if cached is not None and not requires_refresh(cached, now, random.random() * MAX_JITTER):
            return str(cached["status"]["token"])
        spec: JSON = {
            "expirationSeconds": expiration,
            "boundObjectRef": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": meta.get("name", ""),
                "uid": meta.get("uid", ""),
            },
        }
        if audience:
            spec["audiences"] = [audience]
        rt = lookup("", "v1", "serviceaccounts")
        assert rt is not None
        try:
            fresh = await self.client.create_subresource(
                rt,
                account,
                "token",
                {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec},
                namespace,
            )
        except (ApiError, OSError) as e:
            if cached is not None and now < _expiry(cached):
                return str(cached["status"]["token"])  # still valid: retry at the next refresh
            detail = e.status.get("message", str(e)) if isinstance(e, ApiError) else str(e)
            raise TokenError(f"failed to fetch token: {detail}") from e
        self._cache[key] = fresh
        return str(fresh["status"]["token"])
