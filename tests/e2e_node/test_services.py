"""Issues 5 and 6 end to end: Services by name, NodePort and LoadBalancer on 127.0.0.1, Ingress on nginx."""

from __future__ import annotations

import datetime
import http.client
import json
import re
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import SEED, Cluster
from tests.e2e_node.test_pods import _wait

pytestmark = [pytest.mark.e2e, pytest.mark.root]
M = SEED / "manifests"

ECHO_8080 = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME, labels: {app: APP}}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: APP}}
  template:
    metadata: {labels: {app: APP}}
    spec:
      containers:
      - name: httpd
        image: busybox
        command: ["sh", "-c", "mkdir -p /www && echo BODY > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
"""


def _echo(name: str, app: str, body: str, replicas: int = 1) -> str:
    return (
        ECHO_8080.replace("NAME", name)
        .replace("APP", app)
        .replace("BODY", body)
        .replace("REPLICAS", str(replicas))
    )


def _ready_pods(c: Cluster, ns: str, selector: str) -> list[dict]:
    pods = json.loads(c.ok("get", "pods", "-n", ns, "-l", selector, "-o", "json"))["items"]
    return [
        p
        for p in pods
        if any(x["type"] == "Ready" and x["status"] == "True" for x in p["status"].get("conditions", []))
        and not p["metadata"].get("deletionTimestamp")
    ]


def _programmed(ip: str) -> bool:
    """The proxy has put this ClusterIP into its nftables table.

    Tests connect to a ClusterIP only after this: before the rules exist, the address would
    follow the host's default route off the machine.
    """
    out = subprocess.run(["nft", "list", "table", "ip", "litekube"], capture_output=True, text=True).stdout
    return ip in out


def _http(
    host: str, port: int, path: str = "/", headers: dict[str, str] | None = None
) -> tuple[int, str, dict]:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace"), dict(r.getheaders())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def web(node_cluster: Cluster) -> str:
    c, ns = node_cluster, "svc"
    c.ok("create", "namespace", ns)
    c.ok("apply", "-n", ns, "-f", str(M / "10-stateless-web-app.yaml"))
    _wait(lambda: len(_ready_pods(c, ns, "app=web-app")) == 3, timeout=120)
    return ns


def test_service_by_name_spreads_over_ready_pods(node_cluster: Cluster, web: str) -> None:
    c, ns = node_cluster, web
    script = (
        "for i in $(seq 300); do wget -q -O /dev/null http://web-app-service || echo FAIL; done; echo done"
    )
    r = c.kubectl(
        "run",
        "client",
        "-n",
        ns,
        "--image=busybox",
        "--rm",
        "-i",
        "--restart=Never",
        "--",
        "sh",
        "-c",
        script,
        timeout=240,
    )
    assert r.returncode == 0 and "done" in r.stdout and "FAIL" not in r.stdout, r.stdout + r.stderr
    counts = []
    for pod in _ready_pods(c, ns, "app=web-app"):
        log = c.ok("exec", pod["metadata"]["name"], "-n", ns, "--", "cat", "/var/log/nginx/access.log")
        counts.append(sum(1 for line in log.splitlines() if "Wget" in line))
    assert sum(counts) >= 300, counts
    assert min(counts) >= 0.15 * sum(counts), counts
    assert "10.244." in c.ok("get", "endpoints", "web-app-service", "-n", ns)
    assert "10.244." in c.ok("describe", "service", "web-app-service", "-n", ns)


def test_nslookup_prints_the_cluster_ip(node_cluster: Cluster, web: str) -> None:
    c, ns = node_cluster, web
    ip = json.loads(c.ok("get", "svc", "web-app-service", "-n", ns, "-o", "json"))["spec"]["clusterIP"]
    r = c.kubectl(
        "run",
        "test-pod",
        "-n",
        ns,
        "--image=busybox",
        "--rm",
        "-i",
        "--restart=Never",
        "--",
        "nslookup",
        "web-app-service",
        timeout=120,
    )
    assert ip in r.stdout, r.stdout + r.stderr


def test_nodeport_and_loadbalancer_answer_on_localhost(node_cluster: Cluster) -> None:
    c, ns = node_cluster, "expose"
    c.ok("create", "namespace", ns)
    c.ok("apply", "-n", ns, "-f", "-", input=_echo("echo", "web-app", "from-8080", replicas=2))
    c.ok("apply", "-n", ns, "-f", str(M / "06-service-nodeport-service.yaml"))
    c.ok("apply", "-n", ns, "-f", str(M / "07-service-loadbalancer-service.yaml"))
    _wait(lambda: len(_ready_pods(c, ns, "app=web-app")) == 2, timeout=120)

    def answers(port: int) -> bool:
        try:
            status, body, _ = _http("127.0.0.1", port)
        except OSError:
            return False
        return status == 200 and "from-8080" in body

    _wait(lambda: answers(30080), timeout=20)

    def external_ip() -> str | None:
        table = c.ok("get", "svc", "loadbalancer-service", "-n", ns)
        value = re.split(r"\s+", table.splitlines()[1])[3]
        return None if value in ("<pending>", "<none>") else value

    _wait(external_ip, timeout=20)  # the proxy publishes the node address as the LB ingress
    lb_port = 80
    _wait(lambda: answers(lb_port), timeout=20)
    # a service without ready endpoints refuses at once
    c.ok("create", "service", "clusterip", "nobody", "--tcp=81:81", "-n", ns)
    ip = json.loads(c.ok("get", "svc", "nobody", "-n", ns, "-o", "json"))["spec"]["clusterIP"]
    _wait(lambda: _programmed(ip), timeout=10)
    with pytest.raises(OSError):
        socket.create_connection((ip, 81), timeout=3).close()


def test_ingress_routes_hosts_and_paths_then_tls(node_cluster: Cluster, web: str, tmp_path: Path) -> None:
    c, ns = node_cluster, web
    http_port, https_port = c.ingress_ports
    c.ok("apply", "-n", ns, "-f", "-", input=_echo("api", "api-service", "api-backend"))
    c.ok("create", "service", "clusterip", "api-service", "--tcp=8080:8080", "-n", ns)
    c.ok("set", "selector", "service", "api-service", "app=api-service", "-n", ns)
    c.ok("apply", "-n", ns, "-f", str(M / "08-ingress-web-app-ingress.yaml"))
    _wait(lambda: len(_ready_pods(c, ns, "app=api-service")) == 1, timeout=120)
    host = {"Host": "myapp.example.com"}

    def routed() -> bool:
        try:
            s1, b1, _ = _http("127.0.0.1", http_port, "/", host)
            s2, b2, _ = _http("127.0.0.1", http_port, "/api", host)
        except OSError:
            return False
        return s1 == 200 and "nginx" in b1.lower() and s2 == 200 and "api-backend" in b2

    _wait(routed, timeout=30)
    assert _http("127.0.0.1", http_port, "/", {"Host": "other.example.com"})[0] == 404
    _wait(
        lambda: (
            re.split(r"\s+", c.ok("get", "ingress", "web-app-ingress", "-n", ns).splitlines()[1])[3] != ""
        ),
        timeout=20,
    )

    # TLS from a Secret made by `kubectl create secret tls`
    cert, key = _self_signed("myapp.example.com", tmp_path)
    c.ok("create", "secret", "tls", "tls-secret", f"--cert={cert}", f"--key={key}", "-n", ns)
    c.ok("apply", "-n", ns, "-f", str(M / "09-ingress-secure-ingress.yaml"))
    ctx = ssl.create_default_context(cafile=str(cert))

    def https_ok() -> bool:
        try:
            with (
                socket.create_connection(("127.0.0.1", https_port), timeout=5) as raw,
                ctx.wrap_socket(raw, server_hostname="myapp.example.com") as tls,
            ):
                tls.sendall(b"GET / HTTP/1.1\r\nHost: myapp.example.com\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := tls.recv(65536):
                    data += chunk
                return data.startswith(b"HTTP/1.1 200")
        except (OSError, ssl.SSLError):
            return False

    _wait(https_ok, timeout=30)
    status, _, headers = _http("127.0.0.1", http_port, "/", host)
    assert status == 308 and headers.get("Location", "").startswith("https://myapp.example.com")


def _self_signed(name: str, directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


READINESS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: ready-test}
spec:
  replicas: 3
  selector: {matchLabels: {app: ready-test}}
  template:
    metadata: {labels: {app: ready-test}}
    spec:
      containers:
      - name: httpd
        image: busybox
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && touch /tmp/ready && exec httpd -f -p 8080 -h /www"]
        readinessProbe:
          exec: {command: ["cat", "/tmp/ready"]}
          periodSeconds: 1
          failureThreshold: 1
          successThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {name: ready-test}
spec:
  selector: {app: ready-test}
  ports: [{port: 80, targetPort: 8080}]
"""


def _hits(ip: str, n: int) -> dict[str, int]:
    seen: dict[str, int] = {}
    for _ in range(n):
        status, body, _ = _http(ip, 80, "/", {"Connection": "close"})
        assert status == 200
        seen[body.strip()] = seen.get(body.strip(), 0) + 1
    return seen


def test_unready_pod_leaves_rotation_and_scale_up_joins(node_cluster: Cluster) -> None:
    c, ns = node_cluster, "readiness"
    c.ok("create", "namespace", ns)
    c.ok("apply", "-n", ns, "-f", "-", input=READINESS)
    _wait(lambda: len(_ready_pods(c, ns, "app=ready-test")) == 3, timeout=120)
    ip = json.loads(c.ok("get", "svc", "ready-test", "-n", ns, "-o", "json"))["spec"]["clusterIP"]
    _wait(lambda: _programmed(ip), timeout=10)
    names = sorted(p["metadata"]["name"] for p in _ready_pods(c, ns, "app=ready-test"))
    _wait(lambda: set(_hits(ip, 30)) == set(names), timeout=20)

    victim = names[0]
    c.ok("exec", victim, "-n", ns, "--", "rm", "/tmp/ready")
    # probe period (1 s) plus one second
    time.sleep(2.0)
    seen = _hits(ip, 60)
    assert victim not in seen, seen
    assert set(seen) == set(names[1:]), seen

    c.ok("scale", "deployment", "ready-test", "--replicas=4", "-n", ns)
    newcomer = _wait(
        lambda: ({p["metadata"]["name"] for p in _ready_pods(c, ns, "app=ready-test")} - set(names)) or None,
        timeout=60,
    )
    _wait(lambda: set(newcomer) <= set(_hits(ip, 40)), timeout=20)
