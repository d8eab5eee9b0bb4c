"""Apply a `Ruleset` to the kernel in one nftables transaction (`nft -f -`), and remove it.

The first apply (and any apply after a failure) replaces the table wholesale:

    add table ip litekube ; delete table ip litekube ; table ip litekube { …everything… }

Later applies are incremental against the ruleset applied last, still in one transaction,
so the kernel never shows a half-written table:

    add table → flush table (every rule goes) → flush the maps/sets we fill
    → delete chains and sets that are gone (now unreferenced) → add new chains and sets
    → add every rule and element again

Why not delete+add every time: the affinity sets (`flags dynamic,timeout`) are filled by
the kernel with client addresses, and recreating them would forget every sticky client
on each sync. Established connections survive either way: their NAT lives in conntrack,
not in the rules.

`NftRunner` is the seam: `SubprocessNft` runs the real `nft`, `FakeNft` records scripts.
`remove()` deletes the table and puts `route_localnet` back if we changed it.

ClusterIPs that leave the table (and all of them on `remove()`) get their finished conntrack
entries dropped (conntrack.py says why: stale TIME_WAIT entries make the next connection
to the same pod through another address lose its SYN).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol

from litekube.proxy.conntrack import Conntrack, KernelConntrack, NoConntrack
from litekube.proxy.rules import NamedSet, Ruleset

log = logging.getLogger(__name__)

ROUTE_LOCALNET = "net/ipv4/conf/all/route_localnet"


class NftError(Exception):
    pass


class NftRunner(Protocol):
    async def run(self, script: str) -> None:
        """Run an nft script as one transaction; raise NftError on failure."""
        ...

    async def has_table(self, table: str) -> bool: ...


class SubprocessNft:
    def __init__(self, binary: str = "nft") -> None:
        self.binary = binary

    async def run(self, script: str) -> None:
        await self._nft(["-f", "-"], script)

    async def has_table(self, table: str) -> bool:
        out = await self._nft(["list", "tables"], "")
        return f"table ip {table}" in out.splitlines()

    async def _nft(self, args: list[str], stdin: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            self.binary,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate(stdin.encode())
        if proc.returncode != 0:
            raise NftError(err.decode(errors="replace").strip() or f"nft exited {proc.returncode}")
        return out.decode()


class FakeNft:
    """Records scripts; knows which tables exist from the add/delete table lines."""

    def __init__(self) -> None:
        self.scripts: list[str] = []
        self.tables: set[str] = set()
        self.fail_next = 0

    async def run(self, script: str) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise NftError("injected failure")
        self.scripts.append(script)
        for line in script.splitlines():
            words = line.split()
            if words[:3] == ["add", "table", "ip"] or words[:2] == ["table", "ip"]:
                self.tables.add(words[-1] if words[0] == "add" else words[2])
            elif words[:3] == ["delete", "table", "ip"]:
                self.tables.discard(words[3])

    async def has_table(self, table: str) -> bool:
        return table in self.tables


def full_script(rs: Ruleset) -> str:
    """Replace the table wholesale; `add` first so `delete` cannot fail on a missing table."""
    return f"add table ip {rs.table}\ndelete table ip {rs.table}\n{rs.to_text()}"


def update_script(old: Ruleset, new: Ruleset) -> str:
    """Turn the table from `old` into `new`, touching only chains and sets that changed.

    Dynamic sets (affinity) keep their kernel-written elements. A chain or set is deleted
    only after everything that pointed at it was flushed in the same transaction.
    """
    t = f"ip {new.table}"
    lines = [f"add table {t}"]
    changed_sets = {
        n for n, s in new.sets.items() if n in old.sets and _declaration(old.sets[n]) != _declaration(s)
    }
    refill = {
        n
        for n, s in new.sets.items()
        if not s.dynamic and (n not in old.sets or n in changed_sets or old.sets[n].elements != s.elements)
    }
    lines += [
        f"flush {s.kind} {t} {n}"
        for n, s in new.sets.items()
        if n in refill and n in old.sets and n not in changed_sets
    ]
    rewrite = [n for n, c in new.chains.items() if n not in old.chains or old.chains[n].rules != c.rules]
    gone = [n for n in old.chains if n not in new.chains]
    lines += [f"flush chain {t} {n}" for n in [*rewrite, *gone] if n in old.chains]
    lines += [f"delete chain {t} {n}" for n in gone]
    lines += [
        f"delete {s.kind} {t} {n}" for n, s in old.sets.items() if n not in new.sets or n in changed_sets
    ]
    lines += [
        f"add {s.kind} {t} {n} {{ {_declaration(s)} }}"
        for n, s in new.sets.items()
        if n not in old.sets or n in changed_sets
    ]
    for name in rewrite:
        chain = new.chains[name]
        if name not in old.chains:
            lines.append(f"add chain {t} {name}" + (f" {{ {chain.hook} }}" if chain.hook else ""))
    for name in rewrite:
        lines += [f"add rule {t} {name} {rule}" for rule in new.chains[name].rules]
    for name in refill:
        if new.sets[name].elements:
            lines.append(f"add element {t} {name} {{ {', '.join(new.sets[name].elements)} }}")
    return "\n".join(lines) + "\n"


def _declaration(s: NamedSet) -> str:
    return "; ".join(s.spec) + ";"


class NftApplier:
    """Keeps the kernel's table equal to the last `Ruleset` it was given."""

    def __init__(
        self,
        runner: NftRunner | None = None,
        sysctl_root: Path = Path("/proc/sys"),
        conntrack: Conntrack | None = None,
    ) -> None:
        # the host's conntrack goes with the host's nft; another runner (a fake, a netns)
        # gets none unless it brings its own
        if conntrack is None:
            conntrack = KernelConntrack() if runner is None else NoConntrack()
        self.conntrack = conntrack
        self.runner: NftRunner = runner or SubprocessNft()
        self.sysctl_root = sysctl_root
        self.applied: Ruleset | None = None
        self._table: str | None = None
        self._saved_route_localnet: str | None = None

    async def apply(self, rs: Ruleset) -> None:
        if self._saved_route_localnet is None:
            self._enable_route_localnet()
        script = full_script(rs) if self.applied is None else update_script(self.applied, rs)
        self._table = rs.table
        try:
            await self.runner.run(script)
        except Exception:
            self.applied = None  # unknown kernel state: the next apply replaces the whole table
            raise
        gone = _cluster_ips(self.applied) - _cluster_ips(rs)
        self.applied = rs
        await self.conntrack.forget_closed(sorted(gone))

    async def remove(self) -> None:
        """Delete the table (if present) and restore route_localnet."""
        if self._table is not None and await self.runner.has_table(self._table):
            await self.runner.run(f"delete table ip {self._table}\n")
        gone, self.applied = _cluster_ips(self.applied), None
        await self.conntrack.forget_closed(sorted(gone))
        if self._saved_route_localnet is not None:
            self._write_sysctl(ROUTE_LOCALNET, self._saved_route_localnet)
            self._saved_route_localnet = None

    def _enable_route_localnet(self) -> None:
        # NodePorts on 127.0.0.1: a dnat from loopback to a pod address is only routed when
        # route_localnet is on (kube-proxy's iptables mode sets the same sysctl)
        try:
            self._saved_route_localnet = (self.sysctl_root / ROUTE_LOCALNET).read_text().strip()
            if self._saved_route_localnet != "1":
                self._write_sysctl(ROUTE_LOCALNET, "1")
        except OSError as e:
            log.warning("cannot enable route_localnet (NodePorts on 127.0.0.1 will not answer): %s", e)
            self._saved_route_localnet = "1"  # nothing to restore

    def _write_sysctl(self, name: str, value: str) -> None:
        try:
            (self.sysctl_root / name).write_text(value + "\n")
        except OSError as e:
            log.warning("cannot write sysctl %s: %s", name, e)


def _cluster_ips(rs: Ruleset | None) -> set[str]:
    named = rs.sets.get("cluster-ips") if rs is not None else None
    return set(named.elements) if named is not None else set()
