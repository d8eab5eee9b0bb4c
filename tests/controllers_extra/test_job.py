from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from litekube.client.base import JSON
from litekube.controllers.job import JOBS, JobController
from litekube.controllers.job.backoff import backoff_delay
from litekube.controllers.job.indexed import format_indexes, parse_indexes
from litekube.node.simulated import SimulatedNodes
from litekube.scheduler import Scheduler
from litekube.scheduler.scheduler import PODS
from tests.controllers_extra.harness import Harness, new_harness, seed_docs


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    h = new_harness()
    sim = SimulatedNodes(h.client, h.clock, 2, informers=h.informers, completion_delay=2.0)
    h.controllers += [
        JobController(h.client, h.informers, h.clock),
        Scheduler(h.client, h.informers, h.clock),
        sim.pods,
    ]
    await sim.add_nodes(2)
    h.informers.start()
    await h.informers.wait_for_sync()
    yield h
    await h.stop()


def job_of(h: Harness, name: str) -> JSON:
    job = h.fake.get_object(JOBS, "default", name)
    assert job is not None
    return job


def conditions(job: JSON) -> dict[str, JSON]:
    return {c["type"]: c for c in job["status"].get("conditions") or ()}


async def test_seed_job_completes_on_simulated_node(h: Harness) -> None:
    job = next(d for d in seed_docs("12-batch-job-cronjob.yaml") if d["kind"] == "Job")
    await h.client.create(JOBS, job, "default")
    await h.run()
    pods = h.fake.objects(PODS, "default")
    assert len(pods) == 1 and pods[0]["status"]["phase"] == "Running"
    assert pods[0]["metadata"]["finalizers"] == ["batch.kubernetes.io/job-tracking"]
    assert pods[0]["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "data-processor"
    await h.advance(3)
    done = job_of(h, "data-processor")
    conds = conditions(done)
    assert conds["Complete"]["status"] == "True"
    assert conds["SuccessCriteriaMet"]["reason"] == "CompletionsReached"
    assert conds["Complete"]["message"] == "Reached expected number of succeeded pods"
    assert done["status"]["succeeded"] == 1 and done["status"]["active"] == 0
    assert done["status"]["completionTime"] and done["status"]["startTime"]
    pod = h.fake.objects(PODS, "default")[0]
    assert pod["status"]["phase"] == "Succeeded" and not pod["metadata"].get("finalizers")
    term = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 0 and term["reason"] == "Completed"
    reasons = [(w.body["reason"], w.body["message"]) for w in h.fake.writes_to("events", "POST")]
    assert ("Completed", "Job completed") in reasons
    assert any(r == "SuccessfulCreate" and m.startswith("Created pod: data-processor-") for r, m in reasons)


async def test_backoff_limit_with_failing_pods(h: Harness) -> None:
    template = {
        "metadata": {"annotations": {"sim.litekube.io/exit-code": "3"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]},
    }
    await h.client.create(
        JOBS, {"metadata": {"name": "flaky"}, "spec": {"backoffLimit": 1, "template": template}}, "default"
    )
    await h.run()
    await h.advance(3)  # first pod fails
    assert job_of(h, "flaky")["status"]["failed"] == 1
    assert len(h.fake.objects(PODS, "default")) == 1  # replacement waits for the 10 s backoff
    await h.advance(10)
    assert len(h.fake.objects(PODS, "default")) == 2
    await h.advance(4)
    job = job_of(h, "flaky")
    conds = conditions(job)
    assert conds["FailureTarget"]["reason"] == "BackoffLimitExceeded"
    assert conds["Failed"]["message"] == "Job has reached the specified backoff limit"
    assert job["status"]["failed"] == 2
    reasons = [w.body["reason"] for w in h.fake.writes_to("events", "POST")]
    assert "BackoffLimitExceeded" in reasons


async def test_indexed_job(h: Harness) -> None:
    spec = {
        "completions": 3,
        "parallelism": 2,
        "completionMode": "Indexed",
        "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}},
    }
    await h.client.create(JOBS, {"metadata": {"name": "idx"}, "spec": spec}, "default")
    await h.run()
    pods = h.fake.objects(PODS, "default")
    assert sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] for p in pods) == [
        "0",
        "1",
    ]
    assert {p["spec"]["hostname"] for p in pods} == {"idx-0", "idx-1"}
    await h.advance(3)
    assert job_of(h, "idx")["status"]["completedIndexes"] == "0-1"
    await h.advance(3)
    job = job_of(h, "idx")
    assert job["status"]["completedIndexes"] == "0-2" and conditions(job)["Complete"]["status"] == "True"


async def test_pod_failure_policy_fail_job(h: Harness) -> None:
    template = {
        "metadata": {"annotations": {"sim.litekube.io/exit-code": "42"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]},
    }
    policy = {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]}
    await h.client.create(
        JOBS,
        {"metadata": {"name": "pfp"}, "spec": {"template": template, "podFailurePolicy": policy}},
        "default",
    )
    await h.run()
    await h.advance(3)
    conds = conditions(job_of(h, "pfp"))
    assert conds["Failed"]["reason"] == "PodFailurePolicy"
    assert conds["Failed"]["message"].startswith("Container main for pod default/pfp-")
    assert conds["Failed"]["message"].endswith("failed with exit code 42 matching FailJob rule at index 0")


async def test_suspend_and_deadline(h: Harness) -> None:
    spec = {
        "suspend": True,
        "activeDeadlineSeconds": 5,
        "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}},
    }
    await h.client.create(JOBS, {"metadata": {"name": "sus"}, "spec": spec}, "default")
    await h.run()
    job = job_of(h, "sus")
    assert conditions(job)["Suspended"]["status"] == "True" and not h.fake.objects(PODS, "default")
    job["spec"]["suspend"] = False
    job["spec"]["template"]["metadata"] = {"annotations": {"sim.litekube.io/exit-code": "1"}}
    job["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    await h.client.update(JOBS, job)
    await h.run()
    assert conditions(job_of(h, "sus"))["Suspended"]["reason"] == "JobResumed"
    await h.advance(6)
    assert conditions(job_of(h, "sus"))["Failed"]["reason"] == "DeadlineExceeded"


def test_backoff_and_index_arithmetic() -> None:
    assert [backoff_delay(n) for n in range(1, 8)] == [10, 20, 40, 80, 160, 320, 360]
    assert format_indexes({0, 1, 2, 4, 6, 7}) == "0-2,4,6-7"
    assert parse_indexes("0-2,4,6-7", 7) == {0, 1, 2, 4, 6}
