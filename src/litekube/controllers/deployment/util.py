"""Pure Deployment arithmetic and annotations (upstream's util/deployment_util.go).

No I/O here: every function takes plain dicts and returns numbers, names or booleans, so
each rule can be read and tested on its own. Worked examples sit next to the arithmetic.
"""

from __future__ import annotations

import math
from datetime import datetime

import orjson

from litekube.api.patch import deep_copy
from litekube.client.base import JSON
from litekube.machinery.clock import parse_time, rfc3339

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
CHANGE_CAUSE = "kubernetes.io/change-cause"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
POD_TEMPLATE_HASH = "pod-template-hash"
# annotations a Deployment does not hand down to its ReplicaSets
SKIP_COPY = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO})
MAX_REVISION_HISTORY_CHARS = 2000
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery rand.SafeEncodeString
MAX_INT32 = 2**31 - 1

# condition reasons and types, as upstream spells them
AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
FAILED_RS_CREATE = "ReplicaSetCreateError"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"


# --- spec accessors with upstream defaults ----------------------------------------------


def replicas_of(obj: JSON) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def status_int(obj: JSON, field: str) -> int:
    return int((obj.get("status") or {}).get(field) or 0)


def strategy_type(d: JSON) -> str:
    return str(((d.get("spec") or {}).get("strategy") or {}).get("type") or "RollingUpdate")


def is_rolling(d: JSON) -> bool:
    return strategy_type(d) == "RollingUpdate"


def progress_deadline(d: JSON) -> int | None:
    """progressDeadlineSeconds (default 600), or None when there is no deadline (MaxInt32)."""
    value = (d.get("spec") or {}).get("progressDeadlineSeconds")
    seconds = 600 if value is None else int(value)
    return None if seconds == MAX_INT32 else seconds


def revision_history_limit(d: JSON) -> int | None:
    value = (d.get("spec") or {}).get("revisionHistoryLimit")
    return 10 if value is None else int(value)


def annotations_of(obj: JSON) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def revision_of(obj: JSON) -> int:
    """The revision annotation as a number; missing or malformed counts as 0."""
    try:
        return int(annotations_of(obj).get(REVISION, "0"))
    except ValueError:
        return 0


# --- maxSurge / maxUnavailable -----------------------------------------------------------


def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent.

    Example with total 10: "25%" rounds up to 3 (surge) or down to 2 (unavailable); 4 is 4.
    """
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        return int(text)
    percent = int(text[:-1])
    exact = percent * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def resolve_fenceposts(
    max_surge: int | str | None, max_unavailable: int | str | None, desired: int
) -> tuple[int, int]:
    """(surge, unavailable) for `desired` replicas: surge rounds up, unavailable rounds down.

    Example: desired 3, 25%/25% → surge ceil(0.75) = 1, unavailable floor(0.75) = 0.
    Example: maxSurge 0 and maxUnavailable 10% of 3 → 0 and floor(0.3) = 0; with neither a
    rollout could never make progress, so unavailable becomes 1.
    """
    surge = scaled_value(max_surge if max_surge is not None else 0, desired, True)
    unavailable = scaled_value(max_unavailable if max_unavailable is not None else 0, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling_params(d: JSON) -> tuple[int | str, int | str]:
    rolling = (((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate")) or {}
    return rolling.get("maxSurge", "25%"), rolling.get("maxUnavailable", "25%")


def max_surge(d: JSON) -> int:
    if not is_rolling(d):
        return 0
    surge, _ = resolve_fenceposts(*_rolling_params(d), replicas_of(d))
    return surge


def max_unavailable(d: JSON) -> int:
    """Never more than the replicas themselves. Example: 1 replica, maxUnavailable 25% → 0,
    surge 1 (ceil 0.25): the rollout adds one new pod before removing the old one."""
    replicas = replicas_of(d)
    if not is_rolling(d) or replicas == 0:
        return 0
    _, unavailable = resolve_fenceposts(*_rolling_params(d), replicas)
    return min(unavailable, replicas)


# --- replica counts over sets of ReplicaSets ---------------------------------------------


def spec_replicas(rss: list[JSON]) -> int:
    return sum(replicas_of(rs) for rs in rss)


def actual_replicas(rss: list[JSON]) -> int:
    return sum(status_int(rs, "replicas") for rs in rss)


def ready_replicas(rss: list[JSON]) -> int:
    return sum(status_int(rs, "readyReplicas") for rs in rss)


def available_replicas(rss: list[JSON]) -> int:
    return sum(status_int(rs, "availableReplicas") for rs in rss)


def active(rss: list[JSON | None]) -> list[JSON]:
    """ReplicaSets with spec.replicas > 0 (FilterActiveReplicaSets)."""
    return [rs for rs in rss if rs is not None and replicas_of(rs) > 0]


def new_rs_new_replicas(d: JSON, all_rss: list[JSON], new_rs: JSON) -> int:
    """How big the new ReplicaSet may be now (NewRSNewReplicas).

    RollingUpdate example: replicas 10, maxSurge 3, old RS at 8, new RS at 2 → total 10,
    room to 13: scale up by min(13 - 10, 10 - 2) = 3 → new RS 5. Recreate: all at once.
    """
    desired = replicas_of(d)
    if not is_rolling(d):
        return desired
    current_total = spec_replicas(all_rss)
    max_total = desired + max_surge(d)
    if current_total >= max_total:
        return replicas_of(new_rs)
    scale_up = min(max_total - current_total, desired - replicas_of(new_rs))
    return replicas_of(new_rs) + scale_up


def max_scaled_down(d: JSON, all_rss: list[JSON], new_rs: JSON) -> int:
    """How many old pods may go now (reconcileOldReplicaSets).

    Example: replicas 10, maxUnavailable 2 → minAvailable 8. Old RS 8 + new RS 5 = 13 pods,
    the new RS has 2 unavailable → 13 - 8 - 2 = 3 old replicas can be scaled down.
    """
    min_available = replicas_of(d) - max_unavailable(d)
    new_unavailable = replicas_of(new_rs) - status_int(new_rs, "availableReplicas")
    return spec_replicas(all_rss) - min_available - new_unavailable


def replica_set_proportion(rs: JSON, d: JSON, to_add: int, added: int) -> int:
    """This RS's share of a scale change during a rollout (GetReplicaSetProportion).

    Example: a deployment at 10 (maxSurge 3, so max 13) is scaled to 20 (max 23) while
    RS A has 7 and RS B 6: A's fraction is round(7 * 23 / 13) - 7 = 12 - 7 = 5,
    B's is round(6 * 23 / 13) - 6 = 11 - 6 = 5; to_add = 23 - 13 = 10 → A +5, B +5.
    """
    if replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _replica_set_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _replica_set_fraction(rs: JSON, d: JSON) -> int:
    if replicas_of(d) == 0:
        return -replicas_of(rs)
    deployment_max = replicas_of(d) + max_surge(d)
    try:
        before = int(annotations_of(rs).get(MAX_REPLICAS, ""))
    except ValueError:
        before = 0
    if before == 0:
        before = status_int(d, "replicas")  # fall back to the deployment's current size
    if before == 0:
        return 0
    size = replicas_of(rs) * deployment_max / before
    return _round_half_away(size) - replicas_of(rs)


def _round_half_away(value: float) -> int:
    """Go's math.Round: halves round away from zero (Python's round() would go to even)."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def is_saturated(d: JSON, rs: JSON | None) -> bool:
    """The RS has all desired replicas, all available, and was sized for this replica count."""
    if rs is None:
        return False
    try:
        desired = int(annotations_of(rs).get(DESIRED_REPLICAS, ""))
    except ValueError:
        return False
    wanted = replicas_of(d)
    return replicas_of(rs) == wanted and desired == wanted and status_int(rs, "availableReplicas") == wanted


def deployment_complete(d: JSON, status: JSON) -> bool:
    wanted = replicas_of(d)
    return (
        int(status.get("updatedReplicas") or 0) == wanted
        and int(status.get("replicas") or 0) == wanted
        and int(status.get("availableReplicas") or 0) == wanted
        and int(status.get("observedGeneration") or 0) >= int(d["metadata"].get("generation") or 0)
    )


def deployment_progressing(d: JSON, new_status: JSON) -> bool:
    """Any sign of progress since the last recorded status."""
    old = d.get("status") or {}

    def n(s: JSON, k: str) -> int:
        return int(s.get(k) or 0)

    old_old = n(old, "replicas") - n(old, "updatedReplicas")
    new_old = n(new_status, "replicas") - n(new_status, "updatedReplicas")
    return (
        n(new_status, "updatedReplicas") > n(old, "updatedReplicas")
        or new_old < old_old
        or n(new_status, "readyReplicas") > n(old, "readyReplicas")
        or n(new_status, "availableReplicas") > n(old, "availableReplicas")
    )


def deployment_timed_out(d: JSON, new_status: JSON, now: datetime) -> bool:
    """No progress for progressDeadlineSeconds since the Progressing condition's lastUpdateTime."""
    deadline = progress_deadline(d)
    if deadline is None:
        return False
    cond = get_condition(new_status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    return since is not None and since.timestamp() + deadline < now.timestamp()


# --- conditions ------------------------------------------------------------------------


def new_condition(type_: str, status: str, reason: str, message: str, now: datetime) -> JSON:
    stamp = rfc3339(now)
    return {
        "type": type_,
        "status": status,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def get_condition(status: JSON, type_: str) -> JSON | None:
    for cond in status.get("conditions") or ():
        if cond.get("type") == type_:
            return dict(cond)
    return None


def set_condition(status: JSON, condition: JSON) -> None:
    """Same status and reason: keep the old one. Same status: keep lastTransitionTime."""
    current = get_condition(status, condition["type"])
    if (
        current is not None
        and current.get("status") == condition["status"]
        and current.get("reason") == condition["reason"]
    ):
        return
    if current is not None and current.get("status") == condition["status"]:
        condition = {**condition, "lastTransitionTime": current.get("lastTransitionTime")}
    status["conditions"] = [
        c for c in status.get("conditions") or [] if c.get("type") != condition["type"]
    ] + [condition]


def remove_condition(status: JSON, type_: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != type_]


# --- templates, hashes and revisions ----------------------------------------------------


def safe_encode(text: str) -> str:
    """rand.SafeEncodeString: each byte picks a letter from an alphabet without vowels,
    so generated names never spell words. "1234" → bytes 49..52 → indexes 22..25 → "5678"."""
    return "".join(SAFE_ALPHABET[b % len(SAFE_ALPHABET)] for b in text.encode())


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def compute_hash(template: JSON, collision_count: int | None) -> str:
    """pod-template-hash: FNV-32a of the template (canonical JSON, sorted keys, plus the
    collision count as 8 little-endian bytes when set), printed in decimal and safe-encoded.
    Upstream hashes a Go dump of the struct instead; any stable short string serves kubectl."""
    data = orjson.dumps(_normalize(template), option=orjson.OPT_SORT_KEYS)
    if collision_count is not None:
        data += (collision_count & 0xFFFFFFFF).to_bytes(4, "little") + b"\0\0\0\0"
    return safe_encode(str(fnv32a(data)))


def _normalize(value: object) -> object:
    """Drop nulls and empty maps/lists: Go's semantic equality treats them as unset."""
    if isinstance(value, dict):
        out = {k: _normalize(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


def template_without_hash(template: JSON | None) -> object:
    t = deep_copy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    return _normalize(t)


def equal_ignore_hash(a: JSON | None, b: JSON | None) -> bool:
    """Templates equal apart from the pod-template-hash label (EqualIgnoreHash)."""
    return template_without_hash(a) == template_without_hash(b)


def by_creation(rss: list[JSON]) -> list[JSON]:
    """Oldest first; ties by name (ReplicaSetsByCreationTimestamp)."""
    return sorted(rss, key=lambda rs: (rs["metadata"].get("creationTimestamp") or "", rs["metadata"]["name"]))


def find_new_rs(d: JSON, rss: list[JSON]) -> JSON | None:
    """The oldest RS whose template equals the deployment's (there may be duplicates)."""
    template = (d.get("spec") or {}).get("template")
    for rs in by_creation(rss):
        if equal_ignore_hash((rs.get("spec") or {}).get("template"), template):
            return rs
    return None


def find_old_rss(d: JSON, rss: list[JSON], new_rs: JSON | None) -> list[JSON]:
    new_uid = new_rs["metadata"]["uid"] if new_rs else None
    return [rs for rs in rss if rs["metadata"]["uid"] != new_uid]


def find_active_or_latest(new_rs: JSON | None, old_rss: list[JSON]) -> JSON | None:
    """The only active RS; the newest one when none is active; None when several are."""
    if new_rs is None and not old_rss:
        return None
    newest_first = list(reversed(by_creation(old_rss)))
    live = active([*newest_first, new_rs])
    if not live:
        return new_rs if new_rs is not None else newest_first[0]
    return live[0] if len(live) == 1 else None


def set_replicas_annotations(rs: JSON, desired: int, max_total: int) -> bool:
    ann = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(max_total))):
        if ann.get(key) != value:
            ann[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: JSON, desired: int, max_total: int) -> bool:
    ann = annotations_of(rs)
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(max_total)


def copy_annotations_to_rs(d: JSON, rs: JSON) -> bool:
    """Hand the deployment's annotations (e.g. change-cause) down, except SKIP_COPY ones."""
    ann = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for key, value in annotations_of(d).items():
        if key in SKIP_COPY or ann.get(key) == value:
            continue
        ann[key] = value
        changed = True
    return changed


def set_new_rs_annotations(d: JSON, rs: JSON, new_revision: int, exists: bool) -> bool:
    """Copy annotations, raise the revision, keep revision-history on a rollback.

    Example (rollback): RS at revision 1 becomes the new RS while the max old revision is 2
    → revision 3, and revision-history "1" (then "1,3" the next time, trimmed from the front
    to stay within 2000 characters).
    """
    changed = copy_annotations_to_rs(d, rs)
    ann = rs["metadata"]["annotations"]
    old_text = ann.get(REVISION)
    try:
        old_revision = int(old_text) if old_text is not None else 0
    except ValueError:
        return changed
    if old_revision < new_revision:
        ann[REVISION] = str(new_revision)
        changed = True
        if old_text is not None:
            history = ann.get(REVISION_HISTORY, "")
            if not history:
                ann[REVISION_HISTORY] = old_text
            else:
                parts = history.split(",")
                total = len(history) + len(old_text) + 1
                start = 0
                while total > MAX_REVISION_HISTORY_CHARS and start < len(parts):
                    total -= len(parts[start]) + 1
                    start += 1
                if total <= MAX_REVISION_HISTORY_CHARS:
                    ann[REVISION_HISTORY] = ",".join([*parts[start:], old_text])
    if not exists and set_replicas_annotations(rs, replicas_of(d), replicas_of(d) + max_surge(d)):
        changed = True
    return changed
