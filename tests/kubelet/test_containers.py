from __future__ import annotations

from pathlib import Path

import pytest

from litekube.node.kubelet.containers import (
    ContainerPlan,
    PodFiles,
    build_container_config,
    parse_image_user,
)
from litekube.node.kubelet.env import ConfigError

POD = {"metadata": {"name": "web", "namespace": "default", "uid": "u-1"}, "spec": {}}
IMAGE = {
    "Entrypoint": ["/docker-entrypoint.sh"],
    "Cmd": ["nginx", "-g", "daemon off;"],
    "Env": ["PATH=/bin"],
    "WorkingDir": "/srv",
}


def build(
    container: dict,
    pod: dict | None = None,
    image: dict | None = None,
    volumes: dict | None = None,
    tmp: Path = Path("/tmp"),
):
    plan = ContainerPlan(
        id="litekube-abc",
        bundle_dir=tmp / "b",
        rootfs=tmp / "r",
        log_path=tmp / "0.log",
        termination_log=tmp / "term",
        sandbox_id="litekube-sb",
        netns_path="/run/netns/x",
    )
    files = PodFiles(tmp / "hosts", tmp / "resolv.conf", tmp / "hostname")
    return build_container_config(
        pod or POD,
        {"name": "nginx", **container},
        image if image is not None else IMAGE,
        [("GREETING", "hi")],
        plan,
        volumes or {},
        files,
        "web",
    )


def test_command_and_args_rules() -> None:
    assert build({}).args == ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]
    assert build({"args": ["-v"]}).args == ["/docker-entrypoint.sh", "-v"]
    assert build({"command": ["sh", "-c"], "args": ["echo $(GREETING)"]}).args == ["sh", "-c", "echo hi"]
    config = build({})
    assert config.working_dir == "/srv"
    assert build({"workingDir": "/app"}).working_dir == "/app"
    assert config.env == [("PATH", "/bin"), ("GREETING", "hi")]


def test_resources_become_cgroup_values() -> None:
    config = build(
        {
            "resources": {
                "requests": {"cpu": "100m", "memory": "128Mi"},
                "limits": {"cpu": "200m", "memory": "256Mi"},
            }
        }
    )
    assert config.resources.cpu_shares == 102
    assert (config.resources.cpu_quota, config.resources.cpu_period) == (20000, 100000)
    assert config.resources.memory_limit == 256 * 2**20
    assert build({"resources": {"requests": {"cpu": "1m"}}}).resources.cpu_shares == 2


def test_run_as_non_root_refusals() -> None:
    non_root = {"securityContext": {"runAsNonRoot": True}}
    with pytest.raises(ConfigError) as error:
        build(non_root)
    assert (
        str(error.value)
        == 'container has runAsNonRoot and image will run as root (pod: "web_default(u-1)", container: nginx)'
    )
    with pytest.raises(ConfigError) as error:
        build(non_root, image={**IMAGE, "User": "nginx"})
    assert "image has non-numeric user (nginx), cannot verify user is non-root" in str(error.value)
    with pytest.raises(ConfigError) as error:
        build({"securityContext": {"runAsNonRoot": True, "runAsUser": 0}})
    assert str(error.value).startswith("container's runAsUser breaks non-root policy")
    ok = build(non_root, image={**IMAGE, "User": "101:101"})
    assert (ok.user.uid, ok.user.gid) == (101, 101)
    pod_level = {
        **POD,
        "spec": {
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 1000,
                "fsGroup": 2000,
                "supplementalGroups": [3000],
            }
        },
    }
    config = build({}, pod=pod_level)
    assert (config.user.uid, config.user.additional_gids) == (1000, (2000, 3000))


def test_security_context() -> None:
    config = build(
        {
            "securityContext": {
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
                "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
            }
        }
    )
    assert config.security.readonly_rootfs and config.security.no_new_privileges
    assert config.security.capabilities_add == ("NET_ADMIN",) and config.security.capabilities_drop == (
        "ALL",
    )
    assert build({"securityContext": {"privileged": True}}).security.privileged


def test_mounts(tmp_path: Path) -> None:
    volume = tmp_path / "logs"
    volume.mkdir()
    config = build(
        {
            "volumeMounts": [
                {"name": "logs", "mountPath": "/var/log/nginx"},
                {"name": "logs", "mountPath": "/sub", "subPath": "a/b", "readOnly": True},
            ]
        },
        volumes={"logs": volume},
        tmp=tmp_path,
    )
    destinations = {m.destination: m for m in config.mounts}
    assert destinations["/var/log/nginx"].source == str(volume)
    assert destinations["/sub"].source == str(volume / "a" / "b") and "ro" in destinations["/sub"].options
    assert {"/etc/hosts", "/etc/resolv.conf", "/etc/hostname", "/dev/termination-log"} <= set(destinations)
    with pytest.raises(ConfigError):
        build({"volumeMounts": [{"name": "missing", "mountPath": "/x"}]})


def test_image_user_parsing() -> None:
    passwd = "root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/sh\n"
    assert parse_image_user("") == (0, 0)
    assert parse_image_user("1000") == (1000, 0)
    assert parse_image_user("1000:50") == (1000, 50)
    assert parse_image_user("www-data", passwd) == (33, 33)
    assert parse_image_user("ghost", passwd) == (None, None)
