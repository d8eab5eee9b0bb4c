"""OCI config generation (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litekube.node.runtime import ContainerConfig, Mount, Resources, Security, User
from litekube.node.runtime.spec import DEFAULT_CAPABILITIES, build_spec, capability_set


def _config(**kw: Any) -> ContainerConfig:
    return ContainerConfig(
        id="litekube-abc",
        pod_uid="uid-1",
        pod_name="web",
        pod_namespace="default",
        name="nginx",
        bundle_dir=Path("/b"),
        rootfs=Path("/r"),
        args=["nginx"],
        log_path=Path("/l"),
        **kw,
    )


def test_defaults_look_like_containerd() -> None:
    spec = build_spec(_config(hostname="web", env=[("A", "1")]))
    process = spec["process"]
    assert process["args"] == ["nginx"]
    assert process["env"][0].startswith("PATH=")
    assert "A=1" in process["env"] and "HOSTNAME=web" in process["env"]
    assert process["capabilities"]["bounding"] == list(DEFAULT_CAPABILITIES)
    assert process["capabilities"]["effective"] == list(DEFAULT_CAPABILITIES)
    assert process["noNewPrivileges"] is False
    assert spec["root"] == {"path": "/r", "readonly": False}
    assert spec["hostname"] == "web"
    destinations = [m["destination"] for m in spec["mounts"]]
    assert destinations == ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"]
    linux = spec["linux"]
    assert linux["cgroupsPath"] == "/litekube/poduid-1/litekube-abc"
    assert [ns["type"] for ns in linux["namespaces"]] == ["pid", "ipc", "uts", "mount", "network"]
    assert all("path" not in ns for ns in linux["namespaces"])
    assert "/proc/kcore" in linux["maskedPaths"] and "/proc/sys" in linux["readonlyPaths"]
    assert linux["resources"] == {"devices": [{"allow": False, "access": "rwm"}]}
    assert spec["annotations"]["io.kubernetes.container.name"] == "nginx"


def test_sandbox_and_netns_are_joined_and_hostname_left_to_the_sandbox() -> None:
    spec = build_spec(_config(hostname="web", netns_path="/var/run/netns/x"), sandbox_pid=42)
    namespaces = {ns["type"]: ns.get("path") for ns in spec["linux"]["namespaces"]}
    assert namespaces == {
        "pid": None,
        "ipc": "/proc/42/ns/ipc",
        "uts": "/proc/42/ns/uts",
        "mount": None,
        "network": "/var/run/netns/x",
    }
    assert "hostname" not in spec
    no_netns = build_spec(_config(), sandbox_pid=42)
    assert {"type": "network", "path": "/proc/42/ns/net"} in no_netns["linux"]["namespaces"]


def test_pinned_sandbox_namespaces_are_joined_by_path() -> None:
    pinned = {
        "ipc": "/state/sandboxes/s/ipc",
        "uts": "/state/sandboxes/s/uts",
        "net": "/state/sandboxes/s/net",
    }
    spec = build_spec(_config(hostname="web"), sandbox_namespaces=pinned)
    namespaces = {ns["type"]: ns.get("path") for ns in spec["linux"]["namespaces"]}
    assert namespaces == {
        "pid": None,
        "ipc": "/state/sandboxes/s/ipc",
        "uts": "/state/sandboxes/s/uts",
        "mount": None,
        "network": "/state/sandboxes/s/net",
    }
    assert "hostname" not in spec  # the pinned UTS namespace carries it
    with_cni = build_spec(_config(netns_path="/var/run/netns/x"), sandbox_namespaces=pinned)
    assert {"type": "network", "path": "/var/run/netns/x"} in with_cni["linux"]["namespaces"]


def test_resources_and_swap() -> None:
    config = _config(resources=Resources(256, 50_000, 100_000, 2**27, 100))
    assert build_spec(config)["linux"]["resources"] == {
        "devices": [{"allow": False, "access": "rwm"}],
        "cpu": {"shares": 256, "quota": 50_000, "period": 100_000},
        "memory": {"limit": 2**27, "swap": 2**27},
        "pids": {"limit": 100},
    }
    assert build_spec(config, swap_accounting=False)["linux"]["resources"]["memory"] == {"limit": 2**27}


def test_security_settings() -> None:
    spec = build_spec(
        _config(
            user=User(1000, 3000, (4000,)),
            security=Security(
                capabilities_add=("NET_ADMIN",),
                capabilities_drop=("ALL",),
                readonly_rootfs=True,
                no_new_privileges=True,
            ),
        )
    )
    process = spec["process"]
    assert process["user"] == {"uid": 1000, "gid": 3000, "additionalGids": [4000]}
    assert process["capabilities"]["bounding"] == ["CAP_NET_ADMIN"]
    assert process["capabilities"]["effective"] == []  # non-root
    assert process["noNewPrivileges"] is True
    assert spec["root"]["readonly"] is True


def test_privileged_gets_everything() -> None:
    spec = build_spec(_config(security=Security(privileged=True)))
    assert "CAP_SYS_ADMIN" in spec["process"]["capabilities"]["bounding"]
    assert "maskedPaths" not in spec["linux"] and "readonlyPaths" not in spec["linux"]
    assert spec["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    sysfs = next(m for m in spec["mounts"] if m["destination"] == "/sys")
    assert "rw" in sysfs["options"]


def test_capability_arithmetic() -> None:
    assert capability_set((), ("NET_RAW", "cap_chown"), False) == [
        c for c in DEFAULT_CAPABILITIES if c not in ("CAP_NET_RAW", "CAP_CHOWN")
    ]
    assert capability_set(("SYS_TIME",), (), False)[-1] == "CAP_SYS_TIME"
    assert "CAP_SYS_ADMIN" in capability_set(("ALL",), (), False)
    assert capability_set((), ("ALL",), False) == []


def test_user_mounts_follow_defaults_and_replace_same_destination() -> None:
    shm = Mount("/var/lib/litekube/pods/x/shm", "/dev/shm", "bind", ("rbind", "rw"))
    hosts = Mount.bind("/pods/x/etc-hosts", "/etc/hosts", readonly=True)
    spec = build_spec(_config(mounts=[shm, hosts]))
    destinations = [m["destination"] for m in spec["mounts"]]
    assert destinations.count("/dev/shm") == 1
    assert destinations[-2:] == ["/dev/shm", "/etc/hosts"]
    assert spec["mounts"][-1] == {
        "destination": "/etc/hosts",
        "type": "bind",
        "source": "/pods/x/etc-hosts",
        "options": ["rbind", "rprivate", "ro"],
    }


def test_tty_sets_terminal() -> None:
    spec = build_spec(_config(tty=True))
    assert spec["process"]["terminal"] is True and spec["process"]["consoleSize"] == {
        "height": 24,
        "width": 80,
    }
