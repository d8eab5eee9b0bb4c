"""`litekube` command line: server, agent, kubectl, ecs, images, nodes."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="litekube")
def main() -> None:
    """litekube: a Kubernetes-compatible cluster on one machine, in about a second."""


def _register() -> None:
    from litekube.cli import agent, agent_command, components, ecs, images, kubectl, nodes, server

    assert components and agent  # registers the server's components

    main.add_command(server.server_command)
    main.add_command(agent_command.agent_command)
    main.add_command(kubectl.kubectl_command)
    main.add_command(ecs.ecs)
    main.add_command(images.images)
    main.add_command(nodes.nodes)


_register()
