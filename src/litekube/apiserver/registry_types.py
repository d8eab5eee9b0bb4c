"""What callers hand the registry and what it hands back.

The verb modules (`registry.py`, `listing.py`, `patching.py`, `deletion.py`, `scale.py`)
all import these shapes from here, so none of them imports another at load time;
`registry.py` re-exports them for `rest.py` and `server.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from litekube.api.managed_fields import default_manager
from litekube.api.resources import ResourceType, lookup
from litekube.apiserver.objects import JSON


def _builtin(plural: str) -> ResourceType:
    rt = lookup("", "v1", plural)
    assert rt is not None
    return rt


# The two types whose writes the registry keeps bookkeeping for (namespace phases, service
# ClusterIP/NodePort allocations).
NAMESPACES = _builtin("namespaces")
SERVICES = _builtin("services")
PODS = _builtin("pods")
SERVICEACCOUNTS = _builtin("serviceaccounts")

PATCH_JSON = "application/json-patch+json"
PATCH_MERGE = "application/merge-patch+json"
PATCH_STRATEGIC = "application/strategic-merge-patch+json"
PATCH_APPLY = "application/apply-patch+yaml"


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_validation: str = "Strict"  # Strict | Warn | Ignore (kubectl sends Strict by default)
    field_manager: str = ""
    force: bool = False
    user_agent: str = ""  # names the manager of writes without fieldManager

    @property
    def manager(self) -> str:
        return self.field_manager or default_manager(self.user_agent)


@dataclass
class WriteResult:
    obj: JSON
    created: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class ListOptions:
    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""
