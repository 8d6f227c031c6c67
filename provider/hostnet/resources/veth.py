"""A veth pair: the host end (optionally in a bridge) and its peer in a namespace.

The peer is created directly in its namespace (a named netns, ``pid:N``, a path
or ``container:NAME``), so no half-placed pair is ever visible. Both ends carry
hostnet's mark; deleting the host end removes the pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hostnet.agent_client import Agent
from hostnet.ids import make_id
from hostnet.ownership import claim, is_mine
from hostnet.protocol import Op
from hostnet.resources._base import (
    FieldPolicy,
    Step,
    create_and_update,
    delete_quietly,
    read_or_none,
    run_plan,
    undo_with,
    verified,
)
from hostnet.validate import Checker, Failure, check_management_address

KIND = "veth"
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
    return make_id(host=inputs["host"]["name"], kind=KIND, name=inputs["name"])


def _set_ends(inputs: Mapping[str, Any], rid: str) -> list[Step]:
    peer_netns, up = inputs.get("peer_netns"), inputs.get("up", True)
    promisc = inputs.get("promisc", False)
    own = claim(inputs, rid=rid)
    host_end = {"ifname": inputs["name"], **own, "mtu": inputs.get("mtu")}
    peer_end = {"netns": peer_netns, "ifname": inputs["peer_name"], **own}
    return [
        Step(
            op=Op(
                op="addr_replace",
                args={"ifname": inputs["name"], "addresses": inputs.get("addresses", [])},
            )
        ),
        Step(
            op=Op(
                op="addr_replace",
                args={
                    "netns": peer_netns,
                    "ifname": inputs["peer_name"],
                    "addresses": inputs.get("peer_addresses", []),
                },
            )
        ),
        Step(
            op=Op(
                op="link_set",
                args={**peer_end, "up": up, "promisc": promisc, "mtu": inputs.get("mtu")},
            )
        ),
        # The bridge is joined last, in the same request as up (the kernel applies
        # master first), so a create that fails earlier never touches the bridge:
        # the kernel recomputes a bridge's MAC whenever a port comes or goes.
        # An empty master releases the end.
        Step(
            op=Op(
                op="link_set",
                args={
                    **host_end,
                    "master": inputs.get("master") or "",
                    "up": up,
                    "promisc": promisc,
                },
            )
        ),
    ]


def _apply(agent: Agent, rid: str, inputs: Mapping[str, Any]) -> None:
    existing = read_or_none(agent, "link_read", ifname=inputs["name"])
    ensure = Op(
        op="link_ensure_veth",
        args={
            "ifname": inputs["name"],
            "peer_ifname": inputs["peer_name"],
            "peer_netns": inputs.get("peer_netns"),
            **claim(inputs, rid=rid),
            "mtu": inputs.get("mtu"),
        },
    )
    undo = [Op(op="link_delete", args={"ifname": inputs["name"], **claim(inputs, rid=rid)})]
    steps = [Step(op=ensure, undo=undo_with(undo) if existing is None else ())]
    run_plan(agent, steps + _set_ends(inputs, rid))


def _apply_verified(
    agent: Agent, rid: str, inputs: Mapping[str, Any], _olds: Mapping[str, Any]
) -> dict[str, Any]:
    _apply(agent, rid, inputs)
    observed = read(agent, {**inputs, "resource_id": rid})
    return verified(observed, rid=rid, inputs=inputs, fields=POLICY.update, what="veth pair")


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
        addresses=list(link.get("addresses") or []),
        promisc=bool(link.get("promisc")),
        up=bool(link.get("up")) and bool(peer and peer.get("up")),
        peer_ifindex=peer.get("ifindex") if peer else None,
        peer_mac=peer.get("mac") if peer else None,
        # A peer that vanished (its namespace died) reads as having no addresses.
        peer_addresses=list(peer.get("addresses") or []) if peer else [],
    )
    if not outputs.get("master"):
        observed["master"] = outputs.get("master") if link.get("master") is None else link["master"]
    if "mtu" in outputs:
        observed["mtu"] = link.get("mtu")
    return observed


def delete(agent: Agent, outputs: Mapping[str, Any]) -> None:
    rid = outputs.get("resource_id") or make_id_for(outputs)
    own = claim(outputs, rid=rid)
    delete_quietly(agent, [Op(op="link_delete", args={"ifname": outputs["name"], **own})], rid=rid)


create, update = create_and_update(make_id_for=make_id_for, apply=_apply_verified, delete=delete)
