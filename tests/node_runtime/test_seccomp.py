"""seccompProfile → OCI seccomp: the profile's shape, and real runc confining a container with it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from litekube.node.runtime import Security
from litekube.node.runtime.seccomp import SeccompError, effective_profile, runtime_default, seccomp_section
from litekube.node.runtime.spec import DEFAULT_CAPABILITIES, build_spec
from tests.node_runtime.conftest import Harness
from tests.node_runtime.test_spec import _config


def allowed(profile: dict[str, object]) -> set[str]:
    rules = profile["syscalls"]
    assert isinstance(rules, list)
    return {
        name
        for rule in rules
        if rule["action"] == "SCMP_ACT_ALLOW" and not rule.get("args")
        for name in rule["names"]
    }


def test_effective_profile_prefers_the_container() -> None:
    pod = {"spec": {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}}
    assert effective_profile(pod, {}) == "RuntimeDefault"
    assert (
        effective_profile(pod, {"securityContext": {"seccompProfile": {"type": "Unconfined"}}})
        == "Unconfined"
    )
    local = {"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p/audit.json"}}}
    assert effective_profile({}, local) == "Localhost/p/audit.json"
    assert effective_profile({}, {}) == ""


def test_runtime_default_denies_with_eperm_and_gates_syscalls_on_capabilities() -> None:
    profile = runtime_default(list(DEFAULT_CAPABILITIES), machine="x86_64")
    assert (profile["defaultAction"], profile["defaultErrnoRet"]) == ("SCMP_ACT_ERRNO", 1)
    assert profile["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    names = allowed(profile)
    assert {"read", "openat", "execve", "futex", "epoll_wait", "socket", "chroot"} <= names
    assert not {"mount", "unshare", "setns", "kexec_load", "init_module", "reboot", "bpf", "keyctl"} & names
    clone = [rule for rule in profile["syscalls"] if rule["names"] == ["clone"]]
    assert clone[0]["args"][0]["op"] == "SCMP_CMP_MASKED_EQ"
    admin = allowed(runtime_default([*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"], machine="x86_64"))
    assert {"mount", "unshare", "setns", "clone", "clone3"} <= admin


def test_spec_carries_the_section_except_for_privileged_or_unconfined() -> None:
    confined = build_spec(_config(security=Security(seccomp="RuntimeDefault")))
    assert confined["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    for security in (
        Security(seccomp="Unconfined"),
        Security(),
        Security(privileged=True, seccomp="RuntimeDefault"),
    ):
        assert "seccomp" not in build_spec(_config(security=security))["linux"]


def test_localhost_profiles(tmp_path: Path) -> None:
    profile = {
        "defaultAction": "SCMP_ACT_LOG",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}],
        "x": 1,
    }
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "log.json").write_bytes(orjson.dumps(profile))
    assert seccomp_section("Localhost/profiles/log.json", [], tmp_path) == {
        "defaultAction": "SCMP_ACT_LOG",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}],
    }
    missing = tmp_path / "profiles" / "gone.json"
    with pytest.raises(SeccompError) as error:
        seccomp_section("Localhost/profiles/gone.json", [], tmp_path)
    assert str(error.value) == (
        f'failed to generate seccomp spec opts: cannot load seccomp profile "{missing}": '
        f"open {missing}: no such file or directory"
    )


@pytest.mark.root
async def test_runtime_default_confines_a_real_container(harness: Harness) -> None:
    # unshare(CLONE_NEWUSER) needs no capability, so only the filter can refuse it
    script = "grep Seccomp: /proc/self/status; unshare -U true && echo unshared; echo done"
    confined = harness.config(["sh", "-c", script], security=Security(seccomp="RuntimeDefault"))
    free = harness.config(["sh", "-c", script])
    for config in (confined, free):
        await harness.run(config)
        status = await harness.runtime.wait(config.id, within=10)
        assert status.exit_code == 0
    confined_log, free_log = confined.log_path.read_text(), free.log_path.read_text()
    assert "Seccomp:\t2" in confined_log and "done" in confined_log
    assert "unshared" not in confined_log and "Operation not permitted" in confined_log
    assert "Seccomp:\t0" in free_log
