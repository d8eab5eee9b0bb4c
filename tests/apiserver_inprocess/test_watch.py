"""Watches through the in-process transport: resume, selectors, bookmarks, 410, as over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from litekube.api.resources import lookup
from litekube.client.base import Client, WatchEventDict
from tests.apiserver_inprocess.conftest import Api

CONFIGMAPS = lookup("", "v1", "configmaps")
assert CONFIGMAPS is not None


def _cm(name: str, app: str = "a", value: str = "0") -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"app": app}}, "data": {"v": value}}


async def _take(stream: AsyncIterator[WatchEventDict], count: int) -> list[WatchEventDict]:
    events: list[WatchEventDict] = []
    async with contextlib.aclosing(stream):  # type: ignore[type-var]
        async with asyncio.timeout(5):
            async for event in stream:
                events.append(event)
                if len(events) == count:
                    break
    return events


async def _all(stream: AsyncIterator[WatchEventDict]) -> list[WatchEventDict]:
    async with asyncio.timeout(10):
        return [event async for event in stream]


def _summary(events: list[WatchEventDict]) -> list[tuple[str, str, str]]:
    return [
        (
            e["type"],
            e["object"]["metadata"].get("name", ""),
            e["object"]["metadata"].get("resourceVersion", ""),
        )
        for e in events
    ]


async def _history(client: Client) -> str:
    """Three writes after the returned resourceVersion."""
    start = (await client.list(CONFIGMAPS, "default"))["metadata"]["resourceVersion"]
    await client.create(CONFIGMAPS, _cm("w1"), "default")
    await client.patch(CONFIGMAPS, "w1", {"data": {"v": "1"}}, "default")
    await client.delete(CONFIGMAPS, "w1", "default")
    return str(start)


async def test_resume_from_a_resource_version_matches_http(api: Api) -> None:
    start = await _history(api.local)
    local = await _take(api.local.watch(CONFIGMAPS, "default", resource_version=start), 3)
    http = await _take(api.http.watch(CONFIGMAPS, "default", resource_version=start), 3)
    assert [e["type"] for e in local] == ["ADDED", "MODIFIED", "DELETED"]
    assert local == http


async def test_initial_events_then_live_ones(api: Api) -> None:
    await api.local.create(CONFIGMAPS, _cm("old"), "default")
    stream = api.local.watch(CONFIGMAPS, "default", resource_version="0")
    first = await stream.__anext__()
    assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "old")
    await api.http.create(CONFIGMAPS, _cm("new"), "default")
    [second] = await _take(stream, 1)
    assert (second["type"], second["object"]["metadata"]["name"]) == ("ADDED", "new")


async def test_label_selector_transitions_match_http(api: Api) -> None:
    start = (await api.local.list(CONFIGMAPS, "default"))["metadata"]["resourceVersion"]
    await api.local.create(CONFIGMAPS, _cm("s", app="a"), "default")
    await api.local.patch(CONFIGMAPS, "s", {"metadata": {"labels": {"app": "b"}}}, "default")  # leaves
    await api.local.patch(CONFIGMAPS, "s", {"metadata": {"labels": {"app": "a"}}}, "default")  # returns
    await api.local.create(CONFIGMAPS, _cm("t", app="b"), "default")  # never matches
    await api.local.patch(CONFIGMAPS, "s", {"data": {"v": "9"}}, "default")

    def watch(client: Client) -> AsyncIterator[WatchEventDict]:
        return client.watch(CONFIGMAPS, "default", resource_version=str(start), label_selector="app=a")

    local = await _take(watch(api.local), 4)
    http = await _take(watch(api.http), 4)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in local] == [
        ("ADDED", "s"),
        ("DELETED", "s"),
        ("ADDED", "s"),
        ("MODIFIED", "s"),
    ]
    assert local == http


async def test_timeout_ends_with_a_bookmark_only_when_allowed(api: Api) -> None:
    start = await _history(api.local)
    with_bookmarks = await _all(
        api.local.watch(CONFIGMAPS, "default", resource_version=start, timeout_seconds=1)
    )
    http = await _all(api.http.watch(CONFIGMAPS, "default", resource_version=start, timeout_seconds=1))
    assert _summary(with_bookmarks) == _summary(http)
    last = with_bookmarks[-1]
    assert last["type"] == "BOOKMARK"
    assert (
        last["object"]["metadata"]["resourceVersion"]
        == with_bookmarks[-2]["object"]["metadata"]["resourceVersion"]
    )
    without = await _all(
        api.local.watch(
            CONFIGMAPS, "default", resource_version=start, timeout_seconds=1, allow_bookmarks=False
        )
    )
    assert [e["type"] for e in without] == ["ADDED", "MODIFIED", "DELETED"]


async def test_send_initial_events_ends_with_the_annotated_bookmark(api: Api) -> None:
    await api.local.create(CONFIGMAPS, _cm("i"), "default")
    query = {
        "watch": "true",
        "sendInitialEvents": "true",
        "allowWatchBookmarks": "true",
        "timeoutSeconds": "1",
    }
    path = "/api/v1/namespaces/default/configmaps"
    local = await _all(api.local.transport.watch(path, query))
    http = await _all(api.http.transport.watch(path, query))
    assert _summary(local) == _summary(http)
    assert local[0]["type"] == "ADDED"
    assert local[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_compacted_resource_version_is_410_expired(api: Api) -> None:
    start = await _history(api.local)
    assert api.server.storage is not None
    await api.local.create(CONFIGMAPS, _cm("later"), "default")
    await api.server.storage.compact(await api.server.storage.current_revision())
    local = await _all(api.local.watch(CONFIGMAPS, "default", resource_version=start))
    http = await _all(api.http.watch(CONFIGMAPS, "default", resource_version=start))
    assert local[0]["type"] == "ERROR" and local[0]["object"]["code"] == 410
    assert local[0]["object"]["reason"] == "Expired"
    assert local == http


async def test_bad_selector_and_resource_version_are_errors_as_over_http(api: Api) -> None:
    for kwargs in ({"label_selector": "a in (b"}, {"resource_version": "abc"}):
        local = await _all(api.local.watch(CONFIGMAPS, "default", timeout_seconds=1, **kwargs))
        http = await _all(api.http.watch(CONFIGMAPS, "default", timeout_seconds=1, **kwargs))
        assert local[0]["type"] == "ERROR" and local[0]["object"]["code"] == 400
        assert local == http


async def test_server_shutdown_ends_in_process_watches(api: Api) -> None:
    stream = api.local.watch(CONFIGMAPS, "default", resource_version="0", allow_bookmarks=False)
    task = asyncio.create_task(_all(stream))
    await asyncio.sleep(0.1)
    assert api.server.handlers is not None
    api.server.handlers.shut_down()
    events = await asyncio.wait_for(task, 5)
    assert all(e["type"] == "ADDED" for e in events)


async def test_values_in_the_older_storage_layout_are_served_alike(api: Api) -> None:
    """Values written before apiVersion/kind led the stored bytes: listed and watched whole."""
    assert api.server.storage is not None
    start = (await api.local.list(CONFIGMAPS, "default"))["metadata"]["resourceVersion"]
    key = CONFIGMAPS.storage_key("default", "legacy")
    await api.server.storage.create(
        key, b'{"metadata":{"name":"legacy","namespace":"default"},"data":{"a":"b"}}'
    )
    for client in (api.local, api.http):
        [event] = await _take(client.watch(CONFIGMAPS, "default", resource_version=str(start)), 1)
        obj = event["object"]
        assert (event["type"], obj["kind"], obj["apiVersion"], obj["data"]) == (
            "ADDED",
            "ConfigMap",
            "v1",
            {"a": "b"},
        )
        listed = await client.list(CONFIGMAPS, "default")
        [item] = [i for i in listed["items"] if i["metadata"]["name"] == "legacy"]
        assert item["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
