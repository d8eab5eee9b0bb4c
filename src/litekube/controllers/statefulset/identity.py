"""A StatefulSet pod's stable identity: name `<set>-<ordinal>`, hostname, subdomain, labels.

`new_pod(set, revision, ordinal)` builds the pod from the template stored in a
ControllerRevision (so a pod below the rollout partition keeps the old template), with:
- name and `spec.hostname` `<set>-<ordinal>`, `spec.subdomain` = `spec.serviceName`
  (the headless Service that gives `web-0.nginx.default.svc.cluster.local`);
- labels `statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index` and
  `controller-revision-hash` (the revision's name, as upstream sets it).
"""

from __future__ import annotations

import re

from litekube.api.patch import deep_copy
from litekube.client.base import JSON
from litekube.controllers.history import revision_template

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"

_ORDINAL = re.compile(r"^(.*)-(\d+)$")


def ordinal_of(set_name: str, pod: JSON) -> int | None:
    """The ordinal in `<set>-<n>`, or None when the pod is not named like one of ours."""
    match = _ORDINAL.match((pod.get("metadata") or {}).get("name", ""))
    if match is None or match.group(1) != set_name:
        return None
    return int(match.group(2))


def pod_revision(pod: JSON) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL) or "")


def new_pod(sts: JSON, revision: JSON, ordinal: int, owner_ref: JSON) -> JSON:
    template = revision_template(revision)
    template_meta = template.get("metadata") or {}
    name = f"{sts['metadata']['name']}-{ordinal}"
    labels = dict(template_meta.get("labels") or {})
    labels.update(
        {
            POD_NAME_LABEL: name,
            POD_INDEX_LABEL: str(ordinal),
            REVISION_LABEL: revision["metadata"]["name"],
        }
    )
    meta: JSON = {
        "name": name,
        "namespace": sts["metadata"].get("namespace"),
        "labels": labels,
        "ownerReferences": [owner_ref],
    }
    if template_meta.get("annotations"):
        meta["annotations"] = deep_copy(template_meta["annotations"])
    spec = deep_copy(template.get("spec") or {})
    spec["hostname"] = name
    service = (sts.get("spec") or {}).get("serviceName")
    if service:
        spec["subdomain"] = service
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def identity_patch(sts: JSON, pod: JSON, ordinal: int) -> JSON | None:
    """A merge patch restoring the identity labels if someone removed or changed them
    (hostname and subdomain are immutable on a pod, so only labels can be repaired)."""
    name = f"{sts['metadata']['name']}-{ordinal}"
    labels = (pod.get("metadata") or {}).get("labels") or {}
    wanted = {POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal)}
    missing = {k: v for k, v in wanted.items() if labels.get(k) != v}
    return {"metadata": {"labels": missing}} if missing else None
