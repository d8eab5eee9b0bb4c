"""The node heartbeat Lease (coordination.k8s.io/v1 in kube-node-lease), shared by real and simulated nodes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

JSON = dict[str, Any]

LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_SECONDS = 40


def micro_time(moment: datetime) -> str:
    """metav1.MicroTime (Lease renewTime): microseconds and a Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_object(node: JSON, now: datetime) -> JSON:
    meta = node["metadata"]
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": meta["name"],
            "namespace": LEASE_NAMESPACE,
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": meta["name"], "uid": meta.get("uid", "")}
            ],
        },
        "spec": {
            "holderIdentity": meta["name"],
            "leaseDurationSeconds": LEASE_DURATION_SECONDS,
            "renewTime": micro_time(now),
        },
    }
