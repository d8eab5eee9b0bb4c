"""Mutating admission for pods: what upstream's ServiceAccount admission plugin adds.

Every pod created through the API gets, unless `automountServiceAccountToken` is false on
the pod (or, when the pod does not say, on its ServiceAccount), a projected volume named
`kube-api-access-<5 random characters>` holding what in-cluster clients read from
/var/run/secrets/kubernetes.io/serviceaccount:

    token      a service-account token bound to the pod (expirationSeconds 3607)
    ca.crt     from the `kube-root-ca.crt` ConfigMap of the pod's namespace
    namespace  the pod's namespace (downward API)

mounted read-only at that path in every container and init container that does not
already mount something there (an existing `kube-api-access-*` volume is reused). Mirror
pods (static pods) are left alone.

Departure: upstream refuses the pod (403 "error looking up service account") while the
ServiceAccount does not exist yet; litekube admits it and mounts the token anyway, because
a pod created right after its namespace would otherwise race the ServiceAccount
controller. The kubelet's token request still fails until the account exists, which shows
up as a FailedMount event, as on a real node.
"""

from __future__ import annotations

import random
from typing import Any

JSON = dict[str, Any]

MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
TOKEN_EXPIRATION_SECONDS = 3607  # upstream: one hour plus 7 s, so tokens are recognisable as kubelet-made
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
# the alphabet of upstream's utilrand.String: no vowels (no words) and no look-alike characters
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def service_account_name(pod: JSON) -> str:
    spec = pod.get("spec") or {}
    return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")


def _automount(pod: JSON, service_account: JSON | None) -> bool:
    spec = pod.get("spec") or {}
    if spec.get("automountServiceAccountToken") is not None:
        return bool(spec["automountServiceAccountToken"])
    if service_account is not None and service_account.get("automountServiceAccountToken") is not None:
        return bool(service_account["automountServiceAccountToken"])
    return True


def api_access_volume(name: str) -> JSON:
    return {
        "name": name,
        "projected": {
            "defaultMode": 0o644,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token"}},
                {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                            }
                        ]
                    }
                },
            ],
        },
    }


def admit_pod(pod: JSON, service_account: JSON | None) -> None:
    """Add the API-access volume and its mounts to a pod being created (in place)."""
    if (pod.get("metadata") or {}).get("annotations", {}).get(MIRROR_ANNOTATION) is not None:
        return
    spec = pod.setdefault("spec", {})
    spec.setdefault("serviceAccountName", service_account_name(pod))
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    if not _automount(pod, service_account):
        return
    volumes = spec.setdefault("volumes", [])
    # as upstream: an existing kube-api-access-* volume is reused; each container that does
    # not already mount something at the path gets the mount; the volume is added if needed
    name = next((v["name"] for v in volumes if str(v.get("name", "")).startswith(VOLUME_PREFIX)), "")
    existing = bool(name)
    taken = {v.get("name") for v in volumes}
    while not name or (not existing and name in taken):
        name = VOLUME_PREFIX + "".join(random.choices(_ALPHABET, k=5))
    needed = False
    for container in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]:
        mounts = container.setdefault("volumeMounts", [])
        if not any(m.get("mountPath") == MOUNT_PATH for m in mounts):
            mounts.append({"name": name, "readOnly": True, "mountPath": MOUNT_PATH})
            needed = True
    if needed and not existing:
        volumes.append(api_access_volume(name))
    if not volumes:
        spec.pop("volumes")
