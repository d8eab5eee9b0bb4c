"""`litekube` command line: server, agent, kubectl, ecs, images, nodes.

Subcommands are imported when they are run, not all at start: `litekube server` then does
not pay for the ECS bridge or rich's console (~80 ms of its start-up).
"""

from __future__ import annotations

import importlib

import click

# name -> (module, attribute, modules that must be imported with it)
COMMANDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # the server's components register themselves with it when imported
    "server": ("litekube.cli.server", "server_command", ("litekube.cli.components", "litekube.cli.agent")),
    "agent": ("litekube.cli.agent_command", "agent_command", ()),
    "kubectl": ("litekube.cli.kubectl", "kubectl_command", ()),
    "ecs": ("litekube.cli.ecs", "ecs", ()),
    "images": ("litekube.cli.images", "images", ()),
    "nodes": ("litekube.cli.nodes", "nodes", ()),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, companions = COMMANDS[cmd_name]
        for companion in companions:
            importlib.import_module(companion)
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="litekube")
def main() -> None:
    """litekube: a Kubernetes-compatible cluster on one machine, in about a second."""
