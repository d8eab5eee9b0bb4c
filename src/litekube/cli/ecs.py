"""`litekube ecs ...`: the ECS bridge on the command line.

* `convert FILES... [--service F] [--schedule F ...]` → YAML on stdout (or `-o DIR`),
  the explanation on stderr. Extra positional files are recognised by content, so
  `--schedule rule.json targets.json` works as written in the docs.
* `apply ...` → the same conversion piped into the real `kubectl apply -f -`.
* `explain` → the ECS ↔ Kubernetes concept table.
Bad input: one line `error: <file>: <problem>` on stderr, exit code 2, nothing written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from litekube.ecs import Conversion, ConvertOptions, EcsInputError, Inputs, convert
from litekube.ecs.concepts import CONCEPTS, concept_table
from litekube.ecs.render import explanation_json, explanation_table, render_yaml, summary, write_directory

ROOT_KUBECONFIG = "/var/lib/litekube/kubeconfig"


@click.group()
def ecs() -> None:
    """Convert AWS ECS task and service definitions to Kubernetes manifests."""


def _conversion_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False)),
        click.option(
            "--service",
            type=click.Path(dir_okay=False),
            help="create-service input or describe-services output",
        ),
        click.option(
            "--schedule",
            multiple=True,
            type=click.Path(dir_okay=False),
            help="EventBridge rule (its targets file may follow as an argument) or Scheduler schedule",
        ),
        click.option("--namespace", "-n", help="namespace for the generated objects"),
        click.option(
            "--kind", type=click.Choice(["deployment", "job", "daemonset"]), help="workload for a task alone"
        ),
        click.option(
            "--explain-format", type=click.Choice(["table", "json"]), default="table", show_default=True
        ),
        click.option("--keep-mesh-proxy", is_flag=True, help="keep the App Mesh Envoy container"),
        click.option("--keep-log-router", is_flag=True, help="keep the FireLens log router container"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _run_conversion(
    command: str, files: tuple[str, ...], service: str | None, schedule: tuple[str, ...], **kw: Any
) -> Conversion:
    try:
        inputs = Inputs.from_files(list(files), service=service, schedules=schedule)
        return convert(
            inputs,
            ConvertOptions(
                namespace=kw["namespace"],
                kind=kw["kind"],
                keep_mesh_proxy=kw["keep_mesh_proxy"],
                keep_log_router=kw["keep_log_router"],
            ),
        )
    except EcsInputError as error:
        click.echo(f"litekube ecs {command}: error: {error.file}: {error.problem}", err=True)
        sys.exit(2)


def _print_explanation(conversion: Conversion, explain_format: str) -> None:
    if explain_format == "json":
        click.echo(explanation_json(conversion.records), err=True)
        return
    console = Console(stderr=True, width=max(160, shutil.get_terminal_size().columns))
    console.print(explanation_table(conversion.records))
    console.print(f"summary: {summary(conversion.records)}")


@ecs.command("convert")
@_conversion_options
@click.option("-o", "--output-dir", type=click.Path(file_okay=False), help="write one file per object here")
def convert_command(
    files: tuple[str, ...], service: str | None, schedule: tuple[str, ...], output_dir: str | None, **kw: Any
) -> None:
    """Print Kubernetes YAML for an ECS task definition (plus service / schedule)."""
    conversion = _run_conversion("convert", files, service, schedule, **kw)
    sources = [*files, *([service] if service else []), *schedule]
    if output_dir:
        for path in write_directory(conversion.objects, Path(output_dir)):
            click.echo(f"wrote {path}", err=True)
    else:
        click.echo(render_yaml(conversion.objects, sources), nl=False)
    _print_explanation(conversion, kw["explain_format"])


def find_kubectl() -> str | None:
    found = shutil.which("kubectl")
    if found:
        return found
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.exists() else None


def default_kubeconfig(explicit: str | None) -> str | None:
    """--kubeconfig, else $KUBECONFIG, else litekube's admin kubeconfig when it exists."""
    if explicit:
        return explicit
    if os.environ.get("KUBECONFIG"):
        return os.environ["KUBECONFIG"]
    candidates = [ROOT_KUBECONFIG] if os.geteuid() == 0 else []
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    candidates.append(str(Path(data_home) / "litekube" / "kubeconfig"))
    return next((c for c in candidates if Path(c).exists()), None)


@ecs.command("apply")
@_conversion_options
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="default: $KUBECONFIG, then litekube's")
@click.option("--dry-run", type=click.Choice(["none", "server", "client"]), default="none", show_default=True)
def apply_command(
    files: tuple[str, ...],
    service: str | None,
    schedule: tuple[str, ...],
    kubeconfig: str | None,
    dry_run: str,
    **kw: Any,
) -> None:
    """Convert and apply to the cluster (kubectl apply -f -)."""
    conversion = _run_conversion("apply", files, service, schedule, **kw)
    kubectl = find_kubectl()
    if kubectl is None:
        click.echo(
            "litekube ecs apply: error: kubectl not found (PATH or next to the Python interpreter)", err=True
        )
        sys.exit(2)
    _print_explanation(conversion, kw["explain_format"])
    argv = [kubectl]
    config = default_kubeconfig(kubeconfig)
    if config:
        argv += ["--kubeconfig", config]
    argv += ["apply", "-f", "-"]
    if dry_run != "none":
        argv.append(f"--dry-run={dry_run}")
    result = subprocess.run(argv, input=render_yaml(conversion.objects), text=True, check=False)
    sys.exit(result.returncode)


@ecs.command("explain")
@click.option(
    "--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def explain_command(output_format: str) -> None:
    """Print the ECS ↔ Kubernetes concept table, with the command that shows each row live."""
    if output_format == "json":
        click.echo(json.dumps([c.as_dict() for c in CONCEPTS], indent=2, ensure_ascii=False))
        return
    Console(width=max(140, shutil.get_terminal_size().columns)).print(concept_table())
