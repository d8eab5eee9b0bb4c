from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from litekube.node.kubelet import atomic_writer
from litekube.node.kubelet.atomic_writer import FileProjection
from litekube.node.kubelet.volumes import DirectoryMounter, VolumeError, setup_volumes, teardown_volumes

POD_META = {"name": "web", "namespace": "default", "uid": "u-1", "labels": {"app": "web", "tier": "front"}}


@dataclass
class Facts:
    host_ip: str = "192.168.1.10"
    pod_ip: str = "10.244.0.9"
    node_allocatable: dict = field(default_factory=lambda: {"cpu": "4", "memory": "8Gi"})


class Objects:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict] = {}

    async def fetch(self, kind: str, namespace: str, name: str) -> dict | None:
        return self.items.get((kind, name))


def pod(*volumes: dict, **spec: object) -> dict:
    return {
        "metadata": dict(POD_META),
        "spec": {"volumes": list(volumes), "containers": [{"name": "app"}], **spec},
    }


async def test_config_map_items_modes_and_live_update(tmp_path: Path) -> None:
    objects = Objects()
    objects.items[("configmap", "cfg")] = {"data": {"app.conf": "v1", "other": "o"}}
    volume = {
        "name": "conf",
        "configMap": {
            "name": "cfg",
            "defaultMode": 0o600,
            "items": [{"key": "app.conf", "path": "conf/app.conf", "mode": 0o640}],
        },
    }
    paths = await setup_volumes(pod(volume), tmp_path, objects.fetch, DirectoryMounter(), Facts())
    root = paths["conf"]
    assert (root / "conf" / "app.conf").read_text() == "v1"
    assert (root / "conf").is_symlink() and os.readlink(root / "conf") == "..data/conf"
    assert os.stat(root / "conf" / "app.conf").st_mode & 0o777 == 0o640
    assert not (root / "other").exists()
    first_payload = os.readlink(root / "..data")
    objects.items[("configmap", "cfg")] = {"data": {"app.conf": "v2"}}
    await setup_volumes(pod(volume), tmp_path, objects.fetch, DirectoryMounter(), Facts())
    assert (root / "conf" / "app.conf").read_text() == "v2"
    assert os.readlink(root / "..data") != first_payload
    assert not (root / first_payload).exists()  # the old payload is gone


def test_atomic_writer_leaves_unchanged_content_alone(tmp_path: Path) -> None:
    payload = {"a": FileProjection(b"1"), "b": FileProjection(b"2")}
    assert atomic_writer.write(tmp_path, payload)
    assert not atomic_writer.write(tmp_path, payload)
    assert atomic_writer.write(tmp_path, {"a": FileProjection(b"1")})
    assert not (tmp_path / "b").exists() and (tmp_path / "a").read_text() == "1"


async def test_secret_downward_api_and_projected(tmp_path: Path) -> None:
    objects = Objects()
    objects.items[("secret", "db")] = {"data": {"password": base64.b64encode(b"pw").decode()}}
    objects.items[("configmap", "cfg")] = {"data": {"k": "v"}}
    volumes = [
        {"name": "sec", "secret": {"secretName": "db"}},
        {
            "name": "info",
            "downwardAPI": {
                "items": [
                    {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                    {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
                    {"path": "cpu", "resourceFieldRef": {"containerName": "app", "resource": "limits.cpu"}},
                ]
            },
        },
        {
            "name": "api",
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
                    {
                        "configMap": {
                            "name": "kube-root-ca.crt",
                            "items": [{"key": "ca.crt", "path": "ca.crt"}],
                        }
                    },
                    {"configMap": {"name": "cfg"}},
                    {
                        "downwardAPI": {
                            "items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]
                        }
                    },
                ]
            },
        },
    ]
    paths = await setup_volumes(pod(*volumes), tmp_path, objects.fetch, DirectoryMounter(), Facts())
    assert (paths["sec"] / "password").read_bytes() == b"pw"
    assert (paths["info"] / "labels").read_text() == 'app="web"\ntier="front"'
    assert (paths["info"] / "name").read_text() == "web"
    assert (paths["info"] / "cpu").read_text() == "4"  # no limit: the node's allocatable
    token = (paths["api"] / "token").read_text()
    assert token.count(".") == 2
    assert (paths["api"] / "k").read_text() == "v" and (paths["api"] / "namespace").read_text() == "default"


async def test_missing_objects_are_mount_errors_unless_optional(tmp_path: Path) -> None:
    objects = Objects()
    with pytest.raises(VolumeError) as error:
        await setup_volumes(
            pod({"name": "c", "configMap": {"name": "gone"}}),
            tmp_path,
            objects.fetch,
            DirectoryMounter(),
            Facts(),
        )
    assert (error.value.volume, str(error.value)) == ("c", 'configmap "gone" not found')
    objects.items[("configmap", "cfg")] = {"data": {}}
    with pytest.raises(VolumeError) as error:
        await setup_volumes(
            pod({"name": "c", "configMap": {"name": "cfg", "items": [{"key": "x", "path": "x"}]}}),
            tmp_path,
            objects.fetch,
            DirectoryMounter(),
            Facts(),
        )
    assert str(error.value) == "configmap references non-existent config key: x"
    paths = await setup_volumes(
        pod({"name": "c", "secret": {"secretName": "gone", "optional": True}}),
        tmp_path,
        objects.fetch,
        DirectoryMounter(),
        Facts(),
    )
    assert list(p for p in paths["c"].iterdir() if not p.name.startswith("..")) == []


async def test_host_path_types(tmp_path: Path) -> None:
    objects = Objects()
    created = tmp_path / "made"
    paths = await setup_volumes(
        pod({"name": "h", "hostPath": {"path": str(created), "type": "DirectoryOrCreate"}}),
        tmp_path,
        objects.fetch,
        DirectoryMounter(),
        Facts(),
    )
    assert paths["h"] == created and created.is_dir()
    with pytest.raises(VolumeError) as error:
        await setup_volumes(
            pod({"name": "h", "hostPath": {"path": str(created), "type": "File"}}),
            tmp_path,
            objects.fetch,
            DirectoryMounter(),
            Facts(),
        )
    assert str(error.value) == f"hostPath type check failed: {created} is not a file"


async def test_empty_dir_memory_is_mounted_and_unmounted(tmp_path: Path) -> None:
    mounter = DirectoryMounter()
    volumes = [
        {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
        {"name": "logs", "emptyDir": {}},
    ]
    paths = await setup_volumes(pod(*volumes), tmp_path, Objects().fetch, mounter, Facts())
    assert paths["logs"].is_dir() and os.stat(paths["logs"]).st_mode & 0o777 == 0o777
    assert mounter.mounted == {paths["cache"]}
    await setup_volumes(pod(*volumes), tmp_path, Objects().fetch, mounter, Facts())
    assert [c for c in mounter.calls if c[0] == "mount"] == [("mount", paths["cache"])]  # once
    teardown_volumes(tmp_path, mounter)
    assert mounter.mounted == set() and not (tmp_path / "volumes").exists()
