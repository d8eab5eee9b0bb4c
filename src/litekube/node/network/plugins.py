"""The CNI exec protocol: how one plugin is called and how a conflist chains them.

A plugin is an executable in the plugin directory named by the config's `type`. It reads
its network config as JSON on stdin and its parameters from the environment (CNI_COMMAND,
CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH), and prints a result or an
error object on stdout.

Chaining (CNI spec, "Network configuration lists"): for ADD each plugin in list order gets
its own config plus the list's `name` and `cniVersion`, the previous plugin's result as
`prevResult`, and `runtimeConfig` holding only the capabilities it declares (portmap
declares `portMappings`); the last result is the network's result. DEL runs the plugins in
reverse order, each with the final ADD result as `prevResult`. CHECK runs them in order
with the same `prevResult`.

We keep going after a failing DEL (unlike libcni, which stops): the bridge plugin's DEL
releases the IP reservation, and a broken portmap DEL must not leak the address. The
first error is still raised so the caller retries.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from litekube.node.network.base import NetworkError
from litekube.node.network.commands import run

JSON = dict[str, Any]

# the plugins need `iptables` and `ip` (bridge's ipMasq, portmap); make sure sbin is searched
_SBIN = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class PluginError(NetworkError):
    """A CNI plugin failed: its error object (code, msg, details) or its stderr."""

    def __init__(self, plugin: str, command: str, message: str, code: int = 0) -> None:
        super().__init__(f"plugin type={plugin!r} failed ({command}): {message}")
        self.plugin = plugin
        self.command = command
        self.code = code


@dataclass(frozen=True)
class Invocation:
    """The per-call parameters of the exec protocol (everything but the config)."""

    container_id: str
    netns: str  # a path; "" when the namespace is already gone (allowed for DEL)
    ifname: str = "eth0"
    args: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def environment(self, command: str, plugin_dir: Path) -> dict[str, str]:
        cni_args = ";".join(f"{key}={value}" for key, value in (("IgnoreUnknown", "1"), *self.args))
        return {
            "PATH": os.environ.get("PATH", _SBIN) + ":" + _SBIN,
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": self.container_id,
            "CNI_NETNS": self.netns,
            "CNI_IFNAME": self.ifname,
            "CNI_ARGS": cni_args,
            "CNI_PATH": str(plugin_dir),
        }


def plugin_config(conflist: JSON, plugin: JSON, prev_result: JSON | None, runtime_config: JSON) -> JSON:
    """The stdin of one plugin in a conflist (CNI spec: "Deriving execution configuration")."""
    config = dict(plugin)
    config["name"] = conflist["name"]
    config["cniVersion"] = conflist["cniVersion"]
    capabilities = plugin.get("capabilities") or {}
    wanted = {key: value for key, value in runtime_config.items() if capabilities.get(key)}
    if wanted:
        config["runtimeConfig"] = wanted
    if prev_result is not None:
        config["prevResult"] = prev_result
    return config


async def exec_plugin(plugin_dir: Path, command: str, invocation: Invocation, config: JSON) -> JSON | None:
    """Run one plugin; its parsed result (None when it prints nothing, as DEL does)."""
    plugin = str(config["type"])
    path = plugin_dir / plugin
    completed = await run(
        str(path), stdin=orjson.dumps(config), env=invocation.environment(command, plugin_dir)
    )
    output = completed.stdout.strip()
    if not completed.ok:
        message = completed.stderr.decode(errors="replace").strip() or f"exit {completed.returncode}"
        code = 0
        if output.startswith(b"{"):
            try:
                error = orjson.loads(output)
                message = str(error.get("msg") or message)
                if error.get("details"):
                    message += f": {error['details']}"
                code = int(error.get("code") or 0)
            except orjson.JSONDecodeError:
                pass
        if completed.returncode == 127:
            message = f"plugin binary not found in {plugin_dir}"
        raise PluginError(plugin, command, message, code)
    if not output:
        return None
    try:
        result = orjson.loads(output)
    except orjson.JSONDecodeError as error:
        raise PluginError(plugin, command, f"unparsable result: {output[:200]!r}") from error
    return result if isinstance(result, dict) else None


async def add_list(plugin_dir: Path, conflist: JSON, invocation: Invocation, runtime_config: JSON) -> JSON:
    """ADD through the whole list; the last plugin's result."""
    result: JSON | None = None
    for plugin in conflist["plugins"]:
        config = plugin_config(conflist, plugin, result, runtime_config)
        result = await exec_plugin(plugin_dir, "ADD", invocation, config) or result
    if result is None:
        raise NetworkError(f"network {conflist['name']!r}: ADD produced no result")
    return result


async def del_list(
    plugin_dir: Path, conflist: JSON, invocation: Invocation, runtime_config: JSON, prev_result: JSON | None
) -> None:
    """DEL in reverse list order; every plugin runs, then the first failure is raised."""
    errors: list[PluginError] = []
    for plugin in reversed(conflist["plugins"]):
        config = plugin_config(conflist, plugin, prev_result, runtime_config)
        try:
            await exec_plugin(plugin_dir, "DEL", invocation, config)
        except PluginError as error:
            errors.append(error)
    if errors:
        raise errors[0]


async def check_list(
    plugin_dir: Path, conflist: JSON, invocation: Invocation, runtime_config: JSON, prev_result: JSON
) -> None:
    """CHECK in list order (CNI ≥ 0.4.0); raises the first plugin's complaint."""
    for plugin in conflist["plugins"]:
        config = plugin_config(conflist, plugin, prev_result, runtime_config)
        await exec_plugin(plugin_dir, "CHECK", invocation, config)


async def supported_versions(plugin_dir: Path, plugin: str) -> list[str]:
    """The spec versions a plugin speaks (CNI_COMMAND=VERSION); [] when it cannot say."""
    invocation = Invocation(container_id="", netns="", ifname="")
    try:
        result = await exec_plugin(plugin_dir, "VERSION", invocation, {"cniVersion": "0.4.0", "type": plugin})
    except PluginError:
        return []
    versions = (result or {}).get("supportedVersions") or []
    return [str(version) for version in versions]
