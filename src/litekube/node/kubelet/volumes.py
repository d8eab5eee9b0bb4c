"""A pod's volumes on the host, under `<pod dir>/volumes/<plugin>/<volume name>`.

`setup_volumes` (called before any container is created, and again every refresh period
for live updates) returns volume name → host directory; the container mounts bind those.

    emptyDir      a directory (mode 0777); medium Memory → a tmpfs mounted there
                  (sizeLimit as its size), unmounted by `teardown_volumes`
    configMap     data/binaryData keys (or `items` with path/mode), `defaultMode`, `optional`
    secret        the same from base64 `data`
    downwardAPI   fieldRef / resourceFieldRef items rendered to files
    projected     configMap, secret, downwardAPI and serviceAccountToken sources in one dir;
                  the token comes from the TokenRequest API through `tokens` (tokens.py,
                  renewed past 80% of its life on a refresh); without one (unit tests,
                  simulated nodes) it is an unsigned JWT-shaped placeholder
    hostPath      the host path itself, after upstream's `type` checks

Files of the last four go through `atomic_writer.write`, so an update appears all at
once and unchanged content writes nothing. Errors raise `VolumeError`, worded as
upstream's volume plugins (the pod worker records FailedMount and retries):
    configmap "app-config" not found
    configmap references non-existent config key: app.conf
    hostPath type check failed: /data is not a directory
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import orjson

from litekube.node.kubelet import atomic_writer, mounts
from litekube.node.kubelet.atomic_writer import FileProjection
from litekube.node.kubelet.env import ConfigError, field_ref_value, resource_field_value
from litekube.node.kubelet.resources import whole
from litekube.node.kubelet.tokens import TokenError

JSON = dict[str, Any]
Fetch = Callable[[str, str, str], Awaitable[JSON | None]]  # (kind, namespace, name) → object or None

EMPTY_DIR = "kubernetes.io~empty-dir"
CONFIGMAP = "kubernetes.io~configmap"
SECRET = "kubernetes.io~secret"
DOWNWARD_API = "kubernetes.io~downward-api"
PROJECTED = "kubernetes.io~projected"
DEFAULT_MODE = 0o644
# The CA bundle that kube-api-access volumes project: published in every namespace by the
# root-CA controller, but a pod created with its namespace may come first; its absence
# must not keep the pod from starting (the file appears on the next volume refresh).
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"


class VolumeError(Exception):
    def __init__(self, volume: str, message: str) -> None:
        super().__init__(message)
        self.volume = volume


class Mounter(Protocol):
    def mount_tmpfs(self, path: Path, size_bytes: int | None) -> None: ...

    def unmount(self, path: Path) -> None: ...

    def is_mounted(self, path: Path) -> bool: ...


class HostFacts(Protocol):
    @property
    def host_ip(self) -> str: ...

    @property
    def pod_ip(self) -> str: ...

    @property
    def node_allocatable(self) -> JSON: ...


class TokenSource(Protocol):
    async def token(self, pod: JSON, audience: str, expiration: int) -> str: ...


def _mode(value: Any, default: int) -> int:
    return int(value) if value is not None else default


def _keyed_payload(
    obj: JSON | None, kind: str, items: list[JSON] | None, default_mode: int, volume: str, optional: bool
) -> dict[str, FileProjection]:
    if obj is None:
        return {}
    values: dict[str, bytes] = {}
    if kind == "secret":
        for key, value in (obj.get("data") or {}).items():
            values[key] = base64.b64decode(value)
    else:
        for key, value in (obj.get("data") or {}).items():
            values[key] = str(value).encode()
        for key, value in (obj.get("binaryData") or {}).items():
            values[key] = base64.b64decode(value)
    if not items:
        return {key: FileProjection(data, default_mode) for key, data in values.items()}
    payload = {}
    for item in items:
        key = item.get("key", "")
        if key not in values:
            if optional:
                continue
            what = (
                "configmap references non-existent config key"
                if kind == "configmap"
                else "references non-existent secret key"
            )
            raise VolumeError(volume, f"{what}: {key}")
        payload[item.get("path") or key] = FileProjection(values[key], _mode(item.get("mode"), default_mode))
    return payload


def _downward_payload(
    pod: JSON, items: list[JSON], default_mode: int, facts: HostFacts, volume: str
) -> dict[str, FileProjection]:
    payload = {}
    for item in items:
        try:
            if item.get("fieldRef"):
                value = field_ref_value(
                    pod, item["fieldRef"].get("fieldPath", ""), facts.host_ip, facts.pod_ip
                )
            elif item.get("resourceFieldRef"):
                value = resource_field_value(pod, "", item["resourceFieldRef"], facts.node_allocatable)
            else:
                continue
        except ConfigError as e:
            raise VolumeError(volume, str(e)) from None
        payload[item.get("path", "")] = FileProjection(value.encode(), _mode(item.get("mode"), default_mode))
    return payload


def placeholder_token(pod: JSON, audience: str, expiration: int) -> str:
    """A JWT-shaped, unsigned service-account token (header.claims.signature)."""
    meta = pod.get("metadata") or {}
    namespace = meta.get("namespace") or "default"
    account = (pod.get("spec") or {}).get("serviceAccountName") or "default"

    def part(value: JSON) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()

    claims = {
        "aud": [audience or "https://kubernetes.default.svc.cluster.local"],
        "iss": "https://kubernetes.default.svc.cluster.local",
        "sub": f"system:serviceaccount:{namespace}:{account}",
        "exp_seconds": expiration,
        "kubernetes.io": {
            "namespace": namespace,
            "pod": {"name": meta.get("name", ""), "uid": meta.get("uid", "")},
            "serviceaccount": {"name": account},
        },
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.litekube-unsigned"


async def _object(fetch: Fetch, kind: str, namespace: str, source: JSON, volume: str) -> JSON | None:
    name = source.get("name") or source.get("secretName") or ""
    obj = await fetch(kind, namespace, name)
    if obj is None and not source.get("optional") and not (kind == "configmap" and name == ROOT_CA_CONFIGMAP):
        raise VolumeError(volume, f'{kind} "{name}" not found')
    return obj


def _check_host_path(path: Path, kind: str, volume: str) -> None:
    def fail(what: str) -> None:
        raise VolumeError(volume, f"hostPath type check failed: {path} is not {what}")

    if kind == "DirectoryOrCreate" and not path.exists():
        path.mkdir(mode=0o755, parents=True)
    elif kind == "FileOrCreate" and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o644)
    if kind in ("Directory", "DirectoryOrCreate") and not path.is_dir():
        fail("a directory")
    if kind in ("File", "FileOrCreate") and not path.is_file():
        fail("a file")
    mode = path.stat().st_mode if path.exists() else 0
    if kind == "Socket" and not stat.S_ISSOCK(mode):
        fail("a socket file")
    if kind == "CharDevice" and not stat.S_ISCHR(mode):
        fail("a character device")
    if kind == "BlockDevice" and not stat.S_ISBLK(mode):
        fail("a block device")


async def setup_volumes(
    pod: JSON,
    pod_dir: Path,
    fetch: Fetch,
    mounter: Mounter,
    facts: HostFacts,
    tokens: TokenSource | None = None,
) -> dict[str, Path]:
    """Create or refresh every volume of `pod`; returns name → host path."""
    meta = pod.get("metadata") or {}
    namespace = meta.get("namespace") or "default"
    spec = pod.get("spec") or {}
    fs_group = (spec.get("securityContext") or {}).get("fsGroup")
    paths: dict[str, Path] = {}
    for volume in spec.get("volumes") or ():
        name = volume.get("name", "")
        if "emptyDir" in volume:
            path = pod_dir / "volumes" / EMPTY_DIR / name
            if not path.exists():
                path.mkdir(parents=True)
                os.chmod(path, 0o777)
            empty_dir = volume.get("emptyDir") or {}
            if empty_dir.get("medium") == "Memory" and not mounter.is_mounted(path):
                limit = empty_dir.get("sizeLimit")
                mounter.mount_tmpfs(path, whole(limit) if limit else None)
        elif "hostPath" in volume:
            host_path = volume["hostPath"] or {}
            path = Path(host_path.get("path", ""))
            _check_host_path(path, host_path.get("type") or "", name)
        elif "configMap" in volume or "secret" in volume:
            kind = "configmap" if "configMap" in volume else "secret"
            source = volume.get("configMap") or volume.get("secret") or {}
            obj = await _object(fetch, kind, namespace, source, name)
            payload = _keyed_payload(
                obj,
                kind,
                source.get("items"),
                _mode(source.get("defaultMode"), DEFAULT_MODE),
                name,
                bool(source.get("optional")),
            )
            path = pod_dir / "volumes" / (CONFIGMAP if kind == "configmap" else SECRET) / name
            atomic_writer.write(path, payload, fs_group)
        elif "downwardAPI" in volume:
            source = volume["downwardAPI"] or {}
            default = _mode(source.get("defaultMode"), DEFAULT_MODE)
            path = pod_dir / "volumes" / DOWNWARD_API / name
            atomic_writer.write(
                path, _downward_payload(pod, source.get("items") or [], default, facts, name), fs_group
            )
        elif "projected" in volume:
            source = volume["projected"] or {}
            default = _mode(source.get("defaultMode"), DEFAULT_MODE)
            merged: dict[str, FileProjection] = {}
            for part in source.get("sources") or ():
                if part.get("configMap") or part.get("secret"):
                    kind = "configmap" if part.get("configMap") else "secret"
                    ref = part.get("configMap") or part.get("secret") or {}
                    obj = await _object(fetch, kind, namespace, ref, name)
                    merged.update(
                        _keyed_payload(obj, kind, ref.get("items"), default, name, bool(ref.get("optional")))
                    )
                elif part.get("downwardAPI"):
                    merged.update(
                        _downward_payload(pod, part["downwardAPI"].get("items") or [], default, facts, name)
                    )
                elif part.get("serviceAccountToken"):
                    token = part["serviceAccountToken"]
                    audience, expiration = (
                        token.get("audience", ""),
                        int(token.get("expirationSeconds") or 3600),
                    )
                    if tokens is None:
                        text = placeholder_token(pod, audience, expiration)
                    else:
                        try:
                            text = await tokens.token(pod, audience, expiration)
                        except TokenError as e:
                            raise VolumeError(name, str(e)) from None
                    merged[token.get("path") or "token"] = FileProjection(text.encode(), default)
            path = pod_dir / "volumes" / PROJECTED / name
            atomic_writer.write(path, merged, fs_group)
        else:
            # persistentVolumeClaim, csi, nfs…: not supported on this node; say so plainly.
            kinds = sorted(k for k in volume if k != "name")
            raise VolumeError(
                name, f"volume type {', '.join(kinds) or 'unknown'} is not supported by litekube"
            )
        paths[name] = path
    return paths


def teardown_volumes(pod_dir: Path, mounter: Mounter) -> None:
    """Unmount tmpfs emptyDirs and delete the pod's volume directories (never hostPaths)."""
    empty_dirs = pod_dir / "volumes" / EMPTY_DIR
    if empty_dirs.is_dir():
        for path in empty_dirs.iterdir():
            if mounter.is_mounted(path):
                mounter.unmount(path)
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(pod_dir / "volumes")


class HostMounter:
    """The real mounter: mount(2)/umount2(2) through libc (root only)."""

    def mount_tmpfs(self, path: Path, size_bytes: int | None) -> None:
        mounts.mount_tmpfs(path, size_bytes)

    def unmount(self, path: Path) -> None:
        mounts.unmount(path)

    def is_mounted(self, path: Path) -> bool:
        return mounts.is_mounted(path)


class DirectoryMounter:
    """For unit tests: records tmpfs "mounts" without touching the kernel."""

    def __init__(self) -> None:
        self.mounted: set[Path] = set()
        self.calls: list[tuple[str, Path]] = []

    def mount_tmpfs(self, path: Path, size_bytes: int | None) -> None:
        self.calls.append(("mount", path))
        self.mounted.add(path)

    def unmount(self, path: Path) -> None:
        self.calls.append(("unmount", path))
        self.mounted.discard(path)

    def is_mounted(self, path: Path) -> bool:
        return path in self.mounted
