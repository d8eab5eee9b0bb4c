"""Restart policies, exit reasons, hooks and sandbox details of the pod worker."""

from __future__ import annotations

from litekube.node.runtime.fake import Behaviour
from tests.kubelet.fakes import Harness
from tests.kubelet.test_pod_worker import container_status, one, status_of


async def test_on_failure_restarts_failures_only(harness: Harness) -> None:
    pod = one("batch", command=["work"])
    pod["spec"]["restartPolicy"] = "OnFailure"
    worker = await harness.worker(pod)
    await worker.sync()
    harness.runtime.finish(worker.current["app"].id, 2)
    await worker.sync()
    assert worker.current["app"].attempt == 1  # failed: restarted
    harness.runtime.finish(worker.current["app"].id, 0)
    await worker.sync()
    await worker.sync()
    assert worker.current["app"].attempt == 1  # succeeded: left alone
    assert status_of(harness, "batch")["phase"] == "Succeeded"
    app = container_status(harness, "batch")
    assert app["lastState"]["terminated"]["exitCode"] == 2


async def test_oom_killed_is_reported(harness: Harness) -> None:
    pod = one("hog")
    pod["spec"]["restartPolicy"] = "Never"
    worker = await harness.worker(pod)
    await worker.sync()
    harness.runtime.finish(worker.current["app"].id, 137, oom=True)
    await worker.sync()
    terminated = container_status(harness, "hog")["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (137, "OOMKilled")
    assert status_of(harness, "hog")["phase"] == "Failed"


async def test_termination_message_is_read_from_the_file(harness: Harness) -> None:
    pod = one("msg")
    pod["spec"]["restartPolicy"] = "Never"
    worker = await harness.worker(pod)
    await worker.sync()
    record = worker.current["app"]
    assert record.termination_log is not None
    record.termination_log.write_text("disk full")
    harness.runtime.finish(record.id, 1)
    await worker.sync()
    assert container_status(harness, "msg")["state"]["terminated"]["message"] == "disk full"


async def test_failed_post_start_hook_kills_the_container(harness: Harness) -> None:
    harness.runtime.exec_handler = lambda cid, argv, stdin: (1, b"no config", b"")
    worker = await harness.worker(one("hooked", lifecycle={"postStart": {"exec": {"command": ["setup"]}}}))
    await worker.sync()
    assert (
        "FailedPostStartHook",
        "PostStartHook failed: command 'setup' exited with 1: no config",
    ) in harness.events()
    status = await harness.runtime.status(worker.current["app"].id)
    assert status.state == "exited"


async def test_start_failure_is_container_cannot_run(harness: Harness) -> None:
    harness.runtime.behave("app", Behaviour(fail_start='exec: "nope": executable file not found in $PATH'))
    worker = await harness.worker(one("broken", command=["nope"]))
    await worker.sync()
    await worker.sync()
    app = container_status(harness, "broken")
    assert app["state"]["waiting"]["reason"] in ("RunContainerError", "CrashLoopBackOff")
    last = app["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("ContainerCannotRun", 128)


async def test_host_ports_reach_the_network_and_dns_files_are_written(harness: Harness) -> None:
    pod = one("ports", ports=[{"containerPort": 80, "hostPort": 8080}])
    pod["spec"]["dnsPolicy"] = "ClusterFirst"
    worker = await harness.worker(pod)
    await worker.sync()
    status = harness.network.pods[worker.uid]
    assert [(m.container_port, m.host_port, m.protocol) for m in status.port_mappings] == [(80, 8080, "TCP")]
    resolv = (worker.pod_dir / "resolv.conf").read_text()
    assert "nameserver 10.96.0.10" in resolv and "search default.svc.cluster.local" in resolv
    assert "10.244.0.2\tports" in (worker.pod_dir / "etc-hosts").read_text()
    config = harness.runtime.containers[worker.current["app"].id].config
    assert {"/etc/hosts", "/etc/resolv.conf", "/etc/hostname"} <= {m.destination for m in config.mounts}


async def test_host_network_pods_skip_cni(harness: Harness) -> None:
    pod = one("hostnet")
    pod["spec"]["hostNetwork"] = True
    worker = await harness.worker(pod)
    await worker.sync()
    assert harness.network.pods == {}
    assert status_of(harness, "hostnet")["podIP"] == "192.168.1.10"
    assert harness.runtime.containers[worker.current["app"].id].config.netns_path == "/proc/1/ns/net"


async def test_sandbox_failure_is_reported_and_retried(harness: Harness) -> None:
    harness.network.fail_next('plugin type="bridge" failed (add): boom')
    worker = await harness.worker(one("net"))
    await worker.sync()
    assert (
        "FailedCreatePodSandBox",
        'Failed to create pod sandbox: rpc error: code = Unknown desc = plugin type="bridge" failed (add): boom',
    ) in harness.events()
    assert container_status(harness, "net")["state"] == {"waiting": {"reason": "ContainerCreating"}}
    await worker.sync()
    assert "running" in container_status(harness, "net")["state"]


async def test_missing_config_map_volume_is_a_failed_mount(harness: Harness) -> None:
    pod = one("vol", volumeMounts=[{"name": "cfg", "mountPath": "/etc/app"}])
    pod["spec"]["volumes"] = [{"name": "cfg", "configMap": {"name": "app-config"}}]
    worker = await harness.worker(pod)
    await worker.sync()
    assert (
        "FailedMount",
        'MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found',
    ) in harness.events()
    assert status_of(harness, "vol")["phase"] == "Pending"
    assert worker.current == {}
