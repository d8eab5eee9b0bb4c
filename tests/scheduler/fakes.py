"""FakeTransport plus pods/binding (the shared fake does not serve POST subresources)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litekube.client.fake import FakeTransport
from litekube.machinery.clock import rfc3339


class BindingFakeTransport(FakeTransport):
    async def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        if method == "POST" and path.endswith("/binding"):
            pod_path = path[: -len("/binding")]
            code, pod = await super().request("GET", pod_path)
            if code != 200:
                return code, pod
            if pod["spec"].get("nodeName"):
                return 409, {
                    "kind": "Status",
                    "code": 409,
                    "reason": "Conflict",
                    "message": "already assigned",
                }
            pod["spec"]["nodeName"] = body["target"]["name"]
            code, pod = await super().request("PUT", pod_path, None, pod)
            conds = [c for c in pod["status"].get("conditions") or [] if c["type"] != "PodScheduled"]
            conds.append(
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": rfc3339(self.clock.now())}
            )
            pod["status"]["conditions"] = conds
            await super().request("PUT", pod_path + "/status", None, pod)
            self.bindings.append((pod["metadata"]["name"], body["target"]["name"]))
            return 201, {"kind": "Status", "status": "Success", "code": 201}
        return await super().request(method, path, query, body, content_type)

    @property
    def bindings(self) -> list[tuple[str, str]]:
        if not hasattr(self, "_bindings"):
            self._bindings: list[tuple[str, str]] = []
        return self._bindings
