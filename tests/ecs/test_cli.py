"""`litekube ecs convert|apply|explain` through click's runner."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from litekube.cli.ecs import ecs
from tests.ecs.helpers import ORDERING, WORKSHOP_SERVICE, WORKSHOP_TASK


def test_convert_prints_yaml_and_explains_on_stderr() -> None:
    result = CliRunner().invoke(
        ecs, ["convert", str(WORKSHOP_TASK), "--service", str(WORKSHOP_SERVICE), "-n", "shop"]
    )
    assert result.exit_code == 0, result.stderr
    documents = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert [d["kind"] for d in documents] == ["ServiceAccount", "Deployment", "Service"]
    assert {d["metadata"]["namespace"] for d in documents} == {"shop"}
    assert "ECS → Kubernetes mapping" in result.stderr
    assert "summary:" in result.stderr


def test_convert_json_explanation_and_output_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        ecs, ["convert", str(ORDERING), "-o", str(tmp_path / "out"), "--explain-format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "01-deployment-ecsftest-container-ordering.yaml"
    ]
    explanation = json.loads(result.stderr[result.stderr.index("{") :])
    assert {"document", "ecs_path", "k8s_path", "rule", "severity", "note"} <= set(explanation["records"][0])


def test_schedule_files_are_recognised_by_content(tmp_path: Path) -> None:
    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps({"Name": "hourly", "ScheduleExpression": "rate(1 hour)"}))
    targets = tmp_path / "targets.json"
    targets.write_text(
        json.dumps(
            [
                {
                    "Id": "1",
                    "Arn": "arn:c",
                    "EcsParameters": {"TaskDefinitionArn": "ecsftest-container-ordering"},
                }
            ]
        )
    )
    result = CliRunner().invoke(ecs, ["convert", str(ORDERING), "--schedule", str(rule), str(targets)])
    assert result.exit_code == 0, result.stderr
    cron = next(d for d in yaml.safe_load_all(result.stdout) if d)
    assert (cron["kind"], cron["spec"]["schedule"], cron["spec"]["timeZone"]) == (
        "CronJob",
        "0 * * * *",
        "Etc/UTC",
    )


@pytest.mark.parametrize("content", ["{not json", '{"family": "x"}', "[1, 2]"])
def test_bad_input_is_one_line_exit_2_no_output(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "task.json"
    bad.write_text(content)
    out = tmp_path / "out"
    result = CliRunner().invoke(ecs, ["convert", str(bad), "-o", str(out)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"litekube ecs convert: error: {bad}: ")
    assert not out.exists()


def test_apply_pipes_yaml_into_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = tmp_path / "record"
    fake = tmp_path / "kubectl"
    fake.write_text(f'#!/bin/sh\necho "$@" > {record}.args\ncat > {record}.stdin\nexit 3\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KUBECONFIG", "/tmp/some-kubeconfig")
    result = CliRunner().invoke(ecs, ["apply", str(ORDERING), "--dry-run", "server"])
    assert result.exit_code == 3
    assert Path(f"{record}.args").read_text().split() == [
        "--kubeconfig",
        "/tmp/some-kubeconfig",
        "apply",
        "-f",
        "-",
        "--dry-run=server",
    ]
    applied = [d for d in yaml.safe_load_all(Path(f"{record}.stdin").read_text()) if d]
    assert applied[0]["kind"] == "Deployment"


def test_explain_lists_the_seed_concepts_with_commands() -> None:
    result = CliRunner().invoke(ecs, ["explain", "--format", "json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    pairs = {(r["ecs"], r["kubernetes"]) for r in rows}
    assert ("Task", "Pod") in pairs and ("desired count", "spec.replicas") in pairs
    assert all(r["command"].startswith("kubectl ") for r in rows)
    table = CliRunner().invoke(ecs, ["explain"])
    assert "レプリカ管理" in table.stdout and "litekube kubectl get pods" in table.stdout
