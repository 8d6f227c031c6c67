"""A veth pair: the host end (optionally in a bridge) and its peer in a namespace.

The peer is created directly in its namespace (a named netns, ``pid:N``, a path
or ``container:NAME``), so no half-placed pair is ever visible. Both ends carry
hostnet's mark; deleting the host end removes the pair.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from hostnet.agent_client import Agent
from hostnet.ids import make_id
from hostnet.ownership import claim, is_mine
from hostnet.protocol import Op
from hostnet.resources._base import FieldPolicy, Kind, Plan, Spec, Step, as_declared, register
from hostnet.resources._readback import read_or_none
from hostnet.validate import Checker, Failure, check_management_address

NAME = "veth"
WHAT = "veth pair"
POLICY = FieldPolicy(
    replace=frozenset({"host", "name", "peer_name", "peer_netns"}),
    update=frozenset({"master", "addresses", "peer_addresses", "mtu", "promisc", "up"}),
    # The pair is made again with the peer elsewhere; the old pair holds the name.
    recreate=frozenset({"peer_name", "peer_netns"}),
)


def check(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    c = Checker(news, inputs=POLICY.inputs)
    c.host()
    name = c.ifname("name")
    peer = c.ifname("peer_name")
    peer_netns = c.netns("peer_netns")
    if name and peer and name == peer and news.get("peer_netns") is None:
        c.fail("peer_name", "must differ from name when both ends stay in the host namespace")
    master = c.ifname("master", required=False)
    if master and master in (name, peer):
        c.fail("master", "a veth end cannot be its own bridge")
    check_management_address(c, "addresses", c.interfaces("addresses"))
    peer_addresses = c.interfaces("peer_addresses")
    if peer_netns is None and not c.unknown("peer_netns"):
        check_management_address(c, "peer_addresses", peer_addresses)
    c.integer("mtu", low=68, high=65535)
    c.boolean("promisc", default=False)
    c.boolean("up", default=True)
    return c.result()


def make_id_for(inputs: Mapping[str, Any]) -> str:
    return make_id(host=inputs["host"]["name"], kind=NAME, name=inputs["name"])


def _set_ends(spec: Spec) -> list[Step]:
    peer_netns, up = spec.get("peer_netns"), spec.get("up", True)
    promisc = spec.get("promisc", False)
    own = claim(spec, rid=spec["resource_id"])
    host_end = {"ifname": spec["name"], **own, "mtu": spec.get("mtu")}
    peer_end = {"netns": peer_netns, "ifname": spec["peer_name"], **own}
    host_addresses = {"ifname": spec["name"], "addresses": spec.get("addresses", [])}
    peer_addresses = {
        "netns": peer_netns,
        "ifname": spec["peer_name"],
        "addresses": spec.get("peer_addresses", []),
    }
    peer_state = {**peer_end, "up": up, "promisc": promisc, "mtu": spec.get("mtu")}
    # The bridge is joined last, in the same request as up (the kernel applies
    # master first), so a create that fails earlier never touches the bridge:
    # the kernel recomputes a bridge's MAC whenever a port comes or goes.
    # An empty master releases the end.
    host_state = {**host_end, "master": spec.get("master") or "", "up": up, "promisc": promisc}
    return [
        Step(op=Op(op="addr_replace", args=host_addresses)),
        Step(op=Op(op="addr_replace", args=peer_addresses)),
        Step(op=Op(op="link_set", args=peer_state)),
        Step(op=Op(op="link_set", args=host_state)),
    ]


def observe(agent: Agent, spec: Spec) -> dict[str, Any] | None:
    """The host end as the host has it; None when there is none."""
    found: dict[str, Any] | None = read_or_none(agent, "link_read", ifname=spec["name"])
    return found


def plan(spec: Spec, observed: Mapping[str, Any] | None, _olds: Spec) -> Plan:
    ensure = Op(
        op="link_ensure_veth",
        args={
            "ifname": spec["name"],
            "peer_ifname": spec["peer_name"],
            "peer_netns": spec.get("peer_netns"),
            **claim(spec, rid=spec["resource_id"]),
            "mtu": spec.get("mtu"),
        },
    )
    undo = tuple(retire(spec)) if observed is None else ()
    return Plan(steps=(Step(op=ensure, undo=undo), *_set_ends(spec)))


def reads(spec: Spec) -> list[Op]:
    """What ``read`` asks first: both ends (their answers ride in the change's batch)."""
    return [
        Op(op="link_read", args={"ifname": spec["name"]}),
        Op(op="link_read", args={"netns": spec.get("peer_netns"), "ifname": spec["peer_name"]}),
    ]


def read(agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    rid = outputs.get("resource_id") or make_id_for(outputs)
    link = read_or_none(agent, "link_read", ifname=outputs["name"])
    if (
        link is None
        or not is_mine(link.get("owner"), outputs, rid=rid)
        or link.get("kind") != "veth"
    ):
        return None
    peer = read_or_none(
        agent, "link_read", netns=outputs.get("peer_netns"), ifname=outputs["peer_name"]
    )
    observed = dict(outputs)
    observed.update(
        resource_id=rid,
        ifindex=link.get("ifindex"),
        mac=link.get("mac"),
        master=link.get("master"),
        addresses=as_declared(link.get("addresses"), outputs.get("addresses")),
        promisc=bool(link.get("promisc")),
        up=bool(link.get("up")) and bool(peer and peer.get("up")),
        peer_ifindex=peer.get("ifindex") if peer else None,
        peer_mac=peer.get("mac") if peer else None,
        # A peer that vanished (its namespace died) reads as having no addresses.
        peer_addresses=as_declared(peer.get("addresses"), outputs.get("peer_addresses"))
        if peer
        else [],
    )
    if not outputs.get("master"):
        observed["master"] = outputs.get("master") if link.get("master") is None else link["master"]
    if "mtu" in outputs:
        observed["mtu"] = link.get("mtu")
    return observed


def retire(spec: Spec) -> list[Op]:
    """Deleting the host end removes the pair."""
    own = claim(spec, rid=spec["resource_id"])
    return [Op(op="link_delete", args={"ifname": spec["name"], **own})]


KIND = register(Kind.of(sys.modules[__name__]))
