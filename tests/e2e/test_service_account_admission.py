"""ServiceAccount admission as upstream's: every pod gets its kube-api-access volume, unless told not to."""

from __future__ import annotations

import json
import re

from litekube.apiserver.admission import admit_pod
from tests.conftest import Cluster

MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def _pod(name: str, **spec: object) -> dict:
    containers = [{"name": "app", "image": "busybox", "command": ["sleep", "3600"]}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": containers, **spec},
    }


def _apply(c: Cluster, ns: str, obj: dict) -> dict:
    c.ok("apply", "-n", ns, "-f", "-", input=json.dumps(obj))
    return json.loads(c.ok("get", "pod", obj["metadata"]["name"], "-n", ns, "-o", "json"))


def test_pods_get_the_api_access_volume_and_mounts(cluster: Cluster) -> None:
    c = cluster
    c.ok("create", "namespace", "sa-adm")
    pod = _pod("web")
    pod["spec"]["initContainers"] = [{"name": "init", "image": "busybox", "command": ["true"]}]
    live = _apply(c, "sa-adm", pod)
    spec = live["spec"]
    assert spec["serviceAccountName"] == "default" and spec["serviceAccount"] == "default"
    [volume] = spec["volumes"]
    assert re.fullmatch(r"kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}", volume["name"])
    assert volume["projected"] == {
        "defaultMode": 420,
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {
                "downwardAPI": {
                    "items": [
                        {
                            "path": "namespace",
                            "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                        }
                    ]
                }
            },
        ],
    }
    for container in [*spec["initContainers"], *spec["containers"]]:
        assert container["volumeMounts"] == [{"name": volume["name"], "readOnly": True, "mountPath": MOUNT}]
    describe = c.ok("describe", "pod", "web", "-n", "sa-adm")
    assert (
        volume["name"] in describe and "Projected" in describe and "TokenExpirationSeconds:  3607" in describe
    )


def test_automount_false_on_the_pod_or_its_service_account(cluster: Cluster) -> None:
    c = cluster
    c.ok("create", "namespace", "sa-off")
    assert "volumes" not in _apply(c, "sa-off", _pod("off", automountServiceAccountToken=False))["spec"]

    c.ok(
        "apply",
        "-n",
        "sa-off",
        "-f",
        "-",
        input=json.dumps(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "quiet"},
                "automountServiceAccountToken": False,
            }
        ),
    )
    quiet = _apply(c, "sa-off", _pod("quiet", serviceAccountName="quiet"))
    assert quiet["spec"]["serviceAccount"] == "quiet" and "volumes" not in quiet["spec"]
    # the pod's own setting wins over its service account's
    loud = _apply(c, "sa-off", _pod("loud", serviceAccountName="quiet", automountServiceAccountToken=True))
    assert loud["spec"]["volumes"][0]["name"].startswith("kube-api-access-")


def test_a_container_mounting_the_path_itself_is_left_alone(cluster: Cluster) -> None:
    c = cluster
    c.ok("create", "namespace", "sa-own")
    c.ok("create", "secret", "generic", "creds", "-n", "sa-own", "--from-literal=token=mine")
    pod = _pod("own", volumes=[{"name": "creds", "secret": {"secretName": "creds"}}])
    pod["spec"]["containers"].append(
        {"name": "own", "image": "busybox", "volumeMounts": [{"name": "creds", "mountPath": MOUNT}]}
    )
    spec = _apply(c, "sa-own", pod)["spec"]
    access = [v["name"] for v in spec["volumes"] if v["name"].startswith("kube-api-access-")]
    assert len(access) == 1
    mounts = {ct["name"]: ct.get("volumeMounts") for ct in spec["containers"]}
    assert mounts["app"] == [{"name": access[0], "readOnly": True, "mountPath": MOUNT}]
    assert mounts["own"] == [{"name": "creds", "mountPath": MOUNT}]


def test_admission_reuses_an_existing_api_access_volume_and_skips_mirror_pods() -> None:
    pod = _pod("p", volumes=[{"name": "kube-api-access-abcde", "emptyDir": {}}])
    admit_pod(pod, None)
    assert [v["name"] for v in pod["spec"]["volumes"]] == ["kube-api-access-abcde"]
    assert pod["spec"]["containers"][0]["volumeMounts"][0]["name"] == "kube-api-access-abcde"

    mirror = _pod("m")
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "hash"}
    admit_pod(mirror, None)
    assert "volumes" not in mirror["spec"] and "serviceAccountName" not in mirror["spec"]
