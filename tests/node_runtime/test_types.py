"""Pure parts of the runtime: command resolution, $(VAR) expansion, cgroup arithmetic."""

from __future__ import annotations

import pytest

from litekube.node.runtime import (
    ContainerConfig,
    Resources,
    new_container_id,
    resolve_command,
    resources_from_millis,
)
from litekube.node.runtime.types import exit_reason, expand

ENTRYPOINT = ["/docker-entrypoint.sh"]
CMD = ["nginx", "-g", "daemon off;"]


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        (None, None, ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]),
        (None, ["-v"], ["/docker-entrypoint.sh", "-v"]),
        (["sh", "-c"], None, ["sh", "-c"]),
        (["sh", "-c"], ["echo hi"], ["sh", "-c", "echo hi"]),
        ([], [], ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]),
    ],
)
def test_resolve_command_follows_upstream_rules(
    command: list[str] | None, args: list[str] | None, expected: list[str]
) -> None:
    assert resolve_command(ENTRYPOINT, CMD, command, args) == expected


def test_resolve_command_without_image_entrypoint() -> None:
    assert resolve_command(None, ["sh"], None, None) == ["sh"]
    assert resolve_command(None, ["sh"], None, ["echo"]) == ["echo"]


def test_expansion_of_variables() -> None:
    env = {"NAME": "world", "EMPTY": ""}
    assert expand("hello $(NAME)", env) == "hello world"
    assert expand("$$(NAME) stays", env) == "$(NAME) stays"
    assert expand("$(MISSING) stays", env) == "$(MISSING) stays"
    assert expand("[$(EMPTY)]", env) == "[]"
    assert expand("cost $5", env) == "cost $5"
    assert resolve_command(None, None, ["echo", "$(NAME)"], ["$(NAME)!"], env) == ["echo", "world", "world!"]


def test_resources_from_millis_matches_kubelet_arithmetic() -> None:
    assert resources_from_millis(250, 500, 128 * 2**20) == Resources(256, 50_000, 100_000, 128 * 2**20, None)
    # Tiny requests hit the floors: 2 shares, 1 ms of quota.
    assert resources_from_millis(1, 5, None) == Resources(2, 1_000, 100_000, None, None)
    # A limit alone sets the shares too (request defaults to the limit).
    assert resources_from_millis(None, 1000, None).cpu_shares == 1024
    assert resources_from_millis(None, None, None) == Resources()


def test_container_ids_carry_the_prefix(tmp_path: object) -> None:
    assert new_container_id().startswith("litekube-")
    assert new_container_id() != new_container_id()
    with pytest.raises(ValueError, match="must start with"):
        ContainerConfig("abc", "uid", "p", "ns", "c", tmp_path, tmp_path, ["true"], tmp_path)  # type: ignore[arg-type]


def test_exit_reasons() -> None:
    assert exit_reason(0, False) == "Completed"
    assert exit_reason(1, False) == "Error"
    assert exit_reason(137, True) == "OOMKilled"
    assert exit_reason(137, False) == "Error"
