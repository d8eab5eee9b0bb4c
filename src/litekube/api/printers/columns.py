"""Column definitions of server-side tables.

A column is declared once per kind as a `Column`: upstream's name, type, priority and
format, and a description. Upstream takes most descriptions from the Go types' swagger
docs; we read the same text from the installed OpenAPI definitions (through
`litekube.api.schema`) on first use, so no schema text lives in this repository. A few
descriptions are plain sentences in upstream's printer; those are given literally.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

# Definitions whose field descriptions feed the columns (short aliases keep the tables readable).
META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
CORE = "io.k8s.api.core.v1."
APPS = "io.k8s.api.apps.v1."
BATCH = "io.k8s.api.batch.v1."


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    priority: int = 0
    format: str = ""
    # Either a literal description, or a (definition, field) pair resolved against the schema.
    text: str = ""
    doc: tuple[str, str] | None = None

    def definition(self) -> dict[str, Any]:
        description = self.text if self.doc is None else field_description(*self.doc)
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": description,
            "priority": self.priority,
        }


@functools.cache
def field_description(definition: str, field: str) -> str:
    """The OpenAPI description of one field, or "" when the schema does not have it."""
    from litekube.api.schema import definitions  # imported late: loading the schema is not free

    properties = definitions().get(definition, {}).get("properties", {})
    return str(properties.get(field, {}).get("description", ""))


def name_column(priority: int = 0) -> Column:
    return Column("Name", priority=priority, format="name", doc=(META, "name"))


def age_column() -> Column:
    return Column("Age", doc=(META, "creationTimestamp"))


CONTAINERS = Column("Containers", priority=1, text="Names of each container in the template.")
IMAGES = Column("Images", priority=1, text="Images referenced by each container in the template.")


def render(columns: tuple[Column, ...]) -> list[dict[str, Any]]:
    return [column.definition() for column in columns]


def container_cells(pod_spec: dict[str, Any] | None) -> tuple[str, str]:
    """Comma-joined container names and images of a pod template (upstream's layoutContainerCells)."""
    containers = (pod_spec or {}).get("containers") or []
    names = ",".join(str(c.get("name", "")) for c in containers)
    images = ",".join(str(c.get("image", "")) for c in containers)
    return names, images


def format_labels(labels: dict[str, str] | None) -> str:
    """labels.FormatLabels: `k=v` pairs sorted by key, `<none>` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))
