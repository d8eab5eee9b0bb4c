"""Simulated (kwok-style) nodes: Nodes with heartbeats whose pods run without processes."""

from litekube.node.simulated.nodes import SimulatedNodes, add_simulated_nodes

__all__ = ["SimulatedNodes", "add_simulated_nodes"]
