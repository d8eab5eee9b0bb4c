"""Load the seed manifests (whole objects and the pod-spec fragments) for the api tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# shared/ sits beside the repository's clone (here and in CI)
SEED_DIR = Path(__file__).resolve().parents[3] / "shared" / "seed" / "manifests"
if not SEED_DIR.exists():
    SEED_DIR = Path("/work/shared/seed/manifests")

UID = "0c8b7c52-7e7e-4d2e-9a1e-6f5f5a0b9e01"


def seed_objects() -> list[tuple[str, dict[str, Any]]]:
    """(file name, object) for every whole object, namespaced into `default` as the server does."""
    found = []
    for path in sorted(SEED_DIR.glob("*.yaml")):
        if "fragment" in path.name:
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and "kind" in doc:
                doc.setdefault("metadata", {})["namespace"] = "default"
                doc["metadata"]["uid"] = UID
                found.append((path.name, doc))
    return found


def seed_fragments() -> list[tuple[str, dict[str, Any]]]:
    """The fragment files (a pod `spec:` each) wrapped into whole Pods."""
    found = []
    for path in sorted(SEED_DIR.glob("*fragment*.yaml")):
        fragment = yaml.safe_load(path.read_text())
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "fragment", "namespace": "default", "uid": UID},
            **fragment,
        }
        found.append((path.name, pod))
    return found


def seed_object(file_name: str, kind: str, index: int = 0) -> dict[str, Any]:
    matches = [obj for name, obj in seed_objects() if name == file_name and obj["kind"] == kind]
    return matches[index]
