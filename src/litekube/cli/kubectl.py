"""`litekube kubectl ...`: the real kubectl, pointed at this machine's cluster."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from litekube.apiserver.server import default_data_dir


def find_kubectl() -> str:
    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():
        return str(beside)
    found = shutil.which("kubectl")
    if not found:
        raise click.ClickException("kubectl not found: install it (the README's setup command does)")
    return found


@click.command(
    "kubectl",
    context_settings={
        "ignore_unknown_options": True,
        "allow_interspersed_args": False,
        "help_option_names": [],
    },
)
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, hidden=True)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def kubectl_command(data_dir: Path | None, args: tuple[str, ...]) -> None:
    """Run the real kubectl against this machine's litekube cluster."""
    kubeconfig = (data_dir or default_data_dir()) / "kubeconfig"
    env = dict(os.environ)
    env.setdefault("KUBECONFIG", str(kubeconfig))
    binary = find_kubectl()
    os.execve(binary, [binary, *args], env)
