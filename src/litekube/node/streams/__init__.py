"""Pod streams: `kubectl logs / exec / attach / run -it / port-forward / cp` on the node.

`PodStreams(backend).register(resource_handlers)` serves the pod subresources log, exec,
attach and portforward; `ContainerBackend` is the node seam behind them (the kubelet's in
`kubelet_backend.py`, `FakeBackend` for tests).
"""

from litekube.node.streams.backend import ContainerBackend, ContainerRef, ContainerState, StreamFailure
from litekube.node.streams.fake import FakeBackend
from litekube.node.streams.handlers import PodStreams

__all__ = ["ContainerBackend", "ContainerRef", "ContainerState", "FakeBackend", "PodStreams", "StreamFailure"]
