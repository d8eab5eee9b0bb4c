"""The filters compare resources in upstream's integer units, each quantity rounded up."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from litekube.scheduler.filters import resources_fit
from litekube.scheduler.nodeinfo import NodeInfo, PodView
from litekube.scheduler.resources import NodeUsage, pod_requests, to_units
from litekube.scheduler.scheduler import feasible_nodes_to_find

quantities = st.fractions(min_value=0, max_value=10**12, max_denominator=10**9)


@given(quantities)
def test_units_round_up_like_upstream(quantity: Fraction) -> None:
    milli = to_units("cpu", quantity)
    assert milli >= quantity * 1000 > milli - 1
    whole = to_units("memory", quantity)
    assert whole >= quantity > whole - 1


def _node(cpu: str, pods: str = "110") -> NodeInfo:
    return NodeInfo.of(
        {
            "metadata": {"name": "n1", "resourceVersion": "1"},
            "status": {
                "allocatable": {"cpu": cpu, "memory": "1Gi", "pods": pods},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }
    )


def _pod(name: str, cpu: str) -> dict[str, object]:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]},
    }


def _view(cpu: str) -> PodView:
    pod = _pod("new", cpu)
    return PodView.of(pod, pod_requests(pod))


def test_fit_at_the_boundary() -> None:
    # two 500m pods on a 1-core node: a third 1m pod does not fit
    usage = NodeUsage()
    usage.set_pod("default/a", _pod("a", "500m"))
    usage.set_pod("default/b", _pod("b", "500m"))
    failure = resources_fit(_view("1m"), _node("1"), usage.totals("n1"))
    assert failure is not None and failure.reasons == ("Insufficient cpu",)
    assert resources_fit(_view("500m"), _node("1500m"), usage.totals("n1")) is None


def test_each_pod_is_rounded_up_on_its_own() -> None:
    # upstream sums MilliValue() per pod: 0.0001 cores counts as 1m, so 999m no longer fits
    usage = NodeUsage()
    usage.set_pod("default/a", _pod("a", "0.0001"))
    assert usage.totals("n1").requested_units["cpu"] == 1
    failure = resources_fit(_view("1000m"), _node("1"), usage.totals("n1"))
    assert failure is not None
    assert resources_fit(_view("999m"), _node("1"), usage.totals("n1")) is None
    usage.remove("default/a")
    assert usage.totals("n1").requested_units["cpu"] == 0


def test_too_many_pods() -> None:
    usage = NodeUsage()
    usage.set_pod("default/a", _pod("a", "1m"))
    failure = resources_fit(_view("1m"), _node("4", pods="1"), usage.totals("n1"))
    assert failure is not None and failure.reasons == ("Too many pods",)


def test_feasible_nodes_to_find_follows_upstream() -> None:
    assert feasible_nodes_to_find(3) == 3
    assert feasible_nodes_to_find(100) == 100
    assert feasible_nodes_to_find(150) == 100  # 49% is 73, raised to the 100 minimum
    assert feasible_nodes_to_find(1000) == 420  # 50 - 8 = 42%
    assert feasible_nodes_to_find(6000) == 300  # 50 - 48 = 2%, raised to 5%
