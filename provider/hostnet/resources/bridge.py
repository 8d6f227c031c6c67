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

from collections.abc import Mapping
from typing import Any

from hostnet import errors
from hostnet.agent_client import Agent
from hostnet.ids import make_id
from hostnet.ownership import claim, is_mine
from hostnet.protocol import Op
from hostnet.resources._base import (
    FieldPolicy,
    Step,
    create_and_update,
    delete_quietly,
    run_plan,
    undo_with,
    verified,
)
from hostnet.validate import Checker, Failure, check_management_address

KIND = "bridge"
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
        host=inputs["host"]["name"], kind=KIND, name=inputs["name"], netns=inputs.get("netns")
    )


def _observe(
    agent: Agent, inputs: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    links: list[dict[str, Any]] = agent.call("link_list", netns=inputs.get("netns"))
    bridge = next((link for link in links if link["ifname"] == inputs["name"]), None)
    return bridge, links


def _foreign_ports(links: list[dict[str, Any]], name: str, uplink: str | None = None) -> list[str]:
    """Ports of the bridge that no hostnet resource owns (NICs such as ens34)."""
    return sorted(
        link["ifname"]
        for link in links
        if link.get("master") == name and link["ifname"] != uplink and link.get("owner") is None
    )


def _port_op(op: str, inputs: Mapping[str, Any], rid: str, port: str) -> Op:
    """Attach a NIC to the bridge, or give it back in the state it had before
    (admin state, promisc, mtu: recorded on the host when it joined)."""
    args = {"netns": inputs.get("netns"), "ifname": port, "master": inputs["name"]}
    return Op(op=op, args={**args, **claim(inputs, rid=rid)})


def _port_steps(
    inputs: Mapping[str, Any], rid: str, links: list[dict[str, Any]], current: list[str]
) -> list[Step]:
    name = inputs["name"]
    by_name = {link["ifname"]: link for link in links}
    steps: list[Step] = []
    for port in inputs.get("ports", []):
        link = by_name.get(port)
        if link is None:
            raise errors.InvalidInput("ports", f"{port!r} does not exist on the host")
        if link.get("master") not in (None, name):
            raise errors.InvalidInput("ports", f"{port!r} is already a port of {link['master']!r}")
        if port in current:
            continue
        steps.append(
            Step(
                op=_port_op("port_attach", inputs, rid, port),
                # A NIC left up by a failed create would be a change nobody asked for.
                undo=undo_with([_port_op("port_release", inputs, rid, port)]),
            )
        )
    for port in current:
        if port not in inputs.get("ports", []):
            steps.append(Step(op=_port_op("port_release", inputs, rid, port)))
    return steps


def _apply(agent: Agent, rid: str, inputs: Mapping[str, Any]) -> None:
    """Bring the host to the inputs; undo what this call did if a step fails."""
    netns, name, own = inputs.get("netns"), inputs["name"], claim(inputs, rid=rid)
    bridge, links = _observe(agent, inputs)
    created = bridge is None
    uplink = inputs.get("uplink")
    current = _foreign_ports(links, name, uplink) if bridge else []
    ensure = Op(
        op="link_ensure_bridge",
        args={"netns": netns, "ifname": name, **own, "mtu": inputs.get("mtu")},
    )
    undo_create = [Op(op="link_delete", args={"netns": netns, "ifname": name, **own})]
    steps = [Step(op=ensure, undo=undo_with(undo_create) if created else ())]
    # Ports join while the bridge is still down: attaching to a running bridge
    # costs the kernel work proportional to the ports it already has.
    steps += _port_steps(inputs, rid, links, current)
    if uplink:
        takeover = {"netns": netns, "bridge": name, "nic": uplink, **own}
        steps.append(
            Step(
                op=Op(op="uplink_takeover", args=takeover),
                undo=undo_with([Op(op="uplink_release", args={**takeover, "keep_bridge": True})]),
            )
        )
    else:
        addresses = {"netns": netns, "ifname": name, "addresses": inputs.get("addresses", [])}
        steps.append(Step(op=Op(op="addr_replace", args=addresses)))
    steps.append(
        Step(
            op=Op(
                op="link_set",
                args={
                    "netns": netns,
                    "ifname": name,
                    **own,
                    "up": inputs.get("up", True),
                    "promisc": inputs.get("promisc", False),
                    "mtu": inputs.get("mtu"),
                },
            )
        )
    )
    run_plan(agent, steps)


def _outputs(rid: str, inputs: Mapping[str, Any], observed: Mapping[str, Any]) -> dict[str, Any]:
    outs = dict(inputs)
    outs.update(resource_id=rid, ifindex=observed.get("ifindex"), mac=observed.get("mac"))
    return outs


def _apply_verified(
    agent: Agent, rid: str, inputs: Mapping[str, Any], _olds: Mapping[str, Any]
) -> dict[str, Any]:
    _apply(agent, rid, inputs)
    observed = read(agent, _outputs(rid, inputs, {}))
    return verified(observed, rid=rid, inputs=inputs, fields=POLICY.update, what="bridge")


def read(agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """What is on the host, as outputs; None when the bridge is gone or not ours."""
    rid = outputs.get("resource_id") or make_id_for(outputs)
    try:
        bridge, links = _observe(agent, outputs)
    except errors.AgentError as exc:
        if exc.kind == "NotFound":
            return None  # the namespace itself is gone
        raise
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
        addresses=[] if uplink else list(bridge.get("addresses") or []),
        ports=_foreign_ports(links, outputs["name"], uplink),
        promisc=bool(bridge.get("promisc")),
        up=bool(bridge.get("up")),
    )
    if "mtu" in outputs:
        observed["mtu"] = bridge.get("mtu")
    return _outputs(rid, observed, bridge)


def delete(agent: Agent, outputs: Mapping[str, Any]) -> None:
    rid = outputs.get("resource_id") or make_id_for(outputs)
    netns, name, own = outputs.get("netns"), outputs["name"], claim(outputs, rid=rid)
    if outputs.get("uplink"):
        op = Op(
            op="uplink_release",
            args={"netns": netns, "bridge": name, "nic": outputs["uplink"], **own},
        )
    else:
        op = Op(op="link_delete", args={"netns": netns, "ifname": name, **own})
    # Ports first, each back to its own state, while the bridge still holds them.
    ports = [_port_op("port_release", outputs, rid, port) for port in outputs.get("ports") or []]
    delete_quietly(agent, [*ports, op], rid=rid)


create, update = create_and_update(make_id_for=make_id_for, apply=_apply_verified, delete=delete)
