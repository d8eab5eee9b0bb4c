"""Authentication: x509 client certificates (verified by the TLS layer) and bearer tokens.

Only a few health and version paths are open to anonymous clients, as on a default
kube-apiserver, plus the two a joining node starts with (node_join.py). Joined nodes are
x509 users `system:node:<name>` in group `system:nodes`. Every authenticated user is
allowed everything (no RBAC yet).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# /cacerts and the node-credentials call are how a joining agent starts: the CA is public,
# and node_join.py checks the node token itself.
ANONYMOUS_PATHS = ("/healthz", "/livez", "/readyz", "/version", "/cacerts", "/v1-litekube/node-credentials")


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()


def is_anonymous_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in ANONYMOUS_PATHS)


def user_from_peercert(cert: dict[str, Any] | None) -> User | None:
    """ssl.getpeercert() gives subject as ((('commonName', 'x'),), (('organizationName', 'g'),))."""
    if not cert:
        return None
    cn = ""
    groups: list[str] = []
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                cn = value
            elif key == "organizationName":
                groups.append(value)
    return User(cn, tuple(groups)) if cn else None


class TokenAuthenticator:
    """Static tokens from `<data-dir>/tls/tokens.csv` (`token,user,uid,"group1,group2"` as upstream's file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tokens: dict[str, User] = {}
        self._local_sockets: set[str] = set()
        # signed-token authenticators tried after the static file (service-account tokens)
        self.verifiers: list[Callable[[str], Awaitable[User | None]]] = []

    def add_local_socket(self, path: str) -> None:
        """Requests arriving on this unix socket are the server's own components."""
        self._local_sockets.add(path)

    def local_user(self, sockname: object) -> User | None:
        if isinstance(sockname, str) and sockname in self._local_sockets:
            return User("system:litekube", ("system:masters",))
        return None

    def ensure_admin_token(self) -> str:
        if not self.path.exists():
            token = secrets.token_hex(24)
            self.path.write_text(f'{token},admin,admin,"system:masters"\n')
            self.path.chmod(0o600)
        self.load()
        for token, user in self._tokens.items():
            if user.name == "admin":
                return token
        raise RuntimeError(f"no admin token in {self.path}")

    def add(self, token: str, user: User) -> None:
        self._tokens[token] = user

    def load(self) -> None:
        self._tokens = {}
        for line in self.path.read_text().splitlines():
            parts = [p.strip().strip('"') for p in line.split(",", 3)]
            if len(parts) >= 2 and parts[0]:
                groups = tuple(g for g in (parts[3].split(",") if len(parts) > 3 else []) if g)
                self._tokens[parts[0]] = User(parts[1], groups)

    async def authenticate_bearer(self, header: str | None) -> User | None:
        """The static tokens first, then each verifier (a JWT needs async lookups)."""
        user = self.authenticate(header)
        if user is None and header and header.lower().startswith("bearer "):
            for verify in self.verifiers:
                user = await verify(header[7:].strip())
                if user is not None:
                    break
        return user

    def authenticate(self, header: str | None) -> User | None:
        if not header or not header.lower().startswith("bearer "):
            return None
        presented = header[7:].strip()
        for token, user in self._tokens.items():
            if hmac.compare_digest(token, presented):
                return user
        return None
