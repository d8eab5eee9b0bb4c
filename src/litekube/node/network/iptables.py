"""Removing the nat rules the CNI plugins leave behind.

The plugins own their rules while they run: the bridge plugin's ipMasq adds a
`CNI-<hash>` chain per pod (jumped to from POSTROUTING), portmap adds a `CNI-DN-<hash>`
chain per pod (jumped to from the shared CNI-HOSTPORT-DNAT chain) and creates the shared
chains CNI-HOSTPORT-{DNAT,MASQ,SETMARK} once. Their DEL removes the per-pod rules, with one
gap: the bridge plugin only removes its masquerade rules when the pod's namespace still
exists (it reads the addresses from eth0). So after a namespace vanished (reboot, someone
ran `ip netns delete`) and at shutdown, we sweep by the comment every plugin rule carries:
`name: "<network>" id: "<container id>"`.

`iptables-save -t nat` is parsed with shlex (it quotes comments shell-style) and each
matching `-A CHAIN ...` line is turned into `iptables -t nat -D CHAIN ...`.
"""

from __future__ import annotations

import re
import shlex

from litekube.node.network.commands import run

_COMMENT = re.compile(r'name: "(?P<network>[^"]*)" id: "(?P<id>[^"]*)"')
HOSTPORT_CHAINS = ("CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ")


def parse_rules(save_output: str) -> list[list[str]]:
    """`-A` lines of iptables-save as argument lists (without the `-A`)."""
    rules = []
    for line in save_output.splitlines():
        if line.startswith("-A "):
            rules.append(shlex.split(line)[1:])
    return rules


def _comment(rule: list[str]) -> str:
    for index, token in enumerate(rule[:-1]):
        if token == "--comment":
            return rule[index + 1]
    return ""


def _jump(rule: list[str]) -> str:
    for index, token in enumerate(rule[:-1]):
        if token in ("-j", "--jump"):
            return rule[index + 1]
    return ""


def matching_rules(rules: list[list[str]], network: str, container_id: str | None) -> list[list[str]]:
    """Rules whose plugin comment names `network` (and `container_id` when given)."""
    found = []
    for rule in rules:
        match = _COMMENT.search(_comment(rule))
        if match and match["network"] == network and container_id in (None, match["id"]):
            found.append(rule)
    return found


async def _save() -> str | None:
    completed = await run("iptables-save", "-t", "nat")
    return completed.stdout.decode(errors="replace") if completed.ok else None


async def has_plugin_rules(network: str, container_id: str, comment_prefix: str = "") -> bool:
    """Whether some nat rule carries the plugin comment for this pod (`dnat ` for portmap's)."""
    saved = await _save()
    if saved is None:
        return False
    return any(
        _comment(rule).startswith(comment_prefix)
        for rule in matching_rules(parse_rules(saved), network, container_id)
    )


async def remove_plugin_rules(network: str, container_id: str | None = None) -> int:
    """Delete the plugins' nat rules for one pod (or the whole network) and their chains.

    Returns how many rules were deleted; 0 when iptables is missing.
    """
    saved = await _save()
    if saved is None:
        return 0
    rules = parse_rules(saved)
    doomed = matching_rules(rules, network, container_id)
    chains = {_jump(rule) for rule in doomed} - {"", "ACCEPT", "MASQUERADE", "DNAT", "RETURN", "MARK"}
    chains -= set(HOSTPORT_CHAINS)
    # rules that jump into a doomed chain go first, then the chains' own contents
    for rule in doomed:
        if rule[0] not in chains:
            await run("iptables", "-w", "-t", "nat", "-D", *rule)
    for chain in sorted(chains):
        await run("iptables", "-w", "-t", "nat", "-F", chain)
        await run("iptables", "-w", "-t", "nat", "-X", chain)
    return len(doomed)


async def remove_hostport_chains_if_unused() -> bool:
    """Remove portmap's shared chains once no pod (of any CNI network) uses them.

    True when they are gone (or never existed), False while someone still has a mapping.
    """
    saved = await _save()
    if saved is None or ":CNI-HOSTPORT-DNAT" not in saved:
        return True
    rules = parse_rules(saved)
    if any(rule[0] == "CNI-HOSTPORT-DNAT" for rule in rules):
        return False
    for rule in rules:
        if rule[0] not in HOSTPORT_CHAINS and _jump(rule) in HOSTPORT_CHAINS:
            await run("iptables", "-w", "-t", "nat", "-D", *rule)
    for chain in HOSTPORT_CHAINS:
        await run("iptables", "-w", "-t", "nat", "-F", chain)
        await run("iptables", "-w", "-t", "nat", "-X", chain)
    return True
