"""A pure renderer: `RoutingModel` + `RenderConfig` → the text of one nginx.conf.

Layout of the output (golden-file tested in tests/ingress/golden/):

    main context   pid, error log and worker settings, all paths under the controller's data dir
    http {
        temp paths, timeouts, TLS defaults, the headers ingress-nginx sends upstream
        upstream <namespace>-<service>-<port> { server <ready endpoint>; ... keepalive }   (round robin)
        server _ { default_server on both ports, self-signed default certificate, "/" → 404 or
                   the default backend }
        server <host> { listen http and https (SNI picks the host's certificate), locations }
    }

Path semantics, per server:
- plain mode: Exact → `location = /p`; Prefix /p → `location /p/` + `location = /p` (element-wise:
  /p and /p/x match, /px does not); ImplementationSpecific is Prefix. nginx itself picks the
  exact match first, then the longest prefix.
- regex mode, when any location of the server uses `use-regex` or a `rewrite-target` (as
  ingress-nginx decides it per server): every location becomes `~* "^..."`, written longest
  first because nginx takes the first regex that matches. Prefix paths get `(/|$)` appended
  so they stay element-wise; Exact paths get `$`.
- rewrite-target: `rewrite "(?i)<path>" <target> break;` before proxying, exactly ingress-nginx's
  directive (with `/` as the target, every request on that path reaches the backend as `/`).

Everything that comes from users is double-quoted with `\\` and `"` escaped, so no annotation
or path can end a directive early.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from litekube.ingress.annotations import LocationOptions
from litekube.ingress.certificates import DEFAULT_CERTIFICATE_NAME
from litekube.ingress.model import CATCH_ALL, Route, RoutingModel, Server, Upstream

_PROXY_HEADERS = (
    ("Host", "$best_http_host"),
    ("X-Request-ID", "$req_id"),
    ("X-Real-IP", "$remote_addr"),
    ("X-Forwarded-For", "$remote_addr"),
    ("X-Forwarded-Host", "$best_http_host"),
    ("X-Forwarded-Port", "$server_port"),
    ("X-Forwarded-Proto", "$scheme"),
    ("X-Forwarded-Scheme", "$scheme"),
    ("X-Scheme", "$scheme"),
    ("X-Original-URI", "$request_uri"),
)


@dataclass(frozen=True)
class RenderConfig:
    data_dir: Path  # the controller's own directory: nginx.conf, pid, logs, temp files, ssl/
    http_port: int = 80
    https_port: int = 443
    bind_address: str = "0.0.0.0"
    worker_processes: str = "auto"
    access_log: bool = False
    worker_shutdown_timeout: int = 240  # ingress-nginx's default: in-flight requests may finish

    @property
    def ssl_dir(self) -> Path:
        return self.data_dir / "ssl"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "nginx.pid"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _address(bind: str, port: int) -> str:
    return f"[{bind}]:{port}" if ":" in bind else f"{bind}:{port}"


def _needs_rewrite(route: Route) -> bool:
    target = route.options.rewrite_target
    return bool(target) and target != route.path


def regex_mode(server: Server) -> bool:
    return any(r.options.use_regex or _needs_rewrite(r) for r in server.routes if r.ingress)


def _server_name(host: str) -> str:
    if host.startswith("*."):
        # the Ingress spec: a wildcard covers exactly one DNS label (nginx's own `*.` covers several)
        return quote("~^[^.]+" + host[1:].replace(".", "\\.") + "$")
    return host


def _location_heads(route: Route, regex: bool, exact_paths: set[str]) -> list[str]:
    path = route.path
    if regex:
        if route.path_type == "Exact":
            pattern = f"^{path}$"
        elif route.path_type == "Prefix" and not path.endswith("/"):
            pattern = f"^{path}(/|$)"
        else:
            pattern = f"^{path}"
        return [f"~* {quote(pattern)}"]
    if route.path_type == "Exact":
        return [f"= {quote(path)}"]
    if path == "/":
        return [quote("/")]
    heads = [quote(path + "/")]
    if path not in exact_paths:  # an explicit Exact rule for the same path wins over this one
        heads.append(f"= {quote(path)}")
    return heads


def _ssl_redirect(route: Route, server: Server, config: RenderConfig) -> list[str]:
    options = route.options
    if not (options.force_ssl_redirect or (options.ssl_redirect and server.certificate is not None)):
        return []
    port = "" if config.https_port == 443 else f":{config.https_port}"
    # 308 keeps the method and body, ingress-nginx's default http-redirect-code
    return [f"if ($scheme = http) {{ return 308 https://$host{port}$request_uri; }}"]


def _timeouts(options: LocationOptions, prefix: str) -> list[str]:
    return [
        f"{prefix}_connect_timeout {options.proxy_connect_timeout}s;",
        f"{prefix}_send_timeout {options.proxy_send_timeout}s;",
        f"{prefix}_read_timeout {options.proxy_read_timeout}s;",
    ]


def _location_body(route: Route, server: Server, config: RenderConfig) -> list[str]:
    options = route.options
    lines: list[str] = []
    if route.ingress:
        lines.append(f"# {route.ingress}: {route.upstream or f'answers {route.status}'}")
    if options.allow_source_ranges is not None:
        lines += [f"allow {cidr};" for cidr in options.allow_source_ranges] + ["deny all;"]
    if options.redirect is not None:
        code, url = options.redirect
        return [*lines, f"return {code} {quote(url)};"]
    lines += _ssl_redirect(route, server, config)
    if route.upstream is None:
        return [*lines, f"return {route.status or 503};"]
    lines.append(f"client_max_body_size {options.proxy_body_size};")
    if _needs_rewrite(route):
        assert options.rewrite_target is not None
        lines.append(f"rewrite {quote('(?i)' + route.path)} {quote(options.rewrite_target)} break;")
    protocol = options.backend_protocol
    if protocol in ("GRPC", "GRPCS"):
        lines += [f"grpc_set_header {name} {value};" for name, value in _PROXY_HEADERS]
        lines += _timeouts(options, "grpc")
        lines.append(f"grpc_pass {protocol.lower()}://{route.upstream};")
    else:
        lines += _timeouts(options, "proxy")
        lines.append(f"proxy_pass {protocol.lower()}://{route.upstream};")
    return lines


def _server(server: Server, config: RenderConfig) -> list[str]:
    default = " default_server" if server.host == CATCH_ALL else ""
    cert = config.ssl_dir / (server.certificate.file_name if server.certificate else DEFAULT_CERTIFICATE_NAME)
    lines = [
        "server {",
        f"    server_name {_server_name(server.host)};",
        f"    listen {_address(config.bind_address, config.http_port)}{default};",
        f"    listen {_address(config.bind_address, config.https_port)} ssl http2{default};",
        f"    ssl_certificate {quote(str(cert))};",
        f"    ssl_certificate_key {quote(str(cert))};",
    ]
    if server.certificate is not None:
        lines.append("    add_header Strict-Transport-Security $hsts_header always;")
    regex = regex_mode(server)
    exact_paths = {r.path for r in server.routes if r.path_type == "Exact"}
    for route in server.routes:
        body = _location_body(route, server, config)
        for head in _location_heads(route, regex, exact_paths):
            lines.append("")
            lines.append(f"    location {head} {{")
            lines += [f"        {line}" for line in body]
            lines.append("    }")
    lines.append("}")
    return lines


# ingress-nginx's upstream-keepalive-* defaults. Reusing connections to the pods is the largest
# throughput lever a proxy has: a new TCP connection per request costs the handshake, a TIME_WAIT
# socket and an accept() in the backend. It needs `proxy_http_version 1.1` and an empty
# Connection header (the $connection_upgrade map), both set once in the http block. Each worker
# keeps its own idle pool: a reload starts new workers with empty pools, and the old workers close
# theirs when they exit, so an endpoint removed from the upstream stops getting requests.
UPSTREAM_KEEPALIVE = (
    "keepalive 320;",  # idle connections cached per worker (not a limit on open ones)
    "keepalive_time 1h;",  # a connection is retired after this long, however busy
    "keepalive_timeout 60s;",  # idle connections are closed after this
    "keepalive_requests 10000;",
)


def _upstream(upstream: Upstream) -> list[str]:
    lines = [f"upstream {upstream.name} {{"]
    for e in upstream.endpoints:
        # like ingress-nginx: no passive health marking, retries go to the next endpoint instead
        lines.append(f"    server {_address(e.address, e.port)} max_fails=0 fail_timeout=0;")
    lines += [f"    {directive}" for directive in UPSTREAM_KEEPALIVE]
    lines.append("}")
    return lines


def render(model: RoutingModel, config: RenderConfig) -> str:
    # Throughput choices, measured with bench/ingress_bench.py (nginx spends ~20 µs of CPU per
    # proxied request here, ~80% of it in the kernel's loopback TCP; the config can only trim the rest):
    # - keep-alive on both sides: clients (keepalive_requests 1000, ingress-nginx's default) and
    #   upstreams (UPSTREAM_KEEPALIVE); no per-request connect, accept or TIME_WAIT;
    # - no `reuseport` (ingress-nginx's default, in its own network namespace): on the host's
    #   network a second root nginx with reuseport could bind the same port and silently share
    #   its traffic, where now it fails to start; with keep-alive clients it gained nothing;
    # - worker_processes auto (one per CPU, as ingress-nginx): with one worker on 2 cores the
    #   proxy left ~13% of the CPU idle under load, with two ~7%;
    # - no worker_cpu_affinity: the workers share the node's CPUs with the pods; pinning did
    #   not help;
    # - access_log off unless asked for, then buffered (64k, flushed every second): formatting
    #   and writing a line costs ~1.4 µs per request;
    # - proxy_buffering off as in ingress-nginx (streaming responses); it made no measurable
    #   difference for small responses;
    # - no regex locations or rewrites unless an annotation asks (regex_mode), no resolver:
    #   upstreams are endpoint addresses, never names.
    tmp = config.tmp_dir
    access_log = f"access_log {quote(str(config.log_dir / 'access.log'))} combined buffer=64k flush=1s;"
    out = [
        "# Rendered by litekube's Ingress controller from the API; changes here are overwritten.",
        f"worker_processes {config.worker_processes};",
        f"pid {quote(str(config.pid_path))};",
        f"error_log {quote(str(config.log_dir / 'error.log'))} notice;",
        f"worker_shutdown_timeout {config.worker_shutdown_timeout}s;",
        "",
        "events {",
        "    worker_connections 16384;",
        "    multi_accept on;",
        "}",
        "",
        "http {",
    ]
    http = [
        f"client_body_temp_path {quote(str(tmp / 'client-body'))};",
        f"proxy_temp_path {quote(str(tmp / 'proxy'))};",
        f"fastcgi_temp_path {quote(str(tmp / 'fastcgi'))};",
        f"uwsgi_temp_path {quote(str(tmp / 'uwsgi'))};",
        f"scgi_temp_path {quote(str(tmp / 'scgi'))};",
        access_log if config.access_log else "access_log off;",
        "sendfile on;",
        "tcp_nopush on;",
        "tcp_nodelay on;",
        "keepalive_timeout 75s;",
        "keepalive_requests 1000;",
        "server_tokens off;",
        "default_type text/plain;",
        "server_names_hash_max_size 4096;",
        "server_names_hash_bucket_size 128;",
        "ssl_protocols TLSv1.2 TLSv1.3;",
        "ssl_session_cache shared:SSL:10m;",
        "ssl_session_timeout 10m;",
        "",
        'map $http_upgrade $connection_upgrade { default upgrade; "" ""; }',
        'map $http_x_request_id $req_id { default $http_x_request_id; "" $request_id; }',
        'map $http_host $best_http_host { default $http_host; "" $host; }',
        'map $scheme $hsts_header { default ""; https "max-age=31536000; includeSubDomains"; }',
        "",
        "proxy_http_version 1.1;",
        *(f"proxy_set_header {name} {value};" for name, value in _PROXY_HEADERS),
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header Upgrade $http_upgrade;",
        'proxy_set_header Proxy "";',
        "proxy_buffering off;",
        "proxy_redirect off;",
        "proxy_next_upstream error timeout;",
        "proxy_next_upstream_tries 3;",
    ]
    for upstream in model.upstreams:
        http += ["", *_upstream(upstream)]
    for server in model.servers:
        http += ["", *_server(server, config)]
    out += [f"    {line}" if line else "" for line in http]
    out.append("}")
    return "\n".join(out) + "\n"
