"""Patch engines: RFC 7386, RFC 6902 and strategic merge patch as kubectl sends them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from litekube.api.patch import PatchError, json_merge_patch, json_patch, strategic_merge_patch


def _deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "finalizers": ["a"], "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:1.25",
                            "args": ["-a", "-b"],
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "env": [{"name": "A", "value": "0"}, {"name": "B", "value": "2"}],
                        },
                        {"name": "side", "image": "busybox"},
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                },
            },
        },
    }


def _smp(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    before = copy.deepcopy(target), copy.deepcopy(patch)
    result = strategic_merge_patch(target, patch, "apps", "v1", "Deployment")
    assert (target, patch) == before  # inputs untouched
    return result


# --- JSON merge patch ---------------------------------------------------------------------


def test_merge_patch_merges_maps_deletes_nulls_and_replaces_lists() -> None:
    target = {"a": {"b": 1, "c": 2}, "l": [1, 2], "keep": True}
    result = json_merge_patch(target, {"a": {"b": None, "d": {"e": None, "f": 1}}, "l": [3]})
    assert result == {"a": {"c": 2, "d": {"f": 1}}, "l": [3], "keep": True}
    assert target == {"a": {"b": 1, "c": 2}, "l": [1, 2], "keep": True}


def test_merge_patch_replaces_scalar_with_map() -> None:
    assert json_merge_patch({"a": "x"}, {"a": {"b": 1}}) == {"a": {"b": 1}}


# --- JSON patch ---------------------------------------------------------------------------


def test_json_patch_all_operations() -> None:
    doc: dict[str, Any] = {
        "metadata": {"annotations": {"a/b": "1"}},
        "spec": {"list": [1, 2, 3], "x": {"y": 1}},
    }
    ops = [
        {"op": "test", "path": "/metadata/annotations/a~1b", "value": "1"},
        {"op": "add", "path": "/spec/list/-", "value": 4},
        {"op": "add", "path": "/spec/list/0", "value": 0},
        {"op": "remove", "path": "/spec/list/1"},
        {"op": "replace", "path": "/spec/x/y", "value": 2},
        {"op": "copy", "from": "/spec/x", "path": "/spec/z"},
        {"op": "move", "from": "/spec/x", "path": "/spec/moved"},
        {"op": "add", "path": "/metadata/annotations/c~0d", "value": "t"},
    ]
    result = json_patch(doc, ops)
    assert result == {
        "metadata": {"annotations": {"a/b": "1", "c~d": "t"}},
        "spec": {"list": [0, 2, 3, 4], "z": {"y": 2}, "moved": {"y": 2}},
    }
    assert doc["spec"]["list"] == [1, 2, 3]


def test_json_patch_rollout_undo_replaces_template() -> None:
    live = _deployment()
    template = {"metadata": {"creationTimestamp": None, "labels": {"app": "web"}}, "spec": {"containers": []}}
    result = json_patch(live, [{"op": "replace", "path": "/spec/template", "value": template}])
    assert result["spec"]["template"] == template


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        ([{"op": "test", "path": "/a", "value": 2}], "test failed"),
        ([{"op": "test", "path": "/a", "value": True}], "test failed"),  # true is not 1
        ([{"op": "remove", "path": "/missing"}], "missing"),
        ([{"op": "replace", "path": "/missing", "value": 1}], "missing"),
        ([{"op": "add", "path": "/l/5", "value": 1}], "out of bounds"),
        ([{"op": "add", "path": "/l/01", "value": 1}], "invalid array index"),
        ([{"op": "bogus", "path": "/a"}], "unexpected kind of operation"),
        ([{"op": "add", "path": "a", "value": 1}], "must start with"),
        ([{"op": "move", "from": "/m", "path": "/m/x"}], "own child"),
    ],
)
def test_json_patch_failures_raise_patch_error(ops: list[Any], message: str) -> None:
    with pytest.raises(PatchError, match=message):
        json_patch({"a": 1, "l": [1], "m": {}}, ops)


# --- strategic merge patch ----------------------------------------------------------------


def test_smp_three_way_apply_changes_env_and_removes_container() -> None:
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"}},
        "spec": {
            "replicas": None,
            "template": {
                "metadata": {"labels": {"tier": "fe"}},
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}],
                    "containers": [
                        {"env": [{"name": "A", "value": "1"}], "name": "nginx", "ports": None},
                        {"$patch": "delete", "name": "side"},
                    ],
                },
            },
        },
    }
    result = _smp(_deployment(), patch)
    spec = result["spec"]
    assert "replicas" not in spec
    assert result["metadata"]["annotations"] == {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"}
    assert spec["template"]["metadata"]["labels"] == {"app": "web", "tier": "fe"}
    assert spec["template"]["spec"]["containers"] == [
        {
            "name": "nginx",
            "image": "nginx:1.25",
            "args": ["-a", "-b"],
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        }
    ]


def test_smp_set_image() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}, {"name": "side"}],
                    "containers": [{"image": "nginx:1.27", "name": "nginx"}],
                }
            }
        }
    }
    containers = _smp(_deployment(), patch)["spec"]["template"]["spec"]["containers"]
    assert [c["image"] for c in containers] == ["nginx:1.27", "busybox"]
    assert containers[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]


def test_smp_set_element_order_reorders_and_adds() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "new"}, {"name": "side"}, {"name": "nginx"}],
                    "containers": [{"name": "new", "image": "x"}],
                }
            }
        }
    }
    containers = _smp(_deployment(), patch)["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["new", "side", "nginx"]


def test_smp_retain_keys_switches_strategy_to_recreate() -> None:
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"}}}
    assert _smp(_deployment(), patch)["spec"]["strategy"] == {"type": "Recreate"}


def test_smp_retain_keys_rejects_a_key_it_does_not_list() -> None:
    with pytest.raises(PatchError, match="retainKeys"):
        _smp(
            _deployment(), {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}}
        )


def test_smp_volumes_merge_by_name_with_retain_keys() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "volumes": [
                        {"$retainKeys": ["configMap", "name"], "name": "data", "configMap": {"name": "cfg"}},
                        {"name": "extra", "emptyDir": {}},
                    ]
                }
            }
        }
    }
    volumes = _smp(_deployment(), patch)["spec"]["template"]["spec"]["volumes"]
    assert volumes == [{"name": "data", "configMap": {"name": "cfg"}}, {"name": "extra", "emptyDir": {}}]


def test_smp_ports_merge_by_container_port_and_args_replace() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "args": ["-c"],
                            "ports": [{"containerPort": 443}, {"containerPort": 80, "name": "http"}],
                        }
                    ]
                }
            }
        }
    }
    nginx = _smp(_deployment(), patch)["spec"]["template"]["spec"]["containers"][0]
    assert nginx["args"] == ["-c"]
    assert nginx["ports"] == [
        {"containerPort": 80, "protocol": "TCP", "name": "http"},
        {"containerPort": 443},
    ]


def test_smp_finalizers_union_and_delete_from_primitive_list() -> None:
    union = _smp(_deployment(), {"metadata": {"finalizers": ["b", "a"]}})
    assert union["metadata"]["finalizers"] == ["a", "b"]
    removed = _smp(union, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert removed["metadata"]["finalizers"] == ["b"]


def test_smp_patch_replace_directive_on_map_and_list() -> None:
    replaced_map = _smp(
        _deployment(), {"spec": {"template": {"metadata": {"$patch": "replace", "labels": {"x": "y"}}}}}
    )
    assert replaced_map["spec"]["template"]["metadata"] == {"labels": {"x": "y"}}
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "i"}]}}
        }
    }
    assert _smp(_deployment(), patch)["spec"]["template"]["spec"]["containers"] == [
        {"name": "only", "image": "i"}
    ]


def test_smp_patch_delete_directive_on_map() -> None:
    result = _smp(_deployment(), {"spec": {"strategy": {"$patch": "delete"}}})
    assert result["spec"]["strategy"] == {}


def test_smp_service_ports_merge_by_port() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 80, "targetPort": 8080}]}}
    result = strategic_merge_patch(
        svc, {"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 443}]}}, "", "v1", "Service"
    )
    assert result["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]


def test_smp_missing_merge_key_is_an_error() -> None:
    with pytest.raises(PatchError, match="merge key"):
        _smp(_deployment(), {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})


def test_smp_unknown_kind_behaves_like_merge_patch() -> None:
    target = {"spec": {"items": [1, 2], "a": 1}}
    result = strategic_merge_patch(target, {"spec": {"items": [3], "a": None}}, "example.com", "v1", "Widget")
    assert result == {"spec": {"items": [3]}}
