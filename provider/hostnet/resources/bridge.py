"""A Linux bridge on one host: the link, its addresses, the NICs it enslaves, up state.

The bridge carries hostnet's mark (its alias); a bridge of that name without the
mark (docker0, a bridge made by hand) is never adopted, changed or deleted.
Enslaved NICs such as ens34 are not owned: hostnet only sets and releases their
master.

An uplink bridge (``uplink="ens32"``) takes over a NIC that carries the host's
own traffic: the NIC's addresses, its routes and its MAC move to the bridge and
the NIC becomes its port, all in one step on the host, so the SSH session that
asked for it survives. Deleting the bridge moves everything back.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from hostnet import errors
from hostnet.agent_client import Agent
from hostnet.ids import make_id
from hostnet.ownership import claim, is_mine
from hostnet.protocol import Op
from hostnet.resources._base import FieldPolicy, Kind, Plan, Spec, Step, as_declared, register
from hostnet.validate import Checker, Failure, check_management_address

NAME = "bridge"
WHAT = "bridge"
POLICY = FieldPolicy(
    replace=frozenset({"host", "name", "netns", "uplink"}),
    update=frozenset({"addresses", "ports", "mtu", "promisc", "up"}),
    # Another uplink cannot be taken over while the first one is still the port.
    recreate=frozenset({"uplink"}),
)


def check(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    c = Checker(news, inputs=POLICY.inputs)
    c.host()
    name = c.ifname("name")
    netns = c.netns()
    addresses = c.interfaces("addresses")
    if netns is None and not c.unknown("netns"):
        check_management_address(c, "addresses", addresses)
    ports = c.ifnames("ports")
    if name and name in ports:
        c.fail("ports", f"{name!r} cannot be a port of itself")
    uplink = c.ifname("uplink", required=False)
    if uplink and uplink in ports:
        c.fail("uplink", f"{uplink!r} is the uplink; do not list it in ports too")
    if uplink and uplink == name:
        c.fail("uplink", "a bridge cannot take over itself")
    if news.get("uplink") is not None and news.get("addresses"):
        c.fail("addresses", "an uplink bridge takes its addresses from the uplink NIC")
    c.integer("mtu", low=68, high=65535)
    c.boolean("promisc", default=False)
    c.boolean("up", default=True)
    return c.result()


def make_id_for(inputs: Mapping[str, Any]) -> str:
    return make_id(
        host=inputs["host"]["name"], kind=NAME, name=inputs["name"], netns=inputs.get("netns")
    )


def observe(agent: Agent, spec: Spec) -> dict[str, Any]:
    """The bridge (None when absent) and every link of its namespace."""
    links: list[dict[str, Any]] = agent.call("link_list", netns=spec.get("netns"))
    bridge = next((link for link in links if link["ifname"] == spec["name"]), None)
    return {"bridge": bridge, "links": links}


def _foreign_ports(links: list[dict[str, Any]], name: str, uplink: str | None = None) -> list[str]:
    """Ports of the bridge that no hostnet resource owns (NICs such as ens34)."""
    return sorted(
        link["ifname"]
        for link in links
        if link.get("master") == name and link["ifname"] != uplink and link.get("owner") is None
    )


def _port_op(op: str, spec: Spec, port: str) -> Op:
    """Attach a NIC to the bridge, or give it back in the state it had before
    (admin state, promisc, mtu: recorded on the host when it joined)."""
    args = {"netns": spec.get("netns"), "ifname": port, "master": spec["name"]}
    return Op(op=op, args={**args, **claim(spec, rid=spec["resource_id"])})


def _port_steps(spec: Spec, links: list[dict[str, Any]], current: list[str]) -> list[Step]:
    name = spec["name"]
    by_name = {link["ifname"]: link for link in links}
    steps: list[Step] = []
    for port in spec.get("ports", []):
        link = by_name.get(port)
        if link is None:
            raise errors.InvalidInput("ports", f"{port!r} does not exist on the host")
        if link.get("master") not in (None, name):
            raise errors.InvalidInput("ports", f"{port!r} is already a port of {link['master']!r}")
        # A port the bridge has is attached again: the agent leaves it as it is
        # but moves its record to this instance when the bridge was taken over.
        # A NIC left up by a failed create would be a change nobody asked for.
        undo = () if port in current else (_port_op("port_release", spec, port),)
        steps.append(Step(op=_port_op("port_attach", spec, port), undo=undo))
    for port in current:
        if port not in spec.get("ports", []):
            steps.append(Step(op=_port_op("port_release", spec, port)))
    return steps


def plan(spec: Spec, observed: Mapping[str, Any], _olds: Spec) -> Plan:
    """The steps from what the host has to the spec."""
    netns, name = spec.get("netns"), spec["name"]
    own = claim(spec, rid=spec["resource_id"])
    bridge, links = observed["bridge"], observed["links"]
    uplink = spec.get("uplink")
    current = _foreign_ports(links, name, uplink) if bridge else []
    ensure = Op(
        op="link_ensure_bridge",
        args={"netns": netns, "ifname": name, **own, "mtu": spec.get("mtu")},
    )
    undo_create = (Op(op="link_delete", args={"netns": netns, "ifname": name, **own}),)
    steps = [Step(op=ensure, undo=undo_create if bridge is None else ())]
    # Ports join while the bridge is still down: attaching to a running bridge
    # costs the kernel work proportional to the ports it already has.
    steps += _port_steps(spec, links, current)
    if uplink:
        takeover = {"netns": netns, "bridge": name, "nic": uplink, **own}
        steps.append(
            Step(
                op=Op(op="uplink_takeover", args=takeover),
                undo=(Op(op="uplink_release", args={**takeover, "keep_bridge": True}),),
            )
        )
    else:
        addresses = {"netns": netns, "ifname": name, "addresses": spec.get("addresses", [])}
        steps.append(Step(op=Op(op="addr_replace", args=addresses)))
    state = {"up": spec.get("up", True), "promisc": spec.get("promisc", False)}
    link_set = {"netns": netns, "ifname": name, **own, **state, "mtu": spec.get("mtu")}
    steps.append(Step(op=Op(op="link_set", args=link_set)))
    return Plan(steps=tuple(steps))


def read(agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """What is on the host, as outputs; None when the bridge is gone or not ours."""
    rid = outputs.get("resource_id") or make_id_for(outputs)
    try:
        found = observe(agent, outputs)
    except errors.AgentError as exc:
        if exc.kind == "NotFound":
            return None  # the namespace itself is gone
        raise
    bridge, links = found["bridge"], found["links"]
    if (
        bridge is None
        or not is_mine(bridge.get("owner"), outputs, rid=rid)
        or bridge.get("kind") != "bridge"
    ):
        return None
    observed = dict(outputs)
    uplink = outputs.get("uplink")
    if uplink:
        nic = next((link for link in links if link["ifname"] == uplink), None)
        if nic is None or nic.get("master") != outputs["name"]:
            observed["uplink"] = None  # released by hand: take it over again
    observed.update(
        # An uplink bridge's addresses are the NIC's; they are not declared here.
        addresses=[] if uplink else as_declared(bridge.get("addresses"), outputs.get("addresses")),
        ports=_foreign_ports(links, outputs["name"], uplink),
        promisc=bool(bridge.get("promisc")),
        up=bool(bridge.get("up")),
    )
    if "mtu" in outputs:
        observed["mtu"] = bridge.get("mtu")
    observed.update(resource_id=rid, ifindex=bridge.get("ifindex"), mac=bridge.get("mac"))
    return observed


def retire(spec: Spec) -> list[Op]:
    netns, name = spec.get("netns"), spec["name"]
    own = claim(spec, rid=spec["resource_id"])
    if spec.get("uplink"):
        op = Op(
            op="uplink_release",
            args={"netns": netns, "bridge": name, "nic": spec["uplink"], **own},
        )
    else:
        op = Op(op="link_delete", args={"netns": netns, "ifname": name, **own})
    # Ports first, each back to its own state, while the bridge still holds them.
    ports = [_port_op("port_release", spec, port) for port in spec.get("ports") or []]
    return [*ports, op]


KIND = register(Kind.of(sys.modules[__name__]))
