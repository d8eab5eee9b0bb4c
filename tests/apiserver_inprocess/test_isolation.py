"""Nobody shares a dict with the server: bodies, answers and watch events are the caller's own."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator
from typing import Any

from litekube.api.resources import lookup
from litekube.client.base import WatchEventDict
from tests.apiserver_inprocess.conftest import Api

CONFIGMAPS = lookup("", "v1", "configmaps")
assert CONFIGMAPS is not None


async def _next(stream: AsyncIterator[WatchEventDict]) -> WatchEventDict:
    async with asyncio.timeout(5):
        return await stream.__anext__()


async def test_the_request_body_is_not_touched_nor_kept(api: Api) -> None:
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "b"},
        "data": {"k": "v"},
    }
    before = copy.deepcopy(body)
    created = await api.local.create(CONFIGMAPS, body, "default")
    assert body == before  # no uid, namespace or resourceVersion written into the caller's dict
    body["data"]["k"] = "changed after the call"
    assert created["data"] == {"k": "v"}
    assert (await api.http.get(CONFIGMAPS, "b", "default"))["data"] == {"k": "v"}


async def test_mutating_an_answer_changes_nothing_stored(api: Api) -> None:
    created = await api.local.create(CONFIGMAPS, {"metadata": {"name": "m"}, "data": {"k": "v"}}, "default")
    created["data"]["k"] = "mutated"
    got = await api.local.get(CONFIGMAPS, "m", "default")
    assert got["data"] == {"k": "v"}
    got["metadata"]["labels"] = {"x": "y"}
    listed = await api.local.list(CONFIGMAPS, "default")
    [item] = [i for i in listed["items"] if i["metadata"]["name"] == "m"]
    assert "labels" not in item["metadata"]
    item["data"].clear()
    assert (await api.local.get(CONFIGMAPS, "m", "default"))["data"] == {"k": "v"}


async def test_watchers_get_their_own_objects(api: Api) -> None:
    start = str((await api.local.list(CONFIGMAPS, "default"))["metadata"]["resourceVersion"])
    first = api.local.watch(CONFIGMAPS, "default", resource_version=start)
    second = api.local.watch(CONFIGMAPS, "default", resource_version=start)
    over_http = api.http.watch(CONFIGMAPS, "default", resource_version=start)
    async with contextlib.aclosing(first), contextlib.aclosing(second), contextlib.aclosing(over_http):
        await api.local.create(CONFIGMAPS, {"metadata": {"name": "w"}, "data": {"k": "v"}}, "default")
        mine = await _next(first)
        mine["object"]["data"]["k"] = "corrupted"
        mine["object"]["metadata"]["name"] = "someone-else"
        theirs = await _next(second)
        assert theirs["object"]["data"] == {"k": "v"} and theirs["object"]["metadata"]["name"] == "w"
        assert (await _next(over_http))["object"] == theirs["object"]
        # a late watcher replays from the hub's shared cache: still pristine
        late = api.local.watch(CONFIGMAPS, "default", resource_version=start)
        async with contextlib.aclosing(late):
            assert (await _next(late))["object"] == theirs["object"]
    assert (await api.local.get(CONFIGMAPS, "w", "default"))["data"] == {"k": "v"}
