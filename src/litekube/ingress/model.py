"""The routing model: Ingress, IngressClass, Service, EndpointSlice and Secret objects → what nginx serves.

`build_model(...)` is pure (dicts in, frozen dataclasses out), so it is tested without nginx:

    ingresses ─► ours? (ingressClassName / legacy annotation / default class)
              ─► oldest first (ingress-nginx: on a conflict the oldest Ingress wins)
              ─► per Ingress: annotations → LocationOptions (+ problems)
                              spec.tls    → host → Certificate (Secret checked; missing → problem,
                                            the host keeps the default certificate, as upstream)
                              rules       → host → Route(path, type, upstream | status 503)
                              defaultBackend → "/" of its hosts that lack one, or of the catch-all
    ─► servers (catch-all "_" first, then hosts sorted), upstreams (ready endpoints only), problems

A backend is resolved as ingress-nginx does: Service port by number or name → that port's name
→ the port of the same name in the Service's EndpointSlices → one upstream server per ready
endpoint address, so nginx spreads traffic over pods itself and never sees unready ones. A
missing Service or port makes only that route answer 503 (with a problem the controller turns
into a Warning Event); a Service without ready endpoints answers 503 too, without an Event
(it is routine during a rollout).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from litekube.ingress.annotations import LocationOptions, parse_annotations
from litekube.ingress.certificates import Certificate, CertificateError, certificate_from_secret

JSON = dict[str, Any]

CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
CATCH_ALL = "_"
PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")


@dataclass(frozen=True)
class Endpoint:
    address: str
    port: int


@dataclass(frozen=True)
class Upstream:
    name: str  # "<namespace>-<service>-<port>", ingress-nginx's naming
    endpoints: tuple[Endpoint, ...]


@dataclass(frozen=True)
class Route:
    path: str
    path_type: str  # Exact | Prefix | ImplementationSpecific
    upstream: str | None  # None: answer `status` instead of proxying
    ingress: str  # "namespace/name" of the Ingress that defined it
    options: LocationOptions = field(default_factory=LocationOptions)
    status: int = 0  # 503 for a bad reference or no ready endpoint, 404 for "nothing here"


@dataclass(frozen=True)
class Server:
    host: str  # exact name, "*.example.com", or "_" (catch-all / default server)
    routes: tuple[Route, ...]
    certificate: Certificate | None = None


@dataclass(frozen=True)
class Problem:
    ingress: str  # "namespace/name"
    reason: str
    message: str


@dataclass(frozen=True)
class RoutingModel:
    servers: tuple[Server, ...]
    upstreams: tuple[Upstream, ...]
    problems: tuple[Problem, ...] = ()
    ingresses: tuple[str, ...] = ()  # the Ingresses we serve, "namespace/name"

    @property
    def certificates(self) -> tuple[Certificate, ...]:
        seen: dict[str, Certificate] = {}
        for server in self.servers:
            if server.certificate is not None:
                seen.setdefault(server.certificate.file_name, server.certificate)
        return tuple(seen.values())


def _meta(obj: JSON) -> JSON:
    return obj.get("metadata") or {}


def _key(obj: JSON) -> str:
    meta = _meta(obj)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def is_ours(ingress: JSON, classes: Iterable[JSON], class_name: str, controller: str) -> bool:
    """Whether this Ingress belongs to our class, as ingress-nginx decides it."""
    by_name = {_meta(c).get("name"): c for c in classes}
    wanted = (ingress.get("spec") or {}).get("ingressClassName")
    if wanted:
        ingress_class = by_name.get(wanted)
        if ingress_class is None:  # our class not created yet (or deleted): still ours by name
            return bool(wanted == class_name)
        return bool((ingress_class.get("spec") or {}).get("controller") == controller)
    legacy = (_meta(ingress).get("annotations") or {}).get(CLASS_ANNOTATION)
    if legacy is not None:
        return bool(legacy == class_name)
    return any(
        (_meta(c).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"
        and (c.get("spec") or {}).get("controller") == controller
        for c in by_name.values()
    )


def _is_ready(endpoint: JSON) -> bool:
    # EndpointSlice semantics: a missing `ready` means ready; terminating endpoints are not ready
    conditions = endpoint.get("conditions") or {}
    return conditions.get("ready") is not False and conditions.get("terminating") is not True


def _sort_endpoint(e: Endpoint) -> tuple[int, int, str, int]:
    try:
        ip = ipaddress.ip_address(e.address)
        return (ip.version, int(ip), "", e.port)
    except ValueError:
        return (9, 0, e.address, e.port)


class _Resolver:
    """Backends → upstreams, over indexed Services and EndpointSlices."""

    def __init__(self, services: Iterable[JSON], slices: Iterable[JSON]) -> None:
        self.services = {_key(s): s for s in services}
        self.slices: dict[str, list[JSON]] = {}
        for s in slices:
            owner = (_meta(s).get("labels") or {}).get(SERVICE_NAME_LABEL)
            if owner:
                self.slices.setdefault(f"{_meta(s).get('namespace', '')}/{owner}", []).append(s)
        self.upstreams: dict[str, Upstream] = {}

    def resolve(self, namespace: str, backend: JSON) -> tuple[str | None, int, str, str]:
        """(upstream name or None, status when None, problem reason, problem message)."""
        service_ref = backend.get("service")
        if not service_ref:
            return None, 503, "UnsupportedBackend", "only service backends are supported"
        name = str(service_ref.get("name", ""))
        port_ref = service_ref.get("port") or {}
        key = f"{namespace}/{name}"
        service = self.services.get(key)
        if service is None:
            return None, 503, "ServiceNotFound", f'service "{key}" not found'
        spec = service.get("spec") or {}
        if spec.get("type") == "ExternalName":
            return None, 503, "UnsupportedBackend", f'service "{key}" is of type ExternalName'
        wanted = port_ref.get("number") if port_ref.get("number") is not None else port_ref.get("name")
        port = next(
            (
                p
                for p in spec.get("ports") or []
                if (p.get("port") == wanted if isinstance(wanted, int) else p.get("name") == wanted)
            ),
            None,
        )
        if port is None:
            return None, 503, "ServicePortNotFound", f'service "{key}" has no port {wanted}'
        upstream_name = f"{namespace}-{name}-{wanted}"
        if upstream_name not in self.upstreams:
            self.upstreams[upstream_name] = Upstream(
                upstream_name, self._endpoints(key, port.get("name") or "")
            )
        if not self.upstreams[upstream_name].endpoints:
            return None, 503, "", ""
        return upstream_name, 0, "", ""

    def _endpoints(self, service_key: str, port_name: str) -> tuple[Endpoint, ...]:
        found: set[Endpoint] = set()
        for eps in self.slices.get(service_key, ()):
            port = next((p for p in eps.get("ports") or [] if (p.get("name") or "") == port_name), None)
            if port is None or port.get("port") is None:
                continue
            for endpoint in eps.get("endpoints") or []:
                addresses = endpoint.get("addresses") or []
                if addresses and _is_ready(endpoint):
                    found.add(Endpoint(str(addresses[0]), int(port["port"])))
        return tuple(sorted(found, key=_sort_endpoint))


def _normalize(path: str, path_type: str, options: LocationOptions) -> tuple[str, str]:
    """The (path, type) used for de-duplication: a trailing slash is insignificant for Prefix."""
    if path_type == "ImplementationSpecific" and not (options.use_regex or options.rewrite_target):
        path_type = "Prefix"  # treated as Prefix unless the Ingress asks for regular expressions
    if path_type == "Prefix" and len(path) > 1:
        path = path.rstrip("/") or "/"
    return path, path_type


def _route_order(route: Route) -> tuple[int, str, int]:
    # longest path first; for one path, Exact before Prefix before ImplementationSpecific
    return (-len(route.path), route.path, PATH_TYPES.index(route.path_type))


def _creation_order(ingress: JSON) -> tuple[str, str]:
    return (str(_meta(ingress).get("creationTimestamp") or ""), _key(ingress))


class _Builder:
    """Accumulates routes, certificates and problems over the Ingresses, oldest first."""

    def __init__(self, resolver: _Resolver, secrets: dict[str, JSON]) -> None:
        self.resolver = resolver
        self.secrets = secrets
        self.routes: dict[str, dict[tuple[str, str], Route]] = {}
        self.certificates: dict[str, Certificate] = {}
        self.problems: list[Problem] = []

    def add_ingress(self, ingress: JSON) -> None:
        key = _key(ingress)
        namespace = str(_meta(ingress).get("namespace", ""))
        spec = ingress.get("spec") or {}
        options, annotation_problems = parse_annotations(_meta(ingress).get("annotations") or {})
        self.problems.extend(Problem(key, p.reason, p.message) for p in annotation_problems)
        for tls in spec.get("tls") or []:
            self._add_tls(key, namespace, tls)
        hosts: list[str] = []
        for rule in spec.get("rules") or []:
            host = str(rule.get("host") or CATCH_ALL)
            hosts.append(host)
            self.routes.setdefault(host, {})
            for item in (rule.get("http") or {}).get("paths") or []:
                path = str(item.get("path") or "/")
                path_type = str(item.get("pathType") or "ImplementationSpecific")
                if path_type not in PATH_TYPES or not path.startswith("/") or any(ord(c) < 32 for c in path):
                    self.problems.append(
                        Problem(key, "InvalidPath", f"path {path!r} ({path_type}) is not valid")
                    )
                    continue
                self._add_route(key, namespace, options, host, path, path_type, item.get("backend") or {})
        default_backend = spec.get("defaultBackend")
        if default_backend:
            for host in dict.fromkeys(hosts or [CATCH_ALL]):
                if ("/", "Prefix") not in self.routes.get(host, {}):
                    self._add_route(key, namespace, options, host, "/", "Prefix", default_backend)

    def _add_tls(self, key: str, namespace: str, tls: JSON) -> None:
        secret_name = tls.get("secretName")
        if not secret_name:
            return  # no secret: these hosts keep the default certificate
        secret = self.secrets.get(f"{namespace}/{secret_name}")
        if secret is None:
            self.problems.append(
                Problem(key, "SecretNotFound", f'secret "{namespace}/{secret_name}" not found')
            )
            return
        try:
            cert = certificate_from_secret(secret)
        except CertificateError as e:
            self.problems.append(Problem(key, "InvalidSecret", str(e)))
            return
        for host in tls.get("hosts") or []:
            self.certificates.setdefault(str(host), cert)

    def _add_route(
        self,
        key: str,
        namespace: str,
        options: LocationOptions,
        host: str,
        path: str,
        path_type: str,
        backend: JSON,
    ) -> None:
        upstream, status, reason, message = self.resolver.resolve(namespace, backend)
        if reason:
            self.problems.append(Problem(key, reason, message))
        normalized = _normalize(path, path_type, options)
        server = self.routes.setdefault(host, {})
        if normalized in server:
            previous = server[normalized].ingress
            if previous != key:
                self.problems.append(
                    Problem(
                        key, "DuplicatePath", f"{host}{path} ({path_type}) is already served by {previous}"
                    )
                )
            return
        server[normalized] = Route(*normalized, upstream, key, options, status)

    def servers(self) -> tuple[Server, ...]:
        # every server needs a `location /`: without one nginx would serve files from its own root
        not_found = Route("/", "Prefix", None, "", LocationOptions(), 404)
        catch_all = self.routes.pop(CATCH_ALL, {})
        catch_all.setdefault(("/", "Prefix"), not_found)
        servers = [Server(CATCH_ALL, tuple(sorted(catch_all.values(), key=_route_order)))]
        for host in sorted(self.routes):
            routes = self.routes[host]
            routes.setdefault(("/", "Prefix"), not_found)
            ordered = tuple(sorted(routes.values(), key=_route_order))
            servers.append(Server(host, ordered, self.certificates.get(host)))
        return tuple(servers)


def build_model(
    ingresses: Iterable[JSON],
    classes: Iterable[JSON],
    services: Iterable[JSON],
    slices: Iterable[JSON],
    secrets: Iterable[JSON],
    class_name: str = "nginx",
    controller: str = "k8s.io/ingress-nginx",
) -> RoutingModel:
    class_list = list(classes)
    ours = sorted(
        (i for i in ingresses if is_ours(i, class_list, class_name, controller)), key=_creation_order
    )
    resolver = _Resolver(services, slices)
    builder = _Builder(resolver, {_key(s): s for s in secrets})
    for ingress in ours:
        builder.add_ingress(ingress)
    servers = builder.servers()
    used = {r.upstream for s in servers for r in s.routes if r.upstream}
    upstreams = tuple(u for name, u in sorted(resolver.upstreams.items()) if name in used)
    problems = tuple(dict.fromkeys(builder.problems))
    return RoutingModel(servers, upstreams, problems, tuple(_key(i) for i in ours))
