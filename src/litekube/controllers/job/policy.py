"""podFailurePolicy: what a failed pod means for its Job (FailJob, Ignore, Count, FailIndex).

Rules are tried in order; the first that matches decides. A rule matches on container exit
codes (`onExitCodes`: In/NotIn a set, optionally for one container name; exit code 0 never
matches) or on pod conditions (`onPodConditions`: type and status, e.g. DisruptionTarget).
No matching rule means Count, as if there were no policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from litekube.client.base import JSON


@dataclass(frozen=True)
class PolicyMatch:
    action: str  # FailJob, Ignore, Count, FailIndex
    message: str


def _terminated(pod: JSON) -> list[tuple[str, int]]:
    status = pod.get("status") or {}
    found = []
    for c in [*(status.get("initContainerStatuses") or ()), *(status.get("containerStatuses") or ())]:
        term = (c.get("state") or {}).get("terminated")
        if term is not None:
            found.append((str(c.get("name", "")), int(term.get("exitCode") or 0)))
    return found


def match_pod_failure_policy(job: JSON, pod: JSON) -> PolicyMatch | None:
    policy = (job.get("spec") or {}).get("podFailurePolicy")
    if not policy:
        return None
    meta = pod.get("metadata") or {}
    who = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
    for index, rule in enumerate(policy.get("rules") or ()):
        action = str(rule.get("action", ""))
        on_codes = rule.get("onExitCodes")
        if on_codes:
            values = {int(v) for v in on_codes.get("values") or ()}
            only = on_codes.get("containerName")
            for name, code in _terminated(pod):
                if code == 0 or (only and name != only):
                    continue
                hit = code in values if on_codes.get("operator") == "In" else code not in values
                if hit:
                    message = (
                        f"Container {name} for pod {who} failed with exit code {code} "
                        f"matching {action} rule at index {index}"
                    )
                    return PolicyMatch(action, message)
        for wanted in rule.get("onPodConditions") or ():
            for cond in (pod.get("status") or {}).get("conditions") or ():
                if cond.get("type") == wanted.get("type") and cond.get("status") == (
                    wanted.get("status") or "True"
                ):
                    message = (
                        f"Pod {who} has condition {cond['type']} matching {action} rule at index {index}"
                    )
                    return PolicyMatch(action, message)
    return None
