"""Volumes and mounts (ECS-MAPPING §7).

Task `volumes[]` become pod volumes (`map_task_volumes`, before the containers):
* bare `{name}` / `host: {}` / docker `scope: task` → `emptyDir` (same lifecycle);
* `host.sourcePath` → `hostPath{type: DirectoryOrCreate}` (Docker creates missing paths);
* docker `scope: shared` → a PersistentVolumeClaim (RWO, default class);
* EFS → a static PersistentVolume (`efs.csi.aws.com`, volumeHandle
  `fsId[:rootDirectory][:accessPointId]`) and a bound ReadWriteMany claim;
* `configuredAtLaunch` (EBS at launch) → a generic ephemeral volume;
* FSx for Windows → an emptyDir stand-in, reported as impossible.
Container `mountPoints` → `volumeMounts`; `volumesFrom` copies the source container's
mounts (second pass, `map_volumes_from`, once every container has its mounts); tmpfs and
`sharedMemorySize` → memory-backed emptyDirs.
"""

from __future__ import annotations

from typing import Any

from litekube.ecs.context import ANNOTATION_PREFIX, ContainerPlan, Context
from litekube.ecs.explain import Scope
from litekube.ecs.names import dns_label
from litekube.ecs.quirks import as_dict, as_list, to_bool, to_int, to_str

_NOMINAL_SIZE = "5Gi"


def map_task_volumes(task: dict[str, Any], scope: Scope, ctx: Context) -> None:
    pod_path = ctx.pod_path()
    for index, raw in enumerate(as_list(task.get("volumes"), scope.at("volumes"))):
        vol_scope = scope.at("volumes").at(index)
        volume = as_dict(raw, vol_scope)
        if volume is None:
            continue
        original = to_str(volume.get("name"), vol_scope.at("name"))
        if not original:
            vol_scope.error("volume without a name: dropped")
            continue
        if original in ctx.volume_specs:
            vol_scope.error(f"duplicate volume name {original!r}: dropped")
            continue
        name = ctx.volumes.assign(original)
        vol_scope.at("name").exact(f"{pod_path}.volumes[name={name}]", "sanitised to a DNS-1123 label")
        spec: dict[str, Any] = {"name": name}
        where = f"{pod_path}.volumes[name={name}]"
        if "efsVolumeConfiguration" in volume:
            _map_efs(
                volume["efsVolumeConfiguration"], vol_scope.at("efsVolumeConfiguration"), spec, ctx, where
            )
        elif "dockerVolumeConfiguration" in volume:
            _map_docker(
                volume["dockerVolumeConfiguration"],
                vol_scope.at("dockerVolumeConfiguration"),
                spec,
                ctx,
                where,
            )
        elif "fsxWindowsFileServerVolumeConfiguration" in volume:
            spec["emptyDir"] = {}
            vol_scope.at("fsxWindowsFileServerVolumeConfiguration").impossible(
                "FSx for Windows: emptyDir stand-in", "use the SMB CSI driver with a PersistentVolume", where
            )
        elif "host" in volume:
            host_scope = vol_scope.at("host")
            host = as_dict(volume["host"], host_scope) or {}
            source = to_str(host.get("sourcePath"), host_scope.at("sourcePath"))
            if source and source.startswith("/"):
                spec["hostPath"] = {"path": source, "type": "DirectoryOrCreate"}
                note = "not allowed on EKS Fargate" if ctx.fargate else ""
                host_scope.exact(f"{where}.hostPath", "sourcePath → hostPath DirectoryOrCreate", note)
            else:
                spec["emptyDir"] = {}
                host_scope.approx(f"{where}.emptyDir", "no absolute sourcePath: Docker-managed → emptyDir")
        else:
            spec["emptyDir"] = {}
        if volume.get("configuredAtLaunch") is not None:
            flag = to_bool(volume["configuredAtLaunch"], vol_scope.at("configuredAtLaunch"))
            if flag:
                spec.pop("emptyDir", None)
                spec.pop("hostPath", None)
                spec["ephemeral"] = {
                    "volumeClaimTemplate": {
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        }
                    }
                }
                vol_scope.at("configuredAtLaunch").approx(
                    f"{where}.ephemeral",
                    "EBS at launch → generic ephemeral volume",
                    "size and class: set them",
                )
            else:
                vol_scope.at("configuredAtLaunch").exact("", "false: the default")
        if "emptyDir" in spec and set(volume) <= {"name", "host", "configuredAtLaunch"}:
            vol_scope.approx(
                f"{where}.emptyDir", "Docker-managed volume → emptyDir", "data lives as long as the pod"
            )
        ctx.volume_specs[original] = spec
        ctx.pod.setdefault("volumes", []).append(spec)


def _map_efs(raw: object, scope: Scope, spec: dict[str, Any], ctx: Context, where: str) -> None:
    efs = as_dict(raw, scope) or {}
    fs_id = to_str(efs.get("fileSystemId"), scope.at("fileSystemId"))
    if not fs_id:
        spec["emptyDir"] = {}
        scope.error("EFS volume without fileSystemId: emptyDir stand-in")
        return
    root = to_str(efs.get("rootDirectory"), scope.at("rootDirectory")) or ""
    auth = as_dict(efs.get("authorizationConfig"), scope.at("authorizationConfig")) or {}
    access_point = (
        to_str(auth.get("accessPointId"), scope.at("authorizationConfig").at("accessPointId")) or ""
    )
    handle = fs_id
    if root not in ("", "/") or access_point:
        handle += f":{'' if root == '/' else root}"
    if access_point:
        handle += f":{access_point}"
    options: list[str] = []
    if efs.get("transitEncryption") == "ENABLED":
        options.append("tls")
        port = to_int(efs.get("transitEncryptionPort"), scope.at("transitEncryptionPort"))
        if port:
            options.append(f"tlsport={port}")
    if auth.get("iam") == "ENABLED":
        options.append("iam")
    claim = dns_label(f"{ctx.name}-{spec['name']}")
    volume_name = dns_label(f"{ctx.options.namespace or 'default'}-{claim}")
    pv: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": volume_name,
            "annotations": {f"{ANNOTATION_PREFIX}note": "EFS through the AWS EFS CSI driver (EKS)"},
        },
        "spec": {
            "capacity": {"storage": _NOMINAL_SIZE},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "csi": {"driver": "efs.csi.aws.com", "volumeHandle": handle},
        },
    }
    if options:
        pv["spec"]["mountOptions"] = options
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": ctx.metadata(claim),
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": "",
            "volumeName": volume_name,
            "resources": {"requests": {"storage": _NOMINAL_SIZE}},
        },
    }
    ctx.add_object(pv)
    ctx.add_object(pvc)
    spec["persistentVolumeClaim"] = {"claimName": claim}
    scope.approx(
        f"PersistentVolume/{volume_name}.spec.csi",
        f"EFS → static PV (efs.csi.aws.com, volumeHandle {handle}) + PVC {claim}",
        "needs the EFS CSI driver; capacity is nominal (EFS is elastic); outside EKS use an NFS PV",
    )


def _map_docker(raw: object, scope: Scope, spec: dict[str, Any], ctx: Context, where: str) -> None:
    docker = as_dict(raw, scope) or {}
    shared = docker.get("scope") == "shared"
    if not shared:
        spec["emptyDir"] = {}
        scope.approx(f"{where}.emptyDir", "task-scoped Docker volume → emptyDir", "driver options are lost")
        return
    claim = dns_label(f"{ctx.name}-{spec['name']}")
    ctx.add_object(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": ctx.metadata(claim),
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }
    )
    spec["persistentVolumeClaim"] = {"claimName": claim}
    scope.approx(
        f"PersistentVolumeClaim/{claim}",
        "shared Docker volume → PVC (RWO, default storage class)",
        "a per-instance shared volume has no exact equivalent; size is nominal; driver options are lost",
    )


def map_mount_points(plan: ContainerPlan, ctx: Context) -> None:
    scope = plan.scope.at("mountPoints")
    path = ctx.container_path(plan)
    for index, raw in enumerate(as_list(plan.source.get("mountPoints"), scope)):
        item_scope = scope.at(index)
        item = as_dict(raw, item_scope)
        if item is None:
            continue
        source = to_str(item.get("sourceVolume"), item_scope.at("sourceVolume"))
        target = to_str(item.get("containerPath"), item_scope.at("containerPath"))
        if source not in ctx.volume_specs:
            item_scope.error(f"mount of unknown volume {source!r}: dropped")
            continue
        if not target or not target.startswith("/"):
            item_scope.error("containerPath must be an absolute path: dropped")
            continue
        read_only = to_bool(item.get("readOnly"), item_scope.at("readOnly")) if "readOnly" in item else False
        if _add_mount(plan, ctx.volume_specs[source]["name"], target, bool(read_only)):
            item_scope.exact(
                f"{path}.volumeMounts[mountPath={target}]", "sourceVolume/containerPath/readOnly"
            )
        else:
            item_scope.error(f"second mount at {target}: dropped")


def map_volumes_from(plan: ContainerPlan, ctx: Context) -> None:
    scope = plan.scope.at("volumesFrom")
    path = ctx.container_path(plan)
    for index, raw in enumerate(as_list(plan.source.get("volumesFrom"), scope)):
        item_scope = scope.at(index)
        item = as_dict(raw, item_scope) or {}
        source = ctx.find_plan(item.get("sourceContainer"))
        if source is None or source is plan:
            item_scope.error(f"volumesFrom unknown container {item.get('sourceContainer')!r}: dropped")
            continue
        read_only = (
            bool(to_bool(item.get("readOnly"), item_scope.at("readOnly"))) if "readOnly" in item else False
        )
        for mount in source.spec.get("volumeMounts", []):
            _add_mount(plan, mount["name"], mount["mountPath"], read_only or bool(mount.get("readOnly")))
        item_scope.approx(
            f"{path}.volumeMounts",
            f"copied the mounts of {source.name}",
            "anonymous VOLUMEs declared in the source image cannot be seen",
        )


def map_tmpfs(raw: object, plan: ContainerPlan, ctx: Context) -> None:
    scope = plan.scope.at("linuxParameters").at("tmpfs")
    for index, entry in enumerate(as_list(raw, scope)):
        item_scope = scope.at(index)
        item = as_dict(entry, item_scope) or {}
        target = to_str(item.get("containerPath"), item_scope.at("containerPath"))
        size = to_int(item.get("size"), item_scope.at("size"), minimum=1) if "size" in item else None
        if not target or not target.startswith("/"):
            item_scope.error("tmpfs without an absolute containerPath: dropped")
            continue
        empty_dir: dict[str, Any] = {"medium": "Memory"}
        if size:
            empty_dir["sizeLimit"] = f"{size}Mi"
        name = _add_volume(ctx, f"tmpfs:{plan.name}:{index}", {"emptyDir": empty_dir})
        if _add_mount(plan, name, target, False):
            note = "counts against the memory limit"
            if "mountOptions" in item:
                note += "; mountOptions (noexec, nosuid...) are lost"
            item_scope.approx(
                f"{ctx.container_path(plan)}.volumeMounts[mountPath={target}]",
                "tmpfs → emptyDir Memory",
                note,
            )
        else:
            item_scope.error(f"second mount at {target}: dropped")


def map_shared_memory(raw: object, plan: ContainerPlan, ctx: Context) -> None:
    scope = plan.scope.at("linuxParameters").at("sharedMemorySize")
    size = to_int(raw, scope, minimum=1)
    if not size:
        return
    name = _add_volume(ctx, f"shm:{plan.name}", {"emptyDir": {"medium": "Memory", "sizeLimit": f"{size}Mi"}})
    if _add_mount(plan, name, "/dev/shm", False):
        scope.exact(
            f"{ctx.container_path(plan)}.volumeMounts[mountPath=/dev/shm]", "emptyDir Memory at /dev/shm"
        )


def _add_volume(ctx: Context, key: str, source: dict[str, Any]) -> str:
    # the NUL keeps synthetic originals apart from ECS volume names; it sanitises away
    name = ctx.volumes.assign("\0" + key)
    ctx.pod.setdefault("volumes", []).append({"name": name, **source})
    return name


def _add_mount(plan: ContainerPlan, volume: str, mount_path: str, read_only: bool) -> bool:
    mounts = plan.spec.setdefault("volumeMounts", [])
    if any(m["mountPath"] == mount_path for m in mounts):
        return False
    mount: dict[str, Any] = {"name": volume, "mountPath": mount_path}
    if read_only:
        mount["readOnly"] = True
    mounts.append(mount)
    return True
