from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from litekube.client.base import JSON
from litekube.controllers.cronjob import CRONJOBS, CronJobController
from litekube.controllers.cronjob.controller import JOBS, job_name
from litekube.controllers.cronjob.schedule import most_recent_schedule, parse_schedule
from tests.controllers_extra.harness import Harness, new_harness, seed_docs


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    h = new_harness()
    h.controllers.append(CronJobController(h.client, h.informers, h.clock))
    h.informers.start()
    await h.informers.wait_for_sync()
    yield h
    await h.stop()


def jobs(h: Harness) -> list[JSON]:
    return h.fake.objects(JOBS, "default")


async def finish(h: Harness, job: JSON, outcome: str = "Complete") -> None:
    job["status"] = {
        "conditions": [{"type": outcome, "status": "True"}],
        "startTime": job["metadata"]["creationTimestamp"],
        "completionTime": "2025-01-01T06:00:05Z",
    }
    await h.client.update_status(JOBS, job)


async def test_seed_cronjob_fires_at_six(h: Harness) -> None:
    cj = next(d for d in seed_docs("12-batch-job-cronjob.yaml") if d["kind"] == "CronJob")
    await h.client.create(CRONJOBS, cj, "default")
    await h.run()
    assert jobs(h) == []
    await h.advance(6 * 3600 + 60, step=600)
    six = datetime(2025, 1, 1, 6, tzinfo=UTC)
    expected = f"daily-report-{int(six.timestamp()) // 60}"
    assert expected == job_name("daily-report", six)
    created = jobs(h)
    assert [j["metadata"]["name"] for j in created] == [expected]
    job = created[0]
    assert (
        job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
        == "2025-01-01T06:00:00Z"
    )
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    status = h.fake.get_object(CRONJOBS, "default", "daily-report")["status"]  # type: ignore[index]
    assert status["lastScheduleTime"] == "2025-01-01T06:00:00Z"
    assert [a["name"] for a in status["active"]] == [expected]
    await finish(h, job)
    await h.run()
    status = h.fake.get_object(CRONJOBS, "default", "daily-report")["status"]  # type: ignore[index]
    assert "active" not in status and status["lastSuccessfulTime"] == "2025-01-01T06:00:05Z"
    messages = [w.body["message"] for w in h.fake.writes_to("events", "POST")]
    assert f"Created job {expected}" in messages
    assert f"Saw completed job: {expected}, condition: Complete" in messages


@pytest.mark.parametrize("policy", ["Forbid", "Replace", "Allow"])
async def test_concurrency_policies(h: Harness, policy: str) -> None:
    spec = {"schedule": "*/5 * * * *", "concurrencyPolicy": policy, "jobTemplate": {"spec": {"template": {}}}}
    await h.client.create(CRONJOBS, {"metadata": {"name": "c"}, "spec": spec}, "default")
    await h.advance(360, step=60)  # the controller wakes 100 ms after the schedule time
    assert len(jobs(h)) == 1
    await h.advance(300, step=60)
    names = [j["metadata"]["name"] for j in jobs(h)]
    if policy == "Forbid":
        assert len(names) == 1
    elif policy == "Replace":
        assert len(names) == 1 and names[0].endswith(
            str(int(datetime(2025, 1, 1, 0, 10, tzinfo=UTC).timestamp()) // 60)
        )
    else:
        assert len(names) == 2


async def test_history_limits(h: Harness) -> None:
    spec = {
        "schedule": "@hourly",
        "successfulJobsHistoryLimit": 2,
        "failedJobsHistoryLimit": 0,
        "jobTemplate": {"spec": {}},
    }
    await h.client.create(CRONJOBS, {"metadata": {"name": "hist"}, "spec": spec}, "default")
    for hour in range(4):
        await h.advance(3700, step=925)  # past the hour plus the 100 ms requeue margin
        newest = sorted(jobs(h), key=lambda j: j["metadata"]["name"])[-1]
        await finish(h, newest, "Failed" if hour == 3 else "Complete")
        await h.run()
    names = sorted(j["metadata"]["name"] for j in jobs(h))
    assert len(names) == 2  # hours 2 and 3 kept as successes; the failure removed (limit 0)
    assert any(w.body["reason"] == "SuccessfulDelete" for w in h.fake.writes_to("events", "POST"))


def test_schedule_helpers() -> None:
    s = parse_schedule("@daily", None)
    created = datetime(2025, 1, 1, tzinfo=UTC)
    latest, missed = most_recent_schedule(s, created, datetime(2025, 1, 3, 7, tzinfo=UTC))
    assert latest == datetime(2025, 1, 3, tzinfo=UTC) and missed == 2
    tokyo = parse_schedule("0 6 * * *", "Asia/Tokyo")
    assert tokyo.next_after(created).astimezone(UTC) == datetime(2025, 1, 1, 21, tzinfo=UTC)
    _, many = most_recent_schedule(
        parse_schedule("* * * * *", None), created, datetime(2025, 1, 2, tzinfo=UTC)
    )
    assert many == 101
