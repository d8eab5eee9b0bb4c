"""`litekube ecs ...` (the ECS bridge); filled in by the ECS work."""

from __future__ import annotations

import click


@click.group()
def ecs() -> None:
    """Convert AWS ECS task and service definitions to Kubernetes manifests."""
