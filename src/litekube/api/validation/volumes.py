"""Pod volumes: names unique DNS labels, exactly one source each, per-source required fields.

Returns the set of valid volume names too, so container mounts can be checked against it.
"""

from __future__ import annotations

from typing import Any

from litekube.api.validation import field
from litekube.api.validation.field import Cause
from litekube.api.validation.names import is_config_map_key, is_dns1123_label, is_dns1123_subdomain

_SOURCES = (
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
)
_HOST_PATH_TYPES = (
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
)
FILE_MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive"


def validate_volumes(volumes: Any, path: str) -> tuple[set[str], list[Cause]]:
    names: set[str] = set()
    causes: list[Cause] = []
    if not isinstance(volumes, list):
        return names, causes
    for i, volume in enumerate(volumes):
        volume_path = field.index(path, i)
        if not isinstance(volume, dict):
            continue
        name = volume.get("name") or ""
        name_causes: list[Cause] = []
        if not name:
            name_causes.append(field.required(field.child(volume_path, "name"), ""))
        else:
            name_causes.extend(
                field.invalid(field.child(volume_path, "name"), name, m) for m in is_dns1123_label(name)
            )
        if name and name in names:
            name_causes.append(field.duplicate(field.child(volume_path, "name"), name))
        if not name_causes:
            names.add(name)
        causes.extend(name_causes)
        causes.extend(_validate_source(volume, volume_path))
    return names, causes


def _validate_source(volume: dict[str, Any], path: str) -> list[Cause]:
    present = [s for s in _SOURCES if volume.get(s) is not None]
    if not present:
        return [field.required(path, "must specify a volume type")]
    causes = [
        field.forbidden(field.child(path, extra), "may not specify more than 1 volume type")
        for extra in present[1:]
    ]
    kind = present[0]
    source = volume[kind]
    source_path = field.child(path, kind)
    if not isinstance(source, dict):
        return causes
    if kind == "configMap":
        if not source.get("name"):
            causes.append(field.required(field.child(source_path, "name"), ""))
        causes.extend(_validate_mode_and_items(source, source_path))
    elif kind == "secret":
        if not source.get("secretName"):
            causes.append(field.required(field.child(source_path, "secretName"), ""))
        causes.extend(_validate_mode_and_items(source, source_path))
    elif kind == "persistentVolumeClaim":
        if not source.get("claimName"):
            causes.append(field.required(field.child(source_path, "claimName"), ""))
    elif kind == "hostPath":
        if not source.get("path"):
            causes.append(field.required(field.child(source_path, "path"), ""))
        host_type = source.get("type", "")
        if host_type not in _HOST_PATH_TYPES:
            causes.append(field.not_supported(field.child(source_path, "type"), host_type, _HOST_PATH_TYPES))
    elif kind == "nfs":
        if not source.get("server"):
            causes.append(field.required(field.child(source_path, "server"), ""))
        if not source.get("path"):
            causes.append(field.required(field.child(source_path, "path"), ""))
    elif kind in ("downwardAPI", "projected"):
        causes.extend(
            _validate_default_mode(source.get("defaultMode"), field.child(source_path, "defaultMode"))
        )
    elif kind == "emptyDir":
        medium = source.get("medium", "")
        if medium not in ("", "Memory", "HugePages") and not str(medium).startswith("HugePages-"):
            causes.append(
                field.not_supported(field.child(source_path, "medium"), medium, ("", "Memory", "HugePages"))
            )
    elif kind == "csi":
        driver = source.get("driver") or ""
        if not driver:
            causes.append(field.required(field.child(source_path, "driver"), ""))
        else:
            causes.extend(
                field.invalid(field.child(source_path, "driver"), driver, m)
                for m in is_dns1123_subdomain(driver.lower())
            )
    return causes


def _validate_default_mode(mode: Any, path: str) -> list[Cause]:
    if isinstance(mode, int) and not isinstance(mode, bool) and not 0 <= mode <= 0o777:
        return [field.invalid(path, mode, FILE_MODE_ERROR)]
    return []


def _validate_mode_and_items(source: dict[str, Any], path: str) -> list[Cause]:
    causes = _validate_default_mode(source.get("defaultMode"), field.child(path, "defaultMode"))
    items = source.get("items")
    if isinstance(items, list):
        for i, item in enumerate(items):
            item_path = field.index(field.child(path, "items"), i)
            if not isinstance(item, dict):
                continue
            key = item.get("key") or ""
            if not key:
                causes.append(field.required(field.child(item_path, "key"), ""))
            else:
                causes.extend(
                    field.invalid(field.child(item_path, "key"), key, m) for m in is_config_map_key(key)
                )
            target = item.get("path") or ""
            if not target:
                causes.append(field.required(field.child(item_path, "path"), ""))
            elif target.startswith("/"):
                causes.append(
                    field.invalid(field.child(item_path, "path"), target, "must be a relative path")
                )
            elif ".." in target.split("/"):
                causes.append(field.invalid(field.child(item_path, "path"), target, "must not contain '..'"))
            causes.extend(_validate_default_mode(item.get("mode"), field.child(item_path, "mode")))
    return causes
