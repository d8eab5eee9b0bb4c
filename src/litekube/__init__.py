"""litekube: a Kubernetes-compatible workload orchestrator in one Python process."""

__version__ = "0.1.0"
