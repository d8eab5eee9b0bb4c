"""TokenRequest: `kubectl create token` issues signed service-account tokens the API server accepts."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from litekube.apiserver.registry import Registry
from litekube.apiserver.serviceaccount_token import ServiceAccountTokens
from tests.conftest import Cluster

pytestmark = pytest.mark.e2e

NS = "token-test"
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "worker", "namespace": NS},
    "spec": {"serviceAccountName": "robot", "containers": [{"name": "c", "image": "busybox"}]},
}


def claims_of(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return cast(dict[str, Any], json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def status_with(cluster: Cluster, token: str, path: str) -> int:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(cluster.url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return e.code


def token_kubeconfig(cluster: Cluster, token: str, where: Path) -> str:
    """The admin kubeconfig's cluster (CA) with a bearer token instead of the client certificate."""
    config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    config["users"] = [{"name": "robot", "user": {"token": token}}]
    config["contexts"][0]["context"]["user"] = "robot"
    path = where / "robot.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def robot(cluster: Cluster) -> Cluster:
    cluster.kubectl("create", "namespace", NS)
    cluster.ok("create", "serviceaccount", "robot", "-n", NS)
    cluster.ok("apply", "-f", "-", input=json.dumps(POD))
    return cluster


def test_kubectl_create_token_issues_a_signed_token_with_upstream_claims(robot: Cluster) -> None:
    token = robot.ok("create", "token", "robot", "-n", NS).strip()
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    claims = claims_of(token)
    account_uid = robot.ok("get", "sa", "robot", "-n", NS, "-o", "jsonpath={.metadata.uid}")
    assert header["alg"] == "RS256" and header["kid"]
    assert claims["iss"] == "https://kubernetes.default.svc.cluster.local"
    assert claims["aud"] == ["https://kubernetes.default.svc.cluster.local"]
    assert claims["sub"] == f"system:serviceaccount:{NS}:robot"
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    assert claims["kubernetes.io"] == {
        "namespace": NS,
        "serviceaccount": {"name": "robot", "uid": account_uid},
    }


def test_token_reads_through_kubectl_and_the_python_client(robot: Cluster, tmp_path: Path) -> None:
    token = robot.ok("create", "token", "robot", "-n", NS).strip()
    kubeconfig = token_kubeconfig(robot, token, tmp_path)
    out = robot.ok("--kubeconfig", kubeconfig, "get", "pods", "-n", NS, "-o", "name")
    assert out.split() == ["pod/worker"]

    from kubernetes import client

    cfg = client.Configuration()
    cfg.host = robot.url
    cfg.ssl_ca_cert = str(robot.data_dir / "tls" / "ca.crt")
    cfg.api_key = {"authorization": f"Bearer {token}"}
    with client.ApiClient(cfg) as api:
        pods = client.CoreV1Api(api).list_namespaced_pod(NS)
    assert [p.metadata.name for p in pods.items] == ["worker"]


def test_pod_bound_token_dies_with_its_pod(robot: Cluster) -> None:
    robot.ok("apply", "-f", "-", input=json.dumps({**POD, "metadata": {"name": "short", "namespace": NS}}))
    token = robot.ok(
        "create", "token", "robot", "-n", NS, "--bound-object-kind", "Pod", "--bound-object-name", "short"
    ).strip()
    pod_uid = robot.ok("get", "pod", "short", "-n", NS, "-o", "jsonpath={.metadata.uid}")
    assert claims_of(token)["kubernetes.io"]["pod"] == {"name": "short", "uid": pod_uid}
    assert status_with(robot, token, f"/api/v1/namespaces/{NS}/pods") == 200
    robot.ok("delete", "pod", "short", "-n", NS, "--grace-period=0", "--force")
    assert status_with(robot, token, f"/api/v1/namespaces/{NS}/pods") == 401


def test_refusals(robot: Cluster) -> None:
    short = robot.kubectl("create", "token", "robot", "-n", NS, "--duration", "5m")
    assert short.returncode != 0
    assert (
        'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 300: '
        "may not specify a duration less than 10 minutes" in short.stderr
    )
    missing = robot.kubectl("create", "token", "nobody", "-n", NS)
    assert 'serviceaccounts "nobody" not found' in missing.stderr
    # a pod running as another service account cannot have a token of this one bound to it
    robot.ok("create", "serviceaccount", "other", "-n", NS)
    wrong = robot.kubectl(
        "create", "token", "other", "-n", NS, "--bound-object-kind", "Pod", "--bound-object-name", "worker"
    )
    assert 'cannot bind token for serviceaccount "other" to pod running with different' in wrong.stderr


def test_401_for_tampered_foreign_audience_and_deleted_account_tokens(robot: Cluster) -> None:
    robot.ok("create", "serviceaccount", "doomed", "-n", NS)
    token = robot.ok("create", "token", "doomed", "-n", NS).strip()
    path = f"/api/v1/namespaces/{NS}/pods"
    assert status_with(robot, token, path) == 200
    head, _, signature = token.split(".")
    forged = dict(claims_of(token), sub="system:serviceaccount:kube-system:admin")
    forged_body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    assert status_with(robot, token, path) == 200
    assert status_with(robot, f"{head}.{forged_body}.{signature}", path) == 401
    vault = robot.ok("create", "token", "doomed", "-n", NS, "--audience", "vault").strip()
    assert claims_of(vault)["aud"] == ["vault"]
    assert status_with(robot, vault, path) == 401  # not meant for the API server
    robot.ok("delete", "serviceaccount", "doomed", "-n", NS)
    assert status_with(robot, token, path) == 401


async def test_expired_and_not_yet_valid_tokens_fail_verification(tmp_path: Path) -> None:
    now = [1_000_000.0]
    tokens = ServiceAccountTokens(cast(Registry, None), tmp_path, now=lambda: now[0])
    claims = {
        "aud": [tokens.issuer],
        "iss": tokens.issuer,
        "iat": 1_000_000,
        "nbf": 1_000_000,
        "exp": 1_000_600,
        "sub": "system:serviceaccount:ns:sa",
    }
    token = await tokens._sign(claims)
    assert (tmp_path / "sa.key").stat().st_mode & 0o777 == 0o600
    assert tokens.verified_claims(token) == claims
    now[0] = 1_000_600 + 61  # past exp and its 60 s leeway
    assert tokens.verified_claims(token) is None
    now[0] = 1_000_000 - 61
    assert tokens.verified_claims(token) is None
    other = ServiceAccountTokens(cast(Registry, None), tmp_path / "elsewhere", now=lambda: 1_000_000.0)
    (tmp_path / "elsewhere").mkdir()
    await other._sign(claims)  # makes a different key
    assert other.verified_claims(token) is None
