"""The ECS bridge: AWS ECS task/service definitions and schedules → Kubernetes manifests,
with every input field explained (`litekube ecs convert|apply|explain`).

Layout (flow order): `load` reads and recognises input files; `quirks` normalises values;
`convert` drives one conversion through `task` (pod template: `containers`, `resources`,
`probes`, `dependencies`, `volumes`, `environment`, `security`, `log_routing`, `placement`),
`workload` + `networking` (service → Deployment/DaemonSet + Services) or `schedule`
(→ CronJob); `names` sanitises names; `explain` holds the records; `render` prints;
`concepts` is the `ecs explain` table; `checks` validates our own output.
"""

from __future__ import annotations

from litekube.ecs.context import ConvertOptions
from litekube.ecs.convert import Conversion, convert
from litekube.ecs.errors import EcsInputError
from litekube.ecs.explain import Record, Severity
from litekube.ecs.load import Inputs, load_document, parse_document

__all__ = [
    "Conversion",
    "ConvertOptions",
    "EcsInputError",
    "Inputs",
    "Record",
    "Severity",
    "convert",
    "load_document",
    "parse_document",
]
