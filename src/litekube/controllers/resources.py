"""The resource types controllers work with, looked up once from the API table."""

from __future__ import annotations

from litekube.api.resources import ResourceType, lookup


def _rt(group: str, version: str, plural: str) -> ResourceType:
    rt = lookup(group, version, plural)
    assert rt is not None, plural
    return rt


PODS = _rt("", "v1", "pods")
NAMESPACES = _rt("", "v1", "namespaces")
SERVICE_ACCOUNTS = _rt("", "v1", "serviceaccounts")
EVENTS = _rt("", "v1", "events")
REPLICATION_CONTROLLERS = _rt("", "v1", "replicationcontrollers")
DEPLOYMENTS = _rt("apps", "v1", "deployments")
REPLICA_SETS = _rt("apps", "v1", "replicasets")
