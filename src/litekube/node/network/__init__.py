"""Pod networking: one network namespace per pod through the CNI plugins (see docs/network.md)."""

from litekube.node.network.base import NetworkError, PodNetwork, PodNetworkStatus, PodRef, PortMapping
from litekube.node.network.cni import CniNetwork
from litekube.node.network.fake import FakeNetwork

__all__ = [
    "CniNetwork",
    "FakeNetwork",
    "NetworkError",
    "PodNetwork",
    "PodNetworkStatus",
    "PodRef",
    "PortMapping",
]
