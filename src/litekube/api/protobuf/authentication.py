"""Message descriptors for authentication.k8s.io/v1 TokenRequest (`kubectl create token`).

Field numbers are the upstream `k8s.io/api/authentication/v1` protobuf tags; the text form is explained in
`schema.py`.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "TokenRequest": "1 metadata ObjectMeta; 2 spec TokenRequestSpec; 3 status TokenRequestStatus",
    # Go: `Audiences []string json:"audiences"` (no omitempty); an empty list is dropped like all lists.
    "TokenRequestSpec": "1 audiences string[]; 4 expirationSeconds int64?; 3 boundObjectRef BoundObjectReference",
    "BoundObjectReference": "1 kind string; 2 apiVersion string; 3 name string; 4 uid string",
    "TokenRequestStatus": "1 token string!; 2 expirationTimestamp Time!",
}
