"""Label and field selectors: grammar, matching, upstream error messages, formatting."""

from __future__ import annotations

import pytest

from litekube.api.resources import lookup
from litekube.api.selectors import (
    SelectorError,
    format_label_selector,
    parse_field_selector,
    parse_label_selector,
    selector_from_spec,
)

LABELS = {"app": "web", "tier": "fe", "version": "3"}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("app!=db", True),
        ("missing!=x", True),
        ("app in (web,db)", True),
        ("app in (db)", False),
        ("app notin (db, cache)", True),
        ("missing notin (x)", True),
        ("app", True),
        ("!app", False),
        ("!missing", True),
        ("app=web,tier=fe", True),
        ("app=web,tier=be", False),
        ("  app = web ,  tier  ", True),
        ("version>2", True),
        ("version<2", False),
        ("app>2", False),
        ("example.com/role=x", False),
    ],
)
def test_label_selector_matching(text: str, matches: bool) -> None:
    assert parse_label_selector(text).matches(LABELS) is matches


def test_label_selector_empty_and_none_labels() -> None:
    assert parse_label_selector("").empty
    assert not parse_label_selector("a").empty
    assert parse_label_selector("!a").matches(None)
    assert not parse_label_selector("a=b").matches(None)


def test_label_selector_string_is_sorted_and_normalised() -> None:
    assert str(parse_label_selector("z=1, a in (c,b), !m")) == "a in (b,c),!m,z=1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("a=b,", "found '', expected: identifier after ','"),
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("=b", "found '=', expected: !, identifier, or 'end of string'"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
        (
            "app=web-",
            'unable to parse requirement: values[0][app]: Invalid value: "web-": a valid label must be an empty '
            "string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
            "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
        (
            "-app=web",
            'unable to parse requirement: <nil>: Invalid value: "-app": name part must consist of alphanumeric '
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
            "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ),
    ],
)
def test_label_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse_label_selector(text)
    assert caught.value.message == message


def test_selector_from_spec() -> None:
    assert not selector_from_spec(None).matches(LABELS)
    assert selector_from_spec({}).matches(LABELS) and selector_from_spec({}).matches(None)
    spec = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["fe", "be"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "version", "operator": "Exists"},
            {"key": "zone", "operator": "NotIn", "values": ["a"]},
        ],
    }
    selector = selector_from_spec(spec)
    assert selector.matches(LABELS)
    assert not selector.matches({**LABELS, "canary": "1"})
    assert not selector.matches({"app": "web", "tier": "fe"})
    with pytest.raises(SelectorError, match='"Bogus" is not a valid label selector operator'):
        selector_from_spec({"matchExpressions": [{"key": "a", "operator": "Bogus"}]})


def test_format_label_selector() -> None:
    spec = {
        "matchLabels": {"tier": "fe", "app": "web"},
        "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["qa", "dev"]}],
    }
    assert format_label_selector(spec) == "app=web,env notin (dev,qa),tier=fe"
    assert format_label_selector({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}) == "!a"
    assert format_label_selector(None) == "<none>"
    assert format_label_selector({}) == "<none>"
    assert (
        format_label_selector({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})
        == "<error>"
    )


PODS = lookup("", "v1", "pods")
POD = {
    "metadata": {"name": "web-1", "namespace": "prod"},
    "spec": {
        "nodeName": "node-1",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "serviceAccountName": "default",
    },
    "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}]},
}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("", True),
        ("metadata.name=web-1", True),
        ("metadata.name==web-1", True),
        ("metadata.name!=web-1", False),
        ("metadata.namespace=prod,spec.nodeName=node-1", True),
        ("spec.nodeName=", False),
        ("spec.nodeName!=", True),
        ("status.phase!=Succeeded,status.phase!=Failed", True),
        ("spec.hostNetwork=false", True),
        ("spec.host=node-1", True),
        ("status.podIP=10.0.0.5", True),
        ("status.nominatedNodeName=", True),
        ("spec.restartPolicy=Never", False),
    ],
)
def test_pod_field_selectors(text: str, matches: bool) -> None:
    assert PODS is not None
    assert parse_field_selector(PODS, text).matches(POD) is matches


def test_field_selector_errors() -> None:
    assert PODS is not None
    with pytest.raises(SelectorError, match=r"^field label not supported: spec\.foo$"):
        parse_field_selector(PODS, "spec.foo=bar")
    with pytest.raises(SelectorError, match="can't understand 'nonsense'"):
        parse_field_selector(PODS, "nonsense")
    with pytest.raises(SelectorError, match="invalid escape sequence"):
        parse_field_selector(PODS, r"metadata.name=a\b")


def test_field_selector_escaping() -> None:
    configmaps = lookup("", "v1", "configmaps")
    assert configmaps is not None
    selector = parse_field_selector(configmaps, r"metadata.name=a\,b\=c")
    assert selector.matches({"metadata": {"name": "a,b=c"}})
    with pytest.raises(SelectorError, match="field label not supported: type"):
        parse_field_selector(configmaps, "type=Opaque")


def test_kind_specific_fields() -> None:
    def matches(plural: str, group: str, text: str, obj: dict[str, object]) -> bool:
        resource = lookup(group, "v1", plural)
        assert resource is not None
        return parse_field_selector(resource, text).matches(obj)

    event = {
        "metadata": {"name": "e", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web-1", "uid": "u1"},
        "reason": "Pulled",
        "type": "Normal",
        "source": {"component": "kubelet"},
    }
    assert matches("events", "", "involvedObject.kind=Pod,involvedObject.name=web-1,reason=Pulled", event)
    assert matches("events", "", "source=kubelet,type=Normal,involvedObject.uid=u1", event)
    assert matches("events", "events.k8s.io", "regarding.name=web-1,reason=Pulled", event)
    assert matches(
        "secrets", "", "type=kubernetes.io/tls", {"metadata": {"name": "s"}, "type": "kubernetes.io/tls"}
    )
    assert matches(
        "namespaces", "", "status.phase=Active", {"metadata": {"name": "n"}, "status": {"phase": "Active"}}
    )
    assert matches("nodes", "", "spec.unschedulable=false,metadata.name=n1", {"metadata": {"name": "n1"}})
    assert matches("replicasets", "apps", "status.replicas=0", {"metadata": {"name": "r"}})
    assert matches(
        "jobs", "batch", "status.successful=2", {"metadata": {"name": "j"}, "status": {"succeeded": 2}}
    )
    assert matches(
        "services",
        "",
        "spec.type=ClusterIP,spec.clusterIP=None",
        {"metadata": {"name": "s"}, "spec": {"type": "ClusterIP", "clusterIP": "None"}},
    )
    new_events = lookup("events.k8s.io", "v1", "events")
    assert new_events is not None
    with pytest.raises(SelectorError, match=r"field label not supported: involvedObject\.kind"):
        parse_field_selector(new_events, "involvedObject.kind=Pod")
    namespaces = lookup("", "v1", "namespaces")
    assert namespaces is not None
    with pytest.raises(SelectorError, match=r"field label not supported: metadata\.namespace"):
        parse_field_selector(namespaces, "metadata.namespace=x")
