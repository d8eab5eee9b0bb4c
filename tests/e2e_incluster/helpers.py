"""Helpers for pods that talk to the API server from inside the cluster (used by two packages)."""

from __future__ import annotations

import json

from tests.conftest import Cluster

SA = "/var/run/secrets/kubernetes.io/serviceaccount"
CLIENT_POD = """
apiVersion: v1
kind: Pod
metadata: {name: api-client, namespace: NS}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: curl
    image: curlimages/curl
    command: ["sleep", "3600"]
"""


def node_ip(c: Cluster) -> str:
    node = json.loads(c.ok("get", "nodes", "-o", "json"))["items"][0]
    return next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")


def curl_from_pod(
    c: Cluster, ns: str, url: str, *options: str, token: str = f"$(cat {SA}/token)"
) -> tuple[str, str]:
    """(status code, body) of a GET from inside pod `api-client`, by default with its own token."""
    script = (
        f'curl -sS {" ".join(options)} -H "Authorization: Bearer {token}" '
        f"-o /tmp/body -w '%{{http_code}}' {url}; echo; cat /tmp/body"
    )
    result = c.kubectl("exec", "api-client", "-n", ns, "--", "sh", "-c", script, timeout=60)
    code, _, body = result.stdout.partition("\n")
    return code.strip(), body


def start_client_pod(c: Cluster, ns: str) -> None:
    c.ok("create", "namespace", ns)
    c.ok("apply", "-f", "-", input=CLIENT_POD.replace("NS", ns))
    c.ok("wait", "--for=condition=Ready", "pod/api-client", "-n", ns, "--timeout=120s")
