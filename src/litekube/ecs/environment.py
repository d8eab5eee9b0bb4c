"""Environment, secrets and registry credentials (ECS-MAPPING §8).

* `environment` → `env` in order (`$(` escaped to `$$(`, since Kubernetes expands it);
* `secrets[{name, valueFrom}]` → `env[].valueFrom.secretKeyRef` plus a placeholder
  `Secret` per source (SSM parameter name or ARN, Secrets Manager ARN with an optional
  JSON key). Values are never fetched or printed: the Secret holds `REPLACE_ME` and an
  annotation saying where the real value lives;
* `environmentFiles` (S3) → a placeholder ConfigMap + `envFrom`;
* `repositoryCredentials` → `imagePullSecrets` + a placeholder dockerconfigjson Secret.
"""

from __future__ import annotations

from typing import Any

from litekube.ecs.context import ANNOTATION_PREFIX, ContainerPlan, Context
from litekube.ecs.names import config_key, dns_label
from litekube.ecs.quirks import as_dict, as_list, escape_dollar, to_str

PLACEHOLDER_VALUE = "REPLACE_ME"
PLACEHOLDER_NOTE = "placeholder: litekube never fetches secret values; put the real value here before use"


def parse_value_from(value_from: str) -> tuple[str, str, dict[str, str]]:
    """(source name, key, annotations) for an SSM name/ARN or a Secrets Manager ARN.

    `arn:aws:secretsmanager:r:a:secret:db-AbCdEf:password::` → ("db", "password", ...);
    `arn:aws:ssm:r:a:parameter/app/db` → ("app/db", "value", ...); `/app/db` → ("app/db", ...).
    """
    annotations = {f"{ANNOTATION_PREFIX}source": value_from[:1000]}
    parts = value_from.split(":")
    if value_from.startswith("arn:") and len(parts) >= 7 and parts[2] == "secretsmanager":
        name = parts[6]
        # Secrets Manager appends "-" and 6 random characters to the secret name in ARNs
        if len(name) > 7 and name[-7] == "-":
            name = name[:-7]
        key = parts[7] if len(parts) > 7 and parts[7] else "value"
        if len(parts) > 8 and parts[8]:
            annotations[f"{ANNOTATION_PREFIX}version-stage"] = parts[8]
        if len(parts) > 7 and parts[7]:
            annotations[f"{ANNOTATION_PREFIX}json-key"] = parts[7]
        return name, key, annotations
    if value_from.startswith("arn:") and len(parts) >= 6 and parts[2] == "ssm":
        return parts[5].removeprefix("parameter").lstrip("/"), "value", annotations
    return value_from.lstrip("/"), "value", annotations


def map_environment(plan: ContainerPlan, ctx: Context) -> None:
    src, scope = plan.source, plan.scope
    path = ctx.container_path(plan)
    env: list[dict[str, Any]] = []
    for index, raw in enumerate(as_list(src.get("environment"), scope.at("environment"))):
        item_scope = scope.at("environment").at(index)
        item = as_dict(raw, item_scope) or {}
        name = to_str(item.get("name"), item_scope.at("name"))
        if not name or "=" in name:
            item_scope.error("environment entry without a valid name: dropped")
            continue
        value = to_str(item.get("value"), item_scope.at("value")) if "value" in item else ""
        env.append({"name": name, "value": escape_dollar(value or "")})
        item_scope.exact(f"{path}.env[name={name}]", "name/value in order ($( escaped)")
    for index, raw in enumerate(as_list(src.get("secrets"), scope.at("secrets"))):
        item_scope = scope.at("secrets").at(index)
        item = as_dict(raw, item_scope) or {}
        name = to_str(item.get("name"), item_scope.at("name"))
        value_from = to_str(item.get("valueFrom"), item_scope.at("valueFrom"))
        if not name or "=" in name or not value_from:
            item_scope.error("secret entry without name and valueFrom: dropped")
            continue
        secret_name, key = _placeholder_secret(value_from, ctx)
        env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}})
        item_scope.approx(
            f"{path}.env[name={name}].valueFrom.secretKeyRef",
            f"→ placeholder Secret {secret_name} key {key}",
            "the value is not fetched: fill the Secret (or use External Secrets / the Secrets Store CSI driver)",
        )
    if env:
        plan.spec["env"] = env
    env_from: list[dict[str, Any]] = []
    for index, raw in enumerate(as_list(src.get("environmentFiles"), scope.at("environmentFiles"))):
        item_scope = scope.at("environmentFiles").at(index)
        item = as_dict(raw, item_scope) or {}
        location = to_str(item.get("value"), item_scope.at("value")) or ""
        config_name = dns_label(f"{ctx.name}-{plan.name}-env-{index}", 253)
        meta = ctx.metadata(
            config_name,
            {f"{ANNOTATION_PREFIX}source": location[:1000], f"{ANNOTATION_PREFIX}note": PLACEHOLDER_NOTE},
        )
        ctx.add_object({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {}})
        env_from.append({"configMapRef": {"name": config_name}})
        item_scope.approx(
            f"{path}.envFrom[configMapRef={config_name}]",
            "S3 environment file → placeholder ConfigMap + envFrom",
            "the file lives in S3 and is not read: copy its variables into the ConfigMap",
        )
    if env_from:
        plan.spec["envFrom"] = env_from
    if "repositoryCredentials" in src:
        _map_repository_credentials(plan, ctx)


def _placeholder_secret(value_from: str, ctx: Context) -> tuple[str, str]:
    source, key, annotations = parse_value_from(value_from)
    secret_name = dns_label(source, 253, fallback="secret")
    key = config_key(key)
    for obj in ctx.objects:
        if obj["kind"] == "Secret" and obj["metadata"]["name"] == secret_name:
            obj.setdefault("stringData", {}).setdefault(key, PLACEHOLDER_VALUE)
            return secret_name, key
    meta = ctx.metadata(secret_name, {**annotations, f"{ANNOTATION_PREFIX}note": PLACEHOLDER_NOTE})
    ctx.add_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta,
            "type": "Opaque",
            "stringData": {key: PLACEHOLDER_VALUE},
        }
    )
    return secret_name, key


def _map_repository_credentials(plan: ContainerPlan, ctx: Context) -> None:
    scope = plan.scope.at("repositoryCredentials")
    creds = as_dict(plan.source["repositoryCredentials"], scope) or {}
    parameter = to_str(creds.get("credentialsParameter"), scope.at("credentialsParameter"))
    if not parameter:
        return
    source, _, annotations = parse_value_from(parameter)
    secret_name = dns_label(f"{source}-pull", 253, fallback="registry-pull")
    meta = ctx.metadata(secret_name, {**annotations, f"{ANNOTATION_PREFIX}note": PLACEHOLDER_NOTE})
    ctx.add_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta,
            "type": "kubernetes.io/dockerconfigjson",
            # valid but empty: the API server checks that this key holds JSON
            "stringData": {".dockerconfigjson": '{"auths": {}}'},
        }
    )
    pulls = ctx.pod.setdefault("imagePullSecrets", [])
    if {"name": secret_name} not in pulls:
        pulls.append({"name": secret_name})
    scope.approx(
        f"{ctx.pod_path()}.imagePullSecrets[name={secret_name}]",
        "→ placeholder dockerconfigjson Secret",
        "the credentials are not fetched: fill the Secret",
    )
