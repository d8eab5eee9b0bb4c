"""IngressController: informer caches → routing model → nginx.conf → validated, graceful reload.

Flow:

    start(): default certificate, IngressClass `nginx` (default class) if missing, informers on
             Ingress, IngressClass, Service, EndpointSlice, Secret synced, first render, nginx started
    informer events ─► wake.set()                         (handlers only signal, level-driven)
    loop: wait(wake) → sleep(debounce, ~100 ms: a burst of changes becomes one reload) → sync()
    sync(): build_model(caches) → certificates written (0600) → render()
            → text unchanged? nothing to do with nginx
            → nginx.apply(text): `nginx -t` of the candidate, then SIGHUP; if nginx rejects it the
              last good configuration keeps serving and the Ingresses changed since then get a
              Warning Event "InvalidConfiguration"
            → problems (bad references, unsupported or invalid annotations) → Warning Events,
              each once per change of the Ingress, not once per sync
            → status.loadBalancer.ingress = this node's addresses on every Ingress we serve

A failed sync is retried after a second; any new event also triggers one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from litekube.api.resources import ResourceType, lookup
from litekube.client.base import JSON, ApiError, Client
from litekube.ingress.certificates import default_certificate, remove_stale_certificates, write_certificates
from litekube.ingress.model import DEFAULT_CLASS_ANNOTATION, RoutingModel, build_model
from litekube.ingress.nginx_conf import RenderConfig, render
from litekube.ingress.nginx_process import Nginx, NginxError, NginxProcess
from litekube.machinery.clock import Clock, RealClock
from litekube.machinery.events import WARNING, EventRecorder
from litekube.machinery.informer import InformerFactory, SharedInformer

log = logging.getLogger(__name__)

COMPONENT = "litekube-ingress-controller"


def _rt(group: str, plural: str) -> ResourceType:
    rt = lookup(group, "v1", plural)
    assert rt is not None
    return rt


INGRESSES = _rt("networking.k8s.io", "ingresses")
INGRESS_CLASSES = _rt("networking.k8s.io", "ingressclasses")
SERVICES = _rt("", "services")
ENDPOINT_SLICES = _rt("discovery.k8s.io", "endpointslices")
SECRETS = _rt("", "secrets")


def _signature(ingress: JSON | None) -> tuple[object, ...]:
    """What counts as "a change" of an Ingress for re-reporting (not our own status writes)."""
    meta = (ingress or {}).get("metadata") or {}
    return (meta.get("uid"), meta.get("generation"), tuple(sorted((meta.get("annotations") or {}).items())))


class IngressController:
    def __init__(
        self,
        client: Client,
        data_dir: Path,
        http_port: int = 80,
        https_port: int = 443,
        bind_address: str = "0.0.0.0",
        clock: Clock | None = None,
        informers: InformerFactory | None = None,
        class_name: str = "nginx",
        controller_name: str = "k8s.io/ingress-nginx",
        *,
        nginx: Nginx | None = None,
        status_addresses: list[str] | None = None,
        debounce: float = 0.1,
        worker_processes: str = "auto",
        create_class: bool = True,
    ) -> None:
        self.client = client
        self.clock = clock or RealClock()
        self.config = RenderConfig(
            data_dir, http_port, https_port, bind_address, worker_processes=worker_processes
        )
        self.class_name = class_name
        self.controller_name = controller_name
        self.nginx: Nginx = nginx or NginxProcess(data_dir)
        self.status_addresses = status_addresses
        self.debounce = debounce
        self.create_class = create_class
        self._own_informers = informers is None
        self.informers = informers or InformerFactory(client, self.clock)
        self.ingresses = self.informers.informer(INGRESSES)
        self.classes = self.informers.informer(INGRESS_CLASSES)
        self.services = self.informers.informer(SERVICES)
        self.slices = self.informers.informer(ENDPOINT_SLICES)
        self.secrets = self.informers.informer(SECRETS)
        self.recorder = EventRecorder(client, COMPONENT, self.clock)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._started = False
        self._syncing = False
        self._last_text: str | None = None
        self._rejected_text: str | None = None
        self._good_signatures: dict[str, tuple[object, ...]] = {}
        self._reported: dict[str, tuple[tuple[object, ...], set[tuple[str, str]]]] = {}
        self.model: RoutingModel | None = None
        self.reloads = 0  # configurations nginx accepted
        self.rejections = 0  # configurations nginx refused

    @property
    def _informer_list(self) -> list[SharedInformer]:
        return [self.ingresses, self.classes, self.services, self.slices, self.secrets]

    async def start(self) -> None:
        if self.status_addresses is None:
            self.status_addresses = await _node_addresses(self.config.bind_address)
        default_certificate(self.config.ssl_dir)
        if self.create_class:
            await self.ensure_ingress_class()
        for informer in self._informer_list:
            informer.add_handlers(self._on_event, self._on_update, self._on_event)
            informer.start()  # a no-op when a shared factory already started it
        await asyncio.gather(*(i.wait_for_sync() for i in self._informer_list))
        await self.sync()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="ingress-controller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.nginx.stop()
        finally:
            if self._own_informers:
                await self.informers.stop()
            self._started = False

    async def ensure_ingress_class(self) -> None:
        """The IngressClass `nginx` for our controller, marked as the default class, unless present."""
        try:
            await self.client.get(INGRESS_CLASSES, self.class_name)
            return
        except ApiError as e:
            if not e.not_found:
                raise
        body: JSON = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {
                "name": self.class_name,
                "annotations": {DEFAULT_CLASS_ANNOTATION: "true"},
                "labels": {"app.kubernetes.io/managed-by": "litekube"},
            },
            "spec": {"controller": self.controller_name},
        }
        try:
            await self.client.create(INGRESS_CLASSES, body)
        except ApiError as e:
            if not e.conflict and e.reason != "AlreadyExists":
                raise

    def _on_event(self, obj: JSON) -> None:
        self._wake.set()

    def _on_update(self, old: JSON, new: JSON) -> None:
        self._wake.set()

    @property
    def idle(self) -> bool:
        """No change waiting and no sync running: what nginx serves matches the caches."""
        return not self._wake.is_set() and not self._syncing

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._syncing = True
            try:
                await self.clock.sleep(self.debounce)  # let a burst of events settle into one render
                self._wake.clear()
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ingress sync failed; retrying in 1s")
                self._wake.set()
                await self.clock.sleep(1.0)
            finally:
                self._syncing = False

    def build(self) -> RoutingModel:
        return build_model(
            self.ingresses.store.list(),
            self.classes.store.list(),
            self.services.store.list(),
            self.slices.store.list(),
            self.secrets.store.list(),
            self.class_name,
            self.controller_name,
        )

    async def sync(self) -> bool:
        """Bring nginx, Events and statuses in line with the caches; True if nginx got a new config."""
        model = self.build()
        self.model = model
        in_use = write_certificates(self.config.ssl_dir, model.certificates)
        text = render(model, self.config)
        changed = False
        if not self._started:
            changed = await self._first_start(model, text)
        elif text != self._last_text and text != self._rejected_text:
            ok, message = await self.nginx.apply(text)
            if ok:
                changed = True
                self._accepted(model, text)
                remove_stale_certificates(self.config.ssl_dir, in_use)
            else:
                await self._rejected(model, text, message)
        await self._report_problems(model)
        await self._update_statuses(model)
        return changed

    async def _first_start(self, model: RoutingModel, text: str) -> bool:
        try:
            await self.nginx.start(text)
            self._accepted(model, text)
        except NginxError as e:
            # serve at least the default server; the Ingresses get a Warning and the next change retries
            log.error("nginx refused the initial configuration: %s", e)
            empty = render(RoutingModel(model.servers[:1], ()), self.config)
            await self.nginx.start(empty)
            self._last_text = empty
            await self._rejected(model, text, str(e))
        self._started = True
        return True

    def _accepted(self, model: RoutingModel, text: str) -> None:
        self._last_text = text
        self._rejected_text = None
        self.reloads += 1
        self._good_signatures = {k: _signature(self._ingress(k)) for k in model.ingresses}

    async def _rejected(self, model: RoutingModel, text: str, message: str) -> None:
        self._rejected_text = text  # the same text is not retried until something changes
        self.rejections += 1
        log.error("nginx rejected the new configuration, the last good one keeps serving: %s", message)
        suspects = [
            k for k in model.ingresses if self._good_signatures.get(k) != _signature(self._ingress(k))
        ]
        detail = next((line for line in message.splitlines() if "[emerg]" in line), message)[:300]
        for key in suspects:
            ingress = self._ingress(key)
            if ingress is not None:
                await self.recorder.event(
                    ingress,
                    WARNING,
                    "InvalidConfiguration",
                    f"nginx rejected the configuration with this Ingress; the last good one keeps serving: {detail}",
                )

    def _ingress(self, key: str) -> JSON | None:
        return self.ingresses.store.get(key)

    async def _report_problems(self, model: RoutingModel) -> None:
        current: dict[str, set[tuple[str, str]]] = {}
        for problem in model.problems:
            current.setdefault(problem.ingress, set()).add((problem.reason, problem.message))
        for key in list(self._reported):
            if key not in current:
                del self._reported[key]
        for key, found in current.items():
            ingress = self._ingress(key)
            if ingress is None:
                continue
            signature = _signature(ingress)
            previous_signature, previous = self._reported.get(key, (None, set()))
            fresh = found if previous_signature != signature else found - previous
            self._reported[key] = (signature, found)
            for reason, message in sorted(fresh):
                await self.recorder.event(ingress, WARNING, reason, message)

    async def _update_statuses(self, model: RoutingModel) -> None:
        want = [{"ip": address} for address in self.status_addresses or ["127.0.0.1"]]
        ours = set(model.ingresses)
        for ingress in self.ingresses.store.list():
            meta = ingress.get("metadata") or {}
            key = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
            current = ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            if key in ours:
                target: list[JSON] | None = want
            elif current == want:  # it left our class: take our address back
                target = None
            else:
                continue
            if (target or []) == current:
                continue
            try:
                await self.client.patch(
                    INGRESSES,
                    meta["name"],
                    {"status": {"loadBalancer": {"ingress": target}}},
                    meta.get("namespace"),
                    subresource="status",
                )
            except ApiError as e:  # the next sync tries again
                if not e.not_found:
                    log.warning("cannot set the status of ingress %s: %s", key, e)


async def _node_addresses(bind_address: str) -> list[str]:
    """This node's addresses for Ingress status: the bind address, else the global IPv4 addresses."""
    if bind_address not in ("0.0.0.0", "::", ""):
        return [bind_address]
    try:
        proc = await asyncio.create_subprocess_exec(
            "ip", "-o", "-4", "addr", "show", "scope", "global",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 5)
    except (OSError, TimeoutError):
        return ["127.0.0.1"]
    found = []
    for line in out.decode().splitlines():
        words = line.split()  # "2: eth0    inet 192.0.2.2/24 brd ... scope global eth0"
        if len(words) >= 4 and words[2] == "inet" and not words[1].startswith(("litekube", "cni", "veth")):
            found.append(words[3].split("/")[0])
    return found or ["127.0.0.1"]


def build_ingress_controller(
    client: Client,
    data_dir: Path,
    *,
    http_port: int = 80,
    https_port: int = 443,
    bind_address: str = "0.0.0.0",
    informers: InformerFactory | None = None,
    clock: Clock | None = None,
) -> IngressController:
    """The controller as `litekube server` runs it: nginx state under `<data_dir>/ingress`."""
    return IngressController(
        client,
        Path(data_dir) / "ingress",
        http_port,
        https_port,
        bind_address,
        clock,
        informers,
    )
