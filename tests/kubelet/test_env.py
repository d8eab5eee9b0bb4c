from __future__ import annotations

import base64

import pytest

from litekube.node.kubelet.env import ConfigError, EnvSources, container_env, merge_image_env, service_env

POD = {
    "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "labels": {"app": "web"}},
    "spec": {"nodeName": "node-1", "serviceAccountName": "default", "containers": []},
}


def env_of(container: dict, sources: EnvSources | None = None, pod: dict | None = None) -> dict[str, str]:
    return dict(container_env(pod or POD, {"name": "app", **container}, sources or EnvSources()))


def test_values_field_refs_and_expansion() -> None:
    sources = EnvSources(host_ip="192.168.1.10", pod_ip="10.244.0.7")
    env = env_of(
        {
            "env": [
                {"name": "A", "value": "one"},
                {"name": "B", "value": "$(A)-two-$(MISSING)-$$(A)"},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            ]
        },
        sources,
    )
    assert env["B"] == "one-two-$(MISSING)-$(A)"
    assert (env["POD"], env["NS"], env["IP"], env["HOST"], env["NODE"], env["APP"]) == (
        "web",
        "shop",
        "10.244.0.7",
        "192.168.1.10",
        "node-1",
        "web",
    )


def test_resource_field_ref_rounds_up_by_divisor() -> None:
    pod = {
        **POD,
        "spec": {
            "containers": [{"name": "app", "resources": {"limits": {"cpu": "250m", "memory": "128Mi"}}}]
        },
    }
    container = {
        "env": [
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
            {
                "name": "MEM",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
            },
            {"name": "REQ", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}},
        ]
    }
    env = dict(container_env(pod, {"name": "app", **container}, EnvSources()))
    assert (env["CPU"], env["MEM"], env["REQ"]) == ("1", "128", "250")


def test_config_map_and_secret_refs_and_env_from() -> None:
    sources = EnvSources(
        configmaps={"cfg": {"data": {"LEVEL": "debug", "bad name": "x"}}},
        secrets={"db": {"data": {"password": base64.b64encode(b"s3cret").decode()}}},
    )
    env = env_of(
        {
            "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
            "env": [
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                {"name": "L", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "LEVEL"}}},
                {
                    "name": "O",
                    "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "nope", "optional": True}},
                },
            ],
        },
        sources,
    )
    assert env["CFG_LEVEL"] == "debug" and "CFG_bad name" not in env
    assert env["PW"] == "s3cret" and env["L"] == "debug" and "O" not in env


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            {"configMapKeyRef": {"name": "cfg", "key": "MISSING"}},
            "couldn't find key MISSING in ConfigMap shop/cfg",
        ),
        ({"configMapKeyRef": {"name": "nope", "key": "K"}}, 'configmap "nope" not found'),
        ({"secretKeyRef": {"name": "nope", "key": "K"}}, 'secret "nope" not found'),
        ({"secretKeyRef": {"name": "db", "key": "user"}}, "couldn't find key user in Secret shop/db"),
    ],
)
def test_missing_references_name_what_is_missing(ref: dict, message: str) -> None:
    sources = EnvSources(
        configmaps={"cfg": {"data": {}}, "nope": None}, secrets={"db": {"data": {}}, "nope": None}
    )
    with pytest.raises(ConfigError) as error:
        env_of({"env": [{"name": "X", "valueFrom": ref}]}, sources)
    assert str(error.value) == message


def test_service_links() -> None:
    services = [
        {
            "metadata": {"name": "web-app-service", "namespace": "shop"},
            "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
        },
        {
            "metadata": {"name": "headless", "namespace": "shop"},
            "spec": {"clusterIP": "None", "ports": [{"port": 1}]},
        },
        {
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443}]},
        },
    ]
    env = service_env(services, "shop", True)
    assert env["WEB_APP_SERVICE_SERVICE_HOST"] == "10.96.0.20"
    assert env["WEB_APP_SERVICE_SERVICE_PORT"] == "80"
    assert env["WEB_APP_SERVICE_SERVICE_PORT_HTTP"] == "80"
    assert env["WEB_APP_SERVICE_PORT"] == "tcp://10.96.0.20:80"
    assert env["WEB_APP_SERVICE_PORT_80_TCP_ADDR"] == "10.96.0.20"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert not any(k.startswith("HEADLESS") for k in env)
    without_links = service_env(services, "shop", False)
    assert "WEB_APP_SERVICE_SERVICE_HOST" not in without_links and "KUBERNETES_SERVICE_HOST" in without_links


def test_image_env_is_overridden_by_the_container() -> None:
    merged = merge_image_env(["PATH=/bin", "LANG=C"], [("LANG", "en_US"), ("X", "1")])
    assert merged == [("PATH", "/bin"), ("LANG", "en_US"), ("X", "1")]
