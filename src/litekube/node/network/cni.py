"""`CniNetwork`: pod sandboxes networked by the standard CNI plugins.

Flow of `setup(pod, port_mappings)`:
1. once per process: ask the plugins which spec versions they speak (CNI_COMMAND=VERSION;
   1.0.0 when all do, else 0.4.0), write the conflist to `<data-dir>/network/cni/` (for
   people and for `cnitool`; we keep using the in-memory copy), set the host sysctls
   (`host.prepare_host`);
2. write the pod's record without a result (a crash from here on is still cleanable);
3. `ip netns add <prefix><uid>` (e.g. `litekube-0c5d…`, visible in `ip netns list`);
4. ADD through the list `bridge` → `portmap` → `loopback` (see plugins.py). `bridge`
   makes the veth pair, hangs the host end on the bridge (created on first use, with the
   gateway address), asks `host-local` for an address (reservations under our data dir)
   and adds the masquerade rules for traffic from the pod to outside the pod CIDR;
   `portmap` adds the hostPort DNAT (and sets route_localnet on the bridge, so hostPorts
   also answer on 127.0.0.1); `loopback` brings `lo` up and passes the result through;
5. store the result in the record and return the pod's address.
A failing ADD is undone at once (DEL, namespace removed), as the CNI spec asks of runtimes.

Pods without hostPorts skip `portmap` entirely (ADD and DEL): it would only add nothing
at the price of an iptables scan. The conflist stored in the record says which plugins
ran, so DEL always matches ADD.

`teardown(uid)` reads the record: DEL in reverse order, sweep the plugins' nat rules when
the namespace had already vanished (the bridge plugin cannot find the pod's addresses
then), delete the namespace, drop the record. Everything there tolerates "already gone".
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import shutil
import weakref
from pathlib import Path
from typing import Any

import orjson

from litekube.node.network import host, iptables, plugins
from litekube.node.network.base import NetworkError, PodNetworkStatus, PodRef, PortMapping
from litekube.node.network.state import PodRecord, RecordStore, status_from_record

log = logging.getLogger(__name__)

JSON = dict[str, Any]
_PLUGINS = ("bridge", "host-local", "portmap", "loopback")
_SAFE_UID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def choose_cni_version(versions_by_plugin: dict[str, list[str]]) -> str:
    """1.0.0 when every plugin speaks it, else 0.4.0 (the oldest spec with CHECK)."""
    if versions_by_plugin and all("1.0.0" in versions for versions in versions_by_plugin.values()):
        return "1.0.0"
    return "0.4.0"


def build_conflist(name: str, cni_version: str, bridge: str, pod_cidr: str, mtu: int, ipam_dir: Path) -> JSON:
    """The network configuration list (pure; see docs/network.md for each field's reason)."""
    return {
        "cniVersion": cni_version,
        "name": name,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "mtu": mtu,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": pod_cidr}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(ipam_dir),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
            {"type": "loopback"},
        ],
    }


def runtime_config(port_mappings: list[PortMapping]) -> JSON:
    """The `portMappings` capability argument, in the shape portmap reads."""
    mappings = []
    for mapping in port_mappings:
        entry: JSON = {
            "hostPort": mapping.host_port,
            "containerPort": mapping.container_port,
            "protocol": mapping.protocol.lower(),
        }
        if mapping.host_ip:
            entry["hostIP"] = mapping.host_ip
        mappings.append(entry)
    return {"portMappings": mappings}


class CniNetwork:
    """The real `PodNetwork`. One instance per node agent; safe to recreate after a restart.

    `network_name` names the CNI network (it appears in iptables comments and under the
    host-local directory) and `netns_prefix` starts every namespace name: tests give each
    instance its own, so that `cleanup_all()` of one never touches another.
    """

    def __init__(
        self,
        data_dir: Path,
        pod_cidr: str = "10.244.0.0/24",
        bridge: str = "litekube0",
        plugin_dir: Path = Path("/usr/lib/cni"),
        mtu: int = 1500,
        *,
        network_name: str = "litekube",
        netns_prefix: str = "litekube-",
    ) -> None:
        network = ipaddress.ip_network(pod_cidr)  # raises ValueError early on a typo
        if network.version != 4:
            raise ValueError(f"pod CIDR {pod_cidr}: only IPv4 is supported")
        if not 0 < len(bridge) <= 15:
            raise ValueError(f"bridge name {bridge!r}: 1 to 15 characters (IFNAMSIZ)")
        if "litekube" not in netns_prefix:
            raise ValueError("netns_prefix must contain 'litekube' so leaks are recognisable")
        self.root = Path(data_dir) / "network"
        self.pod_cidr = str(network)
        self.bridge = bridge
        self.plugin_dir = Path(plugin_dir)
        self.mtu = mtu
        self.network_name = network_name
        self.netns_prefix = netns_prefix
        self.ipam_dir = self.root / "ipam"
        self.records = RecordStore(self.root / "pods")
        self.host_report: host.HostReport | None = None
        self._conflist: JSON | None = None
        self._ready_lock = asyncio.Lock()
        self._pod_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # -- naming -------------------------------------------------------------------------

    def netns_name(self, pod_uid: str) -> str:
        if not _SAFE_UID.match(pod_uid):
            raise ValueError(f"pod uid {pod_uid!r} cannot name a network namespace")
        return f"{self.netns_prefix}{pod_uid}"

    def _lock(self, pod_uid: str) -> asyncio.Lock:
        lock = self._pod_locks.get(pod_uid)
        if lock is None:
            lock = asyncio.Lock()
            self._pod_locks[pod_uid] = lock
        return lock

    # -- preparation --------------------------------------------------------------------

    async def conflist(self) -> JSON:
        """The network's conflist; first call detects the spec version and prepares the host."""
        async with self._ready_lock:
            if self._conflist is None:
                versions = await asyncio.gather(
                    *(plugins.supported_versions(self.plugin_dir, plugin) for plugin in _PLUGINS)
                )
                missing = [plugin for plugin, found in zip(_PLUGINS, versions, strict=True) if not found]
                if missing:
                    raise NetworkError(
                        f"CNI plugins {', '.join(missing)} not found or not working in {self.plugin_dir} "
                        "(Debian package containernetworking-plugins)"
                    )
                version = choose_cni_version(dict(zip(_PLUGINS, versions, strict=True)))
                conflist = build_conflist(
                    self.network_name, version, self.bridge, self.pod_cidr, self.mtu, self.ipam_dir
                )
                self.host_report = await host.prepare_host()
                conf_dir = self.root / "cni"
                conf_dir.mkdir(parents=True, exist_ok=True)
                (conf_dir / f"10-{self.network_name}.conflist").write_bytes(
                    orjson.dumps(conflist, option=orjson.OPT_INDENT_2)
                )
                self._conflist = conflist
            return self._conflist

    # -- PodNetwork -----------------------------------------------------------------------

    async def setup(self, pod: PodRef, port_mappings: list[PortMapping]) -> PodNetworkStatus:
        name = self.netns_name(pod.uid)
        async with self._lock(pod.uid):
            existing = self.records.load(pod.uid)
            if existing is not None:
                if existing.result is not None and host.netns_exists(name):
                    return status_from_record(existing, host.netns_path(name), self.bridge)
                # a half-done or broken sandbox: clear it and start again
                await self._teardown_record(existing)
            conflist = dict(await self.conflist())
            if not port_mappings:
                conflist["plugins"] = [p for p in conflist["plugins"] if p["type"] != "portmap"]
            record = PodRecord(pod=pod, netns=name, conflist=conflist, port_mappings=list(port_mappings))
            self.records.save(record)
            try:
                await host.netns_add(name)
                record.result = await plugins.add_list(
                    self.plugin_dir,
                    conflist,
                    self._invocation(record, exists=True),
                    runtime_config(port_mappings),
                )
            except NetworkError:
                try:
                    await self._teardown_record(record)
                except NetworkError as error:
                    log.warning("pod %s: undoing a failed network setup: %s", pod.uid, error)
                raise
            self.records.save(record)
            status = status_from_record(record, host.netns_path(name), self.bridge)
            log.debug("pod %s/%s network: %s in %s", pod.namespace, pod.name, status.ip, name)
            return status

    async def teardown(self, pod_uid: str) -> None:
        async with self._lock(pod_uid):
            record = self.records.load(pod_uid)
            if record is None:
                name = self.netns_name(pod_uid)
                if not host.netns_exists(name):
                    return  # never set up, or already torn down
                # the record is lost but the namespace is ours: DEL with today's conflist
                # still releases the address (host-local finds it by container id)
                record = PodRecord(pod=PodRef(pod_uid, "", ""), netns=name, conflist=await self.conflist())
            await self._teardown_record(record)

    async def check(self, pod_uid: str) -> None:
        """CNI CHECK of a pod's network (interfaces, address, routes); raises when broken.

        portmap 1.1.1 (Debian 12) cannot CHECK an IPv4-only pod: it always looks for an
        IPv6 DNAT chain too (containernetworking/plugins#819). It is left out of the CHECK
        list and its rules are looked up in iptables-save instead.
        """
        record = self.records.load(pod_uid)
        if record is None or record.result is None:
            raise NetworkError(f"pod {pod_uid} has no network")
        if not host.netns_exists(record.netns):
            raise NetworkError(f"pod {pod_uid}: network namespace {record.netns} is gone")
        conflist = dict(record.conflist)
        conflist["plugins"] = [p for p in conflist["plugins"] if p["type"] != "portmap"]
        await plugins.check_list(
            self.plugin_dir,
            conflist,
            self._invocation(record, exists=True),
            runtime_config(record.port_mappings),
            record.result,
        )
        if len(conflist["plugins"]) != len(record.conflist["plugins"]):
            if not await iptables.has_plugin_rules(record.conflist["name"], pod_uid, "dnat "):
                raise NetworkError(f"pod {pod_uid}: hostPort rules (portmap) are missing")

    async def list_pods(self) -> list[PodNetworkStatus]:
        statuses = []
        for uid in self.records.uids():
            record = self.records.load(uid)
            if record is not None and record.result is not None:
                statuses.append(status_from_record(record, host.netns_path(record.netns), self.bridge))
        return statuses

    async def cleanup_all(self) -> None:
        """Tear down every recorded pod, then sweep whatever a crash may have leaked."""
        failures = []
        for uid in self.records.uids():
            try:
                await self.teardown(uid)
            except NetworkError as error:
                failures.append(str(error))
        for name in host.netns_list(self.netns_prefix):
            await host.netns_delete(name)
        for link in await host.links_on_bridge(self.bridge):
            await host.link_delete(link)
        await iptables.remove_plugin_rules(self.network_name)
        await iptables.remove_hostport_chains_if_unused()
        await host.link_delete(self.bridge)
        shutil.rmtree(self.ipam_dir, ignore_errors=True)
        shutil.rmtree(self.records.directory, ignore_errors=True)
        if failures:
            log.warning("pod network cleanup: %s", "; ".join(failures))

    # -- internals ----------------------------------------------------------------------

    def _invocation(self, record: PodRecord, exists: bool) -> plugins.Invocation:
        pod = record.pod
        return plugins.Invocation(
            container_id=pod.uid,
            netns=host.netns_path(record.netns) if exists else "",
            args=(
                ("K8S_POD_NAMESPACE", pod.namespace),
                ("K8S_POD_NAME", pod.name),
                ("K8S_POD_INFRA_CONTAINER_ID", pod.uid),
                ("K8S_POD_UID", pod.uid),
            ),
        )

    async def _teardown_record(self, record: PodRecord) -> None:
        exists = host.netns_exists(record.netns)
        failure: NetworkError | None = None
        try:
            await plugins.del_list(
                self.plugin_dir,
                record.conflist,
                self._invocation(record, exists),
                runtime_config(record.port_mappings),
                record.result,
            )
        except NetworkError as error:
            failure = error
        if not exists or failure is not None:
            await iptables.remove_plugin_rules(record.conflist["name"], record.pod.uid)
        await host.netns_delete(record.netns)
        if failure is not None:
            raise failure  # the record stays: the caller retries and DEL runs again
        self.records.remove(record.pod.uid)
