"""ControllerRevision history shared by the DaemonSet and StatefulSet controllers (upstream
`pkg/controller/history`): see revisions.py."""

from litekube.controllers.history.revisions import (
    CONTROLLER_REVISIONS,
    HASH_LABEL,
    RevisionCollision,
    create_revision,
    data_equal,
    max_revision,
    new_revision,
    renumber,
    revision_hash,
    revision_name,
    revision_template,
    sorted_revisions,
    template_patch,
    truncate_history,
)

__all__ = [
    "CONTROLLER_REVISIONS",
    "HASH_LABEL",
    "RevisionCollision",
    "create_revision",
    "data_equal",
    "max_revision",
    "new_revision",
    "renumber",
    "revision_hash",
    "revision_name",
    "revision_template",
    "sorted_revisions",
    "template_patch",
    "truncate_history",
]
