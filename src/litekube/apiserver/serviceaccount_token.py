"""The TokenRequest API and the bearer-token authenticator for service-account tokens.

Issuing (`POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token`, body an
authentication.k8s.io/v1 TokenRequest):
1. defaults: `expirationSeconds` 3600, `audiences` the API server's own (the issuer);
   validation as upstream: at least 600 s ("may not specify a duration less than 10
   minutes"), at most 2^32 s → 422;
2. the ServiceAccount must exist (404); `boundObjectRef` may name a Pod (running as that
   service account, else 400) or a Secret in the namespace (404 when missing; a uid that
   differs → 409), anything else → 400;
3. the token is a JWT signed RS256 with the service-account key (`<tls dir>/sa.key`,
   created on the first request, so a server start pays nothing for RSA); claims as
   upstream: iss, sub `system:serviceaccount:<ns>:<name>`, aud, exp, iat, nbf, jti and
   `kubernetes.io` {namespace, serviceaccount {name, uid}, pod|secret {name, uid}, node}.
   The answer is the TokenRequest with `status.token` and `status.expirationTimestamp` (201).

Authenticating (`authenticate(token)`, awaited by the auth middleware for bearer tokens the
static file does not know): the signature, issuer, an audience of ours and the time window
(60 s leeway as upstream) are checked, then the ServiceAccount (and the bound Pod or Secret)
must still exist with the same uid. Success is user `system:serviceaccount:<ns>:<name>` in
groups system:serviceaccounts, system:serviceaccounts:<ns>, system:authenticated; any
failure is None (the middleware answers 401).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import logging
import os
import time
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from litekube.api.resources import ResourceType, lookup
from litekube.apiserver import errors
from litekube.apiserver.auth import User
from litekube.apiserver.dispatch import SUBRESOURCE_HANDLERS, Answer, BodyReader, Query
from litekube.apiserver.objects import JSON
from litekube.apiserver.registry import Registry

log = logging.getLogger(__name__)

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_EXPIRATION = 3600
MIN_EXPIRATION = 600
MAX_EXPIRATION = 1 << 32
LEEWAY = 60  # seconds of clock skew tolerated on exp/nbf, as upstream's validator


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _timestamp(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(int(seconds), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SigningKey:
    """The RSA key pair in `<tls dir>/sa.key` (PKCS#8 PEM, 0600), loaded or made on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: rsa.RSAPrivateKey | None = None
        self.key_id = ""

    def _load(self) -> rsa.RSAPrivateKey | None:
        if self._key is None and self.path.exists():
            key = serialization.load_pem_private_key(self.path.read_bytes(), None)
            assert isinstance(key, rsa.RSAPrivateKey)
            self._remember(key)
        return self._key

    def _remember(self, key: rsa.RSAPrivateKey) -> None:
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        # upstream's key id: base64url(sha256(PKIX public key))
        self._key, self.key_id = key, _b64(hashlib.sha256(der).digest())

    async def private(self) -> rsa.RSAPrivateKey:
        key = self._load()
        if key is None:
            key = await asyncio.to_thread(rsa.generate_private_key, 65537, 2048)
            if self._load() is None:  # nobody else made one meanwhile
                pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                tmp = self.path.with_suffix(".tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(pem)
                os.replace(tmp, self.path)
                self._remember(key)
            key = self._key
        assert key is not None
        return key

    def public(self) -> rsa.RSAPublicKey | None:
        key = self._load()
        return key.public_key() if key is not None else None


class ServiceAccountTokens:
    def __init__(
        self,
        registry: Registry,
        tls_dir: Path,
        issuer: str = DEFAULT_ISSUER,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.key = SigningKey(tls_dir / "sa.key")
        self.issuer = issuer
        self.audiences = (issuer,)
        self.now = now

    # ------------------------------------------------------------------ issuing
    async def issue(self, namespace: str, name: str, body: JSON) -> JSON:
        spec = dict(body.get("spec") or {})
        expiration = int(spec.get("expirationSeconds") or DEFAULT_EXPIRATION)
        _validate(body, expiration)
        audiences = list(spec.get("audiences") or self.audiences)
        account = await self._get("serviceaccounts", namespace, name)
        claims_k8s: JSON = {
            "namespace": namespace,
            "serviceaccount": {"name": name, "uid": account["metadata"].get("uid", "")},
        }
        ref = spec.get("boundObjectRef")
        if ref:
            claims_k8s.update(await self._bound_claims(namespace, name, ref))
        issued = int(self.now())
        claims = {
            "aud": audiences,
            "exp": issued + expiration,
            "iat": issued,
            "iss": self.issuer,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": claims_k8s,
            "nbf": issued,
            "sub": f"system:serviceaccount:{namespace}:{name}",
        }
        token = await self._sign(claims)
        meta = dict(body.get("metadata") or {})
        meta.update({"name": name, "namespace": namespace, "creationTimestamp": _timestamp(issued)})
        return {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": meta,
            "spec": {**spec, "audiences": audiences, "expirationSeconds": expiration},
            "status": {"token": token, "expirationTimestamp": _timestamp(issued + expiration)},
        }

    async def _get(self, resource: str, namespace: str, name: str) -> JSON:
        rt = lookup("", "v1", resource)
        assert rt is not None
        return await self.registry.get(rt, namespace, name)

    async def _bound_claims(self, namespace: str, account: str, ref: JSON) -> JSON:
        kind, api_version = ref.get("kind", ""), ref.get("apiVersion") or "v1"
        if api_version != "v1" or kind not in ("Pod", "Secret"):
            group, _, version = api_version.rpartition("/")
            raise errors.bad_request(f"cannot bind token to object of type {group}/{version}, Kind={kind}")
        obj = await self._get("pods" if kind == "Pod" else "secrets", namespace, ref.get("name", ""))
        uid = obj["metadata"].get("uid", "")
        if ref.get("uid") and ref["uid"] != uid:
            raise errors.ApiException(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind} "{ref.get("name", "")}": the UID in the bound '
                f"object reference ({ref['uid']}) does not match the UID in record. The object might "
                "have been deleted and then recreated",
            )
        claims: JSON = {kind.lower(): {"name": obj["metadata"]["name"], "uid": uid}}
        if kind == "Pod":
            if (obj.get("spec") or {}).get("serviceAccountName", "default") != account:
                raise errors.bad_request(
                    f'cannot bind token for serviceaccount "{account}" to pod running with different '
                    "serviceaccount name."
                )
            node_name = (obj.get("spec") or {}).get("nodeName")
            if node_name:
                node = await self._node(node_name)
                if node is not None:
                    claims["node"] = {"name": node_name, "uid": node["metadata"].get("uid", "")}
        return claims

    async def _node(self, name: str) -> JSON | None:
        rt = lookup("", "v1", "nodes")
        assert rt is not None
        try:
            return await self.registry.get(rt, None, name)
        except errors.ApiException:
            return None

    async def _sign(self, claims: JSON) -> str:
        key = await self.key.private()
        header = {"alg": "RS256", "kid": self.key.key_id}
        signing_input = f"{_b64(orjson.dumps(header))}.{_b64(orjson.dumps(claims))}".encode()
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input.decode()}.{_b64(signature)}"

    # ------------------------------------------------------------------ authenticating
    def verified_claims(self, token: str) -> JSON | None:
        """The claims of a token we signed that is inside its time window, else None."""
        parts = token.split(".")
        public = self.key.public()
        if len(parts) != 3 or public is None:
            return None
        try:
            header = orjson.loads(_unb64(parts[0]))
            if header.get("alg") != "RS256":
                return None
            public.verify(
                _unb64(parts[2]), f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            claims = orjson.loads(_unb64(parts[1]))
        except (InvalidSignature, ValueError, orjson.JSONDecodeError):
            return None
        if not isinstance(claims, dict) or claims.get("iss") != self.issuer:
            return None
        audiences = claims.get("aud")
        audiences = [audiences] if isinstance(audiences, str) else audiences or []
        if not set(audiences) & set(self.audiences):
            return None
        now = self.now()
        if now > float(claims.get("exp", 0)) + LEEWAY or now + LEEWAY < float(claims.get("nbf", 0)):
            return None
        return claims

    async def authenticate(self, token: str) -> User | None:
        claims = self.verified_claims(token)
        if claims is None:
            return None
        private = claims.get("kubernetes.io") or {}
        namespace = private.get("namespace", "")
        account = private.get("serviceaccount") or {}
        if claims.get("sub") != f"system:serviceaccount:{namespace}:{account.get('name', '')}":
            return None
        checks = [("serviceaccounts", account)]
        checks += [
            (kind, private[key]) for key, kind in (("pod", "pods"), ("secret", "secrets")) if key in private
        ]
        for resource, ref in checks:
            try:
                obj = await self._get(resource, namespace, ref.get("name", ""))
            except errors.ApiException:
                log.debug("token for %s/%s: %s %s is gone", namespace, account, resource, ref.get("name"))
                return None
            meta = obj.get("metadata") or {}
            if meta.get("uid") != ref.get("uid") or (resource != "pods" and meta.get("deletionTimestamp")):
                return None
        return User(
            claims["sub"],
            ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
        )


def _validate(body: JSON, expiration: int) -> None:
    message = ""
    if expiration < MIN_EXPIRATION:
        message = "may not specify a duration less than 10 minutes"
    elif expiration > MAX_EXPIRATION:
        message = "may not specify a duration larger than 2^32 seconds"
    if not message:
        return
    name = (body.get("metadata") or {}).get("name", "")
    detail = f"spec.expirationSeconds: Invalid value: {expiration}: {message}"
    causes = [
        {
            "reason": "FieldValueInvalid",
            "message": f"Invalid value: {expiration}: {message}",
            "field": "spec.expirationSeconds",
        }
    ]
    raise errors.ApiException(
        422,
        "Invalid",
        f'TokenRequest.authentication.k8s.io "{name}" is invalid: {detail}',
        {"name": name, "group": "authentication.k8s.io", "kind": "TokenRequest", "causes": causes},
    )


class Addressed(Protocol):
    """What the handler needs of a parsed request path (dispatch's and rest's ResourceRequest)."""

    rt: ResourceType
    namespace: str | None
    name: str | None


# One issuer per registry (a process may run several API servers in tests).
_ISSUERS: weakref.WeakKeyDictionary[Registry, ServiceAccountTokens] = weakref.WeakKeyDictionary()


def install(registry: Registry, tls_dir: Path, issuer: str = DEFAULT_ISSUER) -> ServiceAccountTokens:
    """Serve `serviceaccounts/{name}/token` for `registry`; returns the issuer (its
    `authenticate` goes to the bearer-token authenticator)."""
    tokens = ServiceAccountTokens(registry, tls_dir, issuer)
    _ISSUERS[registry] = tokens
    SUBRESOURCE_HANDLERS["token"] = token_subresource
    return tokens


async def token_subresource(
    registry: Registry, method: str, rr: Addressed, query: Query, read_body: BodyReader, content_type: str
) -> Answer:
    """POST serviceaccounts/{name}/token (create is its only verb, as upstream)."""
    issuer = _ISSUERS.get(registry)
    if method != "POST" or issuer is None:
        raise errors.method_not_supported(rr.rt, method.lower())
    body = await read_body() or {}
    if not isinstance(body, dict):
        raise errors.bad_request("TokenRequest must be a JSON object")
    assert rr.namespace is not None and rr.name is not None
    return Answer(201, await issuer.issue(rr.namespace, rr.name, body))
