"""The only way components (controllers, scheduler, node agent, proxy, dns, ingress) reach the API.

`Client` speaks in resource types and plain-dict objects; a `Transport` carries requests,
either over HTTPS (`http.py`) or in-process to a co-located apiserver (provided by
`litekube.apiserver.inprocess`), or to a fake (`fake.py`) in unit tests.
"""

from litekube.client.base import ApiError, Client, Transport, WatchEventDict

__all__ = ["ApiError", "Client", "Transport", "WatchEventDict"]
