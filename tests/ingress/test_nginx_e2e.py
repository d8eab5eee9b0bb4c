"""End to end: the real apiserver, the controller, a real nginx and echo backends on 127.0.0.1.

The backends stand in for the seed's web-app-service and api-service pods: they answer with
their name, the path they received and the Host header.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable

from litekube.api.resources import lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.ingress.controller import ENDPOINT_SLICES, INGRESS_CLASSES, INGRESSES, SECRETS, SERVICES
from tests.ingress import objects
from tests.ingress.conftest import Env
from tests.ingress.http import Response, echo_backend, get

EVENTS = lookup("", "v1", "events")
assert EVENTS is not None


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if await check():
                return
        except (TimeoutError, OSError, ValueError, IndexError):
            pass
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


async def serves(env: Env, path: str, expected: str, host: str = "myapp.example.com") -> None:
    """`path` answers `expected`, and the controller is idle: no old nginx worker is left that
    still accepts connections with the previous configuration (nginx overlaps them ~100 ms)."""

    async def check() -> bool:
        return env.controller.idle and (await get(env.http_port, path, host)).body == expected

    await eventually(check)


async def apply_seed_backends(env: Env) -> None:
    for obj in objects.seed_backends(["127.0.0.1"], ["127.0.0.1"], env.web_port, env.api_port):
        rt = SERVICES if obj["kind"] == "Service" else ENDPOINT_SLICES
        await env.client.create(rt, obj)


async def test_seed_08_routes_host_and_paths_with_rewrite(env: Env) -> None:
    client = env.client
    ingress_class = await client.get(INGRESS_CLASSES, "nginx")
    assert ingress_class["spec"]["controller"] == "k8s.io/ingress-nginx"
    assert ingress_class["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"
    await apply_seed_backends(env)
    await client.create(INGRESSES, objects.seed_ingress("08"))
    port = env.http_port
    await serves(env, "/", "web-app / myapp.example.com")
    # rewrite-target "/" on the "/" path is the path itself: no rewrite (ingress-nginx's rule)
    assert (await get(port, "/index.html")).body == "web-app /index.html myapp.example.com"
    # on /api the whole URI becomes "/", as ingress-nginx's `rewrite "(?i)/api" / break;` does
    assert (await get(port, "/api")).body == "api / myapp.example.com"
    # the query string is kept (nginx appends the original arguments to the rewritten URI)
    assert (await get(port, "/api/users?id=1")).body == "api /?id=1 myapp.example.com"
    assert (await get(port, "/apix")).body == "web-app /apix myapp.example.com"  # element-wise prefix
    assert (await get(port, "/", host="other.example.com")).status == 404

    # kubectl get ingress shows an ADDRESS
    async def has_address() -> bool:
        ing = await client.get(INGRESSES, "web-app-ingress", "default")
        return bool(ing.get("status", {}).get("loadBalancer", {}).get("ingress") == [{"ip": "127.0.0.1"}])

    await eventually(has_address)


async def test_seed_09_tls_by_sni_and_redirect(env: Env) -> None:
    client = env.client
    await apply_seed_backends(env)
    crt, key = objects.certificate("myapp.example.com")
    await client.create(SECRETS, objects.tls_secret("tls-secret", crt, key))
    await client.create(INGRESSES, objects.seed_ingress("09"))  # no class: ours as the default class
    tls = ssl.create_default_context(cadata=crt.decode())

    async def https_ok() -> bool:
        response = await get(env.https_port, "/hello", tls=tls)
        ok = response.status == 200 and response.body == "web-app /hello myapp.example.com"
        return ok and env.controller.idle

    await eventually(https_ok)
    redirect = await get(env.http_port, "/hello?x=1")
    assert redirect.status == 308
    assert redirect.headers["location"] == f"https://myapp.example.com:{env.https_port}/hello?x=1"
    assert "max-age" in (await get(env.https_port, "/", tls=tls)).headers["strict-transport-security"]
    # an unknown name gets the self-signed default certificate, which our CA does not sign
    try:
        await get(env.https_port, "/", host="unknown.example.com", tls=tls)
        raise AssertionError("the default certificate verified against the seed's certificate")
    except ssl.SSLCertVerificationError:
        pass
    files = list((env.controller.config.ssl_dir).glob("*.pem"))
    assert files and all(f.stat().st_mode & 0o777 == 0o600 for f in files)


async def _update(client: Client, rt: object, name: str, change: Callable[[JSON], None]) -> None:
    for _ in range(5):
        obj = await client.get(rt, name, "default")  # type: ignore[arg-type]
        change(obj)
        try:
            await client.update(rt, obj)  # type: ignore[arg-type]
            return
        except ApiError as e:
            if not e.conflict:
                raise


async def test_twenty_changes_under_load_lose_no_request(env: Env) -> None:
    client = env.client
    await apply_seed_backends(env)
    await client.create(INGRESSES, objects.seed_ingress("08"))
    await serves(env, "/api", "api / myapp.example.com")
    results: list[Response | BaseException] = []

    async def reloaded(before: int) -> bool:
        return env.controller.reloads > before and env.controller.idle

    stop = asyncio.Event()

    async def load() -> None:
        paths = ["/", "/api"]
        i = 0
        while not stop.is_set():
            try:
                results.append(await get(env.http_port, paths[i % 2]))
            except (TimeoutError, OSError) as e:
                results.append(e)
            i += 1
            await asyncio.sleep(0.01)

    async with echo_backend("web-app") as second_web:
        task = asyncio.create_task(load())
        reloads_before = env.controller.reloads
        second = objects.endpoint_slice(
            "web-app-service",
            [objects.endpoint("127.0.0.1")],
            [{"name": "", "port": second_web}],
            suffix="two",
        )
        for i in range(20):
            kind = i % 4
            if kind == 0:  # scale up: a second endpoint for web-app
                await client.create(ENDPOINT_SLICES, second)
            elif kind == 1:  # a new path
                path = {
                    "path": f"/v{i}",
                    "pathType": "Exact",
                    "backend": {"service": {"name": "api-service", "port": {"number": 8080}}},
                }
                await _update(
                    client,
                    INGRESSES,
                    "web-app-ingress",
                    lambda o, p=path: o["spec"]["rules"][0]["http"]["paths"].append(p),
                )
            elif kind == 2:  # a new Ingress
                extra = objects.ingress(
                    f"extra-{i}",
                    [objects.rule(f"extra{i}.example.com", ("/", "Prefix", "api-service", 8080))],
                )
                await client.create(INGRESSES, extra)
            else:  # scale down
                await client.delete(ENDPOINT_SLICES, second["metadata"]["name"], "default")
            await eventually(lambda n=env.controller.reloads: reloaded(n))  # one reload per change
        await serves(env, "/", "api / extra18.example.com", host="extra18.example.com")
        stop.set()
        await task
    failures = [r for r in results if not isinstance(r, Response) or r.status != 200]
    assert len(results) > 100
    assert not failures, failures[:5]
    assert env.controller.reloads - reloads_before == 20
    assert (await get(env.http_port, "/v17")).body == "api / myapp.example.com"


async def test_invalid_config_keeps_the_last_good_one_serving(env: Env) -> None:
    client = env.client
    await apply_seed_backends(env)
    await client.create(INGRESSES, objects.seed_ingress("08"))
    await serves(env, "/api", "api / myapp.example.com")
    annotation = "nginx.ingress.kubernetes.io/proxy-body-size"
    await _update(
        client,
        INGRESSES,
        "web-app-ingress",
        lambda o: o["metadata"]["annotations"].__setitem__(annotation, "lots"),
    )

    async def rejected() -> bool:
        return env.controller.rejections >= 1

    await eventually(rejected)
    assert (await get(env.http_port, "/api")).body == "api / myapp.example.com"

    async def warned() -> bool:
        events = (await client.list(EVENTS, "default"))["items"]
        return any(e["reason"] == "InvalidConfiguration" and e["type"] == "Warning" for e in events)

    await eventually(warned)

    # fixed: the next configuration is loaded again
    def fix(o: JSON) -> None:
        o["metadata"]["annotations"][annotation] = "8m"
        o["spec"]["rules"][0]["http"]["paths"].append(
            {
                "path": "/new",
                "pathType": "Exact",
                "backend": {"service": {"name": "api-service", "port": {"number": 8080}}},
            }
        )

    await _update(client, INGRESSES, "web-app-ingress", fix)
    await serves(env, "/new", "api / myapp.example.com")
