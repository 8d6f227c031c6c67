"""Route plans: the gateway decided from what observe read, undo only for a route
the plan makes."""

from __future__ import annotations

from typing import Any

import pytest

from hostnet import errors
from hostnet.resources import route

RID = "h1/route/198.18.1.0/24"
HOST = {"name": "h1", "address": "10.0.0.1"}
SPEC = {"host": HOST, "dst": "198.18.1.0/24", "via": "10.0.0.9", "resource_id": RID}
ENSURE = f"route_ensure dst='198.18.1.0/24' owner='{RID}' via='10.0.0.9'"
DIRECT = {"dst": "10.0.0.9", "via": None, "type": "unicast", "dev": "eth0"}


def test_a_new_route_is_deleted_again_if_the_create_fails() -> None:
    plan = route.plan(SPEC, {"route": None, "used": DIRECT}, {})
    assert str(plan) == f"{ENSURE}  (undo: route_delete dst='198.18.1.0/24' owner='{RID}')"


def test_a_route_that_is_there_is_taken_over_and_stays() -> None:
    found = {"dst": "198.18.1.0/24", "via": "10.0.0.8", "owner": {"id": RID}}
    plan = route.plan(SPEC, {"route": found, "used": DIRECT}, {})
    assert str(plan) == ENSURE
    assert not plan.makes


def test_every_field_reaches_the_agent() -> None:
    spec = {**SPEC, "netns": "ns1", "dev": "d0", "src": "10.0.0.2", "table": 100, "metric": 5}
    plan = route.plan({**spec, "onlink": True}, {"route": None}, {})
    assert str(plan).split("  (undo")[0] == (
        f"route_ensure dev='d0' dst='198.18.1.0/24' metric=5 netns='ns1' onlink=True "
        f"owner='{RID}' src='10.0.0.2' table=100 via='10.0.0.9'"
    )


@pytest.mark.parametrize(
    ("routes", "connected"),
    [
        ([], "none"),
        ([{"dst": "10.1.0.0/24", "scope": "link", "family": 4}], "10.1.0.0/24"),
        # A gateway route to the network is no connected network.
        ([{"dst": "10.0.0.0/24", "via": "10.1.0.1", "type": "unicast", "family": 4}], "none"),
    ],
)
def test_a_gateway_outside_every_connected_network_is_refused(
    routes: list[dict[str, Any]], connected: str
) -> None:
    used = {"dst": "10.0.0.9", "via": "10.1.0.1", "type": "unicast"}
    with pytest.raises(errors.InvalidInput) as refused:
        route.plan(SPEC, {"route": None, "used": used, "routes": routes}, {})
    assert refused.value.field == "via"
    assert refused.value.reason == (
        f"10.0.0.9 is not inside any network connected in the host namespace ({connected})"
    )


def test_a_gateway_in_a_connected_network_passes_when_the_lookup_does_not_say() -> None:
    routes = [
        {"dst": "10.0.0.0/24", "scope": "link", "family": 4},
        {"dst": "default", "via": "10.0.0.1", "family": 4},
    ]
    plan = route.plan(SPEC, {"route": None, "used": None, "routes": routes}, {})
    assert plan.ops[0].op == "route_ensure"


def test_an_ipv6_connected_network_counts_without_scope_link() -> None:
    spec = {**SPEC, "dst": "2001:db8:1::/64", "via": "2001:db8::9"}
    routes = [{"dst": "2001:db8::/64", "family": 6, "type": "unicast", "scope": "global"}]
    plan = route.plan(spec, {"route": None, "used": None, "routes": routes}, {})
    assert plan.ops[0].args["via"] == "2001:db8::9"


def test_onlink_and_dev_only_routes_need_no_gateway_check() -> None:
    for spec in ({**SPEC, "onlink": True}, {**SPEC, "via": None, "dev": "eth0"}):
        assert route.plan(spec, {"route": None}, {}).ops[0].op == "route_ensure"


def test_delete_removes_only_the_route_at_its_key() -> None:
    spec = {**SPEC, "netns": "ns1", "table": 100, "metric": 5}
    assert [op.wire() for op in route.retire(spec)] == [
        {
            "op": "route_delete",
            "args": {
                "netns": "ns1",
                "dst": "198.18.1.0/24",
                "metric": 5,
                "table": 100,
                "owner": RID,
            },
        }
    ]
