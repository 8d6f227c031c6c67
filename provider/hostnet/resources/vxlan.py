"""A VXLAN device on one host: an L2 network carried in UDP between hosts (VTEPs).

Peers are either unicast ``remotes``, each a static flooding entry in the
device's FDB (all-zero MAC, ``dst`` the peer, as ``bridge fdb append`` makes
them), or one multicast ``group`` on an underlay ``dev``. The kernel keeps no
mark on an FDB entry; the device's mark (its alias) covers the entries on it,
which die with it. Remotes change in place: entries are added and removed, the
device (and its ifindex) stays.

``dstport`` defaults to 4789, the IANA VXLAN port (Linux's own default is 8472,
which peers of other systems do not speak). ``mtu`` defaults to the underlay's
MTU minus the encapsulation (50 bytes over IPv4, 70 over IPv6): the underlay is
``dev``, or else the link that holds ``local``; with neither the kernel chooses.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Mapping
from typing import Any

from hostnet.agent_client import Agent
from hostnet.ids import make_id
from hostnet.ownership import claim, is_mine
from hostnet.protocol import Op
from hostnet.resources._base import FieldPolicy, Kind, Plan, Spec, Step, register
from hostnet.resources._readback import read_or_none
from hostnet.unknown import is_unknown
from hostnet.validate import Checker, Failure

NAME = "vxlan"
WHAT = "vxlan device"
DSTPORT = 4789
FLOOD = "00:00:00:00:00:00"
_DEVICE = frozenset({"netns", "vni", "local", "group", "dev", "dstport", "ttl", "learning"})
POLICY = FieldPolicy(
    replace=frozenset({"host", "name"}) | _DEVICE,
    update=frozenset({"remotes", "mtu", "master"}),
    # A namespace holds one device per VNI and port (whatever its local address)
    # and one per name: the old device must go before the new one can exist.
    recreate=frozenset({"name"}) | _DEVICE,
)
_OVERHEAD = {4: 50, 6: 70}  # outer IP + UDP + VXLAN + inner Ethernet


def _address(
    c: Checker, key: str, value: Any
) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except (TypeError, ValueError):
        c.fail(key, f"{value!r} is not an IP address")
        return None


def _one_address(c: Checker, key: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = c.news.get(key)
    if value is None or c.out.get(key) is not None:
        return None  # absent, or unknown (copied as such)
    found = _address(c, key, value)
    if found is not None:
        c.out[key] = str(found)
    return found


def _remotes(c: Checker, local: Any) -> list[str]:
    value = c.news.get("remotes")
    if "remotes" in c.out:
        return []  # unknown
    if not isinstance(value, list | tuple):
        if value is not None:
            c.fail("remotes", "must be a list of IP addresses")
        c.out["remotes"] = []
        return []
    found: list[str] = []
    for i, item in enumerate(value):
        key = f"remotes[{i}]"
        peer = _address(c, key, item)
        if peer is None:
            continue
        if peer.is_multicast:
            c.fail(key, f"{peer} is a multicast address; give it as group")
        elif str(peer) in found:
            c.fail(key, f"{peer} is listed twice")
        elif local is not None and peer == local:
            c.fail(key, f"{peer} is this device's own local address")
        elif local is not None and peer.version != local.version:
            c.fail(key, f"{peer} is IPv{peer.version}; local {local} is IPv{local.version}")
        elif local is None and peer.version == 6:
            c.fail(
                key, f"{peer} is IPv6: give local (an IPv6 address), without it the device is IPv4"
            )
        else:
            found.append(str(peer))
    c.out["remotes"] = found
    return found


def check(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    c = Checker(news, inputs=POLICY.inputs)
    c.host()
    name = c.ifname("name")
    c.netns()
    c.integer("vni", low=1, high=2**24 - 1, required=True)
    # Unknown during preview: copied as they are, checked when known.
    c.out.update({k: news[k] for k in ("local", "group", "remotes") if is_unknown(news.get(k))})
    local = _one_address(c, "local")
    if local is not None and (local.is_multicast or local.is_unspecified):
        c.fail("local", f"{local} cannot be a VTEP's own address")
    remotes = _remotes(c, local)
    group = _one_address(c, "group")
    dev = c.ifname("dev", required=False)
    if group is not None:
        if not group.is_multicast:
            c.fail("group", f"{group} is not a multicast address")
        if remotes:
            c.fail("group", "give remotes (unicast peers) or a group (multicast), not both")
        if not dev and "dev" not in c.out:
            c.fail("dev", "a multicast group needs the underlay device to join it on")
    if news.get("dstport") is None:
        c.out["dstport"] = DSTPORT
    c.integer("dstport", low=1, high=65535)
    c.integer("ttl", low=0, high=255)
    c.boolean("learning", default=True)
    c.integer("mtu", low=68, high=65535)
    master = c.ifname("master", required=False)
    if master and master in (name, dev):
        c.fail("master", f"{master!r} cannot be the bridge of this device")
    if dev and dev == name:
        c.fail("dev", "a vxlan device cannot be its own underlay")
    return c.result()


def make_id_for(inputs: Mapping[str, Any]) -> str:
    return make_id(
        host=inputs["host"]["name"], kind=NAME, name=inputs["name"], netns=inputs.get("netns")
    )


def observe(agent: Agent, spec: Spec) -> dict[str, Any]:
    """The peers the device floods to (None when there is no device) and the
    links of its namespace when the MTU is derived from the underlay."""
    derived = spec.get("mtu") is None and (spec.get("dev") or spec.get("local"))
    links = agent.call("link_list", netns=spec.get("netns")) if derived else []
    return {"flooding": _flooding(agent, spec), "links": links}


def _default_mtu(spec: Spec, links: list[dict[str, Any]]) -> int | None:
    """The underlay's MTU minus the encapsulation; None leaves it to the kernel."""
    dev, local = spec.get("dev"), spec.get("local")
    if dev is None and local is None:
        return None
    for link in links:
        holds = any(a.split("/")[0] == local for a in link.get("addresses") or [])
        if (dev is not None and link["ifname"] == dev) or (dev is None and holds):
            peers = [local, spec.get("group"), *(spec.get("remotes") or [])]
            known = [ipaddress.ip_address(p).version for p in peers if p]
            version = known[0] if known else 4
            return int(link["mtu"]) - _OVERHEAD[version]
    return None


def _fdb_op(op: str, spec: Spec, dst: str, **extra: Any) -> Op:
    own = claim(spec, rid=spec["resource_id"])
    args = {"netns": spec.get("netns"), "ifname": spec["name"], **own, "dst": dst}
    return Op(op=op, args={**args, "mac": FLOOD, **extra})


def _flooding(agent: Agent, spec: Spec) -> list[str] | None:
    """The peers the device floods to now; None when it does not exist."""
    found = read_or_none(agent, "fdb_list", netns=spec.get("netns"), ifname=spec["name"])
    if found is None:
        return None
    return [e["dst"] for e in found["entries"] if e["mac"] == FLOOD]


def plan(spec: Spec, observed: Mapping[str, Any], _olds: Spec) -> Plan:
    netns, name = spec.get("netns"), spec["name"]
    own = claim(spec, rid=spec["resource_id"])
    have: list[str] | None = observed["flooding"]
    mtu = spec.get("mtu") or _default_mtu(spec, observed["links"])
    ensure = Op(
        op="link_ensure_vxlan",
        args={
            "netns": netns,
            "ifname": name,
            **own,
            **{k: spec.get(k) for k in ("vni", "local", "group", "dev", "dstport", "ttl")},
            "learning": spec.get("learning", True),
            "mtu": mtu,
        },
    )
    steps = [Step(op=ensure, undo=tuple(retire(spec)) if have is None else ())]
    remotes = list(spec.get("remotes") or [])
    for dst in remotes:
        if dst not in (have or []):
            # On a device that was there, an added entry is taken back on failure;
            # on a new one the device's own undo removes it.
            undo = (_fdb_op("fdb_delete", spec, dst),) if have is not None else ()
            steps.append(Step(op=_fdb_op("fdb_ensure", spec, dst), undo=undo))
    steps += [
        Step(op=_fdb_op("fdb_delete", spec, dst, learned=True))
        for dst in have or []
        if dst not in remotes
    ]
    link = {"netns": netns, "ifname": name, **own, "master": spec.get("master") or ""}
    steps.append(Step(op=Op(op="link_set", args={**link, "mtu": mtu, "up": True})))
    return Plan(steps=tuple(steps))


def settle(spec: Spec, results: list[Any], _olds: Spec) -> dict[str, Any]:
    """The outputs to read back: the MTU the device got (the plan's last step,
    link_set, reports it), kept as the default an undeclared MTU drifts from."""
    made = results[-1] if results else None
    return {**spec, "default_mtu": made.get("mtu") if isinstance(made, Mapping) else None}


def _device_fields(vxlan: Mapping[str, Any], outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The replace fields as the host has them, for those the outputs declare."""
    found = {
        "vni": vxlan.get("id"),
        "local": vxlan.get("local"),
        "group": vxlan.get("group"),
        "dev": vxlan.get("dev"),
        "dstport": vxlan.get("port"),
        "learning": vxlan.get("learning"),
    }
    if outputs.get("ttl") is not None:
        found["ttl"] = vxlan.get("ttl")
    return {k: v for k, v in found.items() if outputs.get(k) != v}


def read(agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """What is on the host, as outputs; None when the device is gone or not ours."""
    rid = outputs.get("resource_id") or make_id_for(outputs)
    netns = outputs.get("netns")
    link = read_or_none(agent, "link_read", netns=netns, ifname=outputs["name"])
    if (
        link is None
        or link.get("kind") != "vxlan"
        or not is_mine(link.get("owner"), outputs, rid=rid)
    ):
        return None
    flooding = _flooding(agent, outputs) or []
    declared = list(outputs.get("remotes") or [])
    observed = dict(outputs)
    observed.update(_device_fields(link.get("vxlan") or {}, outputs))
    observed.update(
        resource_id=rid,
        ifindex=link.get("ifindex"),
        mac=link.get("mac"),
        # The declared order when the set is the same: order means nothing to the FDB.
        remotes=declared if sorted(declared) == sorted(flooding) else sorted(flooding),
    )
    if outputs.get("master") or link.get("master"):
        observed["master"] = link.get("master")
    if outputs.get("mtu") is not None or link.get("mtu") != outputs.get("default_mtu"):
        observed["mtu"] = link.get("mtu")  # undeclared: drift from the default shows here
    return observed


def retire(spec: Spec) -> list[Op]:
    """The device goes, and its FDB entries with it."""
    own = claim(spec, rid=spec["resource_id"])
    return [Op(op="link_delete", args={"netns": spec.get("netns"), "ifname": spec["name"], **own})]


KIND = register(Kind.of(sys.modules[__name__]))
