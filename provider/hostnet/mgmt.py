"""Which changes may cut the management path, decided offline from inputs alone.

The management path is what hostnet itself rides on: the SSH connection from the
controller to the host, through the host namespace's routes, links and INPUT/OUTPUT
filter. A change that touches one of those may lock the controller out, so it is
applied under a guard (hostnet.guard): the host reverts it by itself unless the
controller proves, over a new SSH connection, that it still gets in.

``classify`` reads no host: the SDK calls it to warn at `pulumi preview`, and the
provider calls it to decide whether to arm a guard. What it returns also names
what the host must save before the change (``touches``), in terms the agent's
``guard_arm`` op understands.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Host-namespace sysctls whose change can stop the host answering on its address:
# reverse-path filtering drops asymmetric replies, disable_ipv6 removes addresses,
# forwarding on IPv6 turns router advertisements off (and with them the default route).
_CUTTING_SYSCTLS = ("rp_filter", "disable_ipv6", "forwarding", "arp_ignore", "arp_filter")


@dataclass(frozen=True, kw_only=True)
class Cut:
    """A change that may cut the path: why, and what the guard must save first."""

    reason: str
    touches: tuple[dict[str, Any], ...]


def describe(host: Mapping[str, Any], reason: str, *, dev: str | None = None) -> str:
    """'may cut the management path of h1 (10.32.171.202 via ens32): <reason>'."""
    where = str(host.get("address"))
    if dev:
        where += f" via {dev}"
    return f"may cut the management path of {host.get('name')} ({where}): {reason}"


def classify(
    *,
    kind: str,
    inputs: Mapping[str, Any],
    olds: Mapping[str, Any] | None = None,
    peer: str | None = None,
) -> Cut | None:
    """None when the change is safe for the management path, else the Cut.

    ``olds`` are the resource's outputs before an update (None for a create): a
    field already applied cuts nothing new. ``peer`` is the controller's address
    as the host sees it, when known (``refine`` narrows the cut by the links the
    path rides on, when the host names them). Objects inside another namespace
    never carry the host's own traffic.
    """
    if inputs.get("netns"):
        return None
    check = _KINDS.get(kind)
    return None if check is None else check(inputs, olds or {}, peer)


def only_links(cut: Cut | None) -> bool:
    """Whether the cut touches links only (a bridge's), which the host can rule out."""
    return cut is not None and all(t.get("what") == "link" for t in cut.touches)


def refine(cut: Cut | None, devices: frozenset[str]) -> Cut | None:
    """The cut, unless it touches only links and none of ``devices``, the links
    the path rides on as the host reports them now."""
    if cut is None or not devices or not only_links(cut):
        return cut
    return cut if {str(t["ifname"]) for t in cut.touches} & devices else None


def path_devices(path: Mapping[str, Any] | None) -> frozenset[str]:
    """The links a management path (the agent's ``management``) rides on."""
    return frozenset(str(path[k]) for k in ("dev", "local_dev") if path and path.get(k))


def _changed(key: str, inputs: Mapping[str, Any], olds: Mapping[str, Any], default: Any) -> bool:
    return not olds or olds.get(key, default) != inputs.get(key, default)


def _link(ifname: str) -> dict[str, Any]:
    return {"what": "link", "ifname": ifname}


def _bridge(inputs: Mapping[str, Any], olds: Mapping[str, Any], _peer: str | None) -> Cut | None:
    name = str(inputs["name"])
    reasons: list[str] = []
    nics: list[str] = []
    uplink = inputs.get("uplink")
    if uplink and _changed("uplink", inputs, olds, None):
        reasons.append(f"{name} takes over {uplink}")
        nics.append(str(uplink))
    new_ports = [p for p in inputs.get("ports") or [] if p not in (olds.get("ports") or [])]
    if new_ports:
        reasons.append(f"{', '.join(new_ports)} enslaved to {name}")
        nics += [str(p) for p in new_ports]
    if inputs.get("up", True) is False and (not olds or olds.get("up", True) is not False):
        reasons.append(f"{name} set down")
        if uplink:
            nics.append(str(uplink))
    if not reasons:
        return None
    # The bridge first: deleting it (if the change made it) frees its ports.
    touches = (_link(name), *(_link(n) for n in dict.fromkeys(nics)))
    return Cut(reason="; ".join(reasons), touches=touches)


def _covers(dst: str, address: str | None) -> bool:
    if not address:
        return False
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(dst, strict=False)
    except ValueError:
        return False  # a name, not an address: only the default route is known to matter


def _route(inputs: Mapping[str, Any], olds: Mapping[str, Any], peer: str | None) -> Cut | None:
    fields = ("via", "dev", "src", "onlink")
    if olds and all(olds.get(k) == inputs.get(k) for k in fields):
        return None
    dst = str(inputs["dst"])
    address = str(inputs.get("host", {}).get("address", ""))
    if dst == "default":
        reason = "default route replaced"
    elif _covers(dst, peer):
        reason = f"route to the controller {peer} replaced by {dst}"
    elif _covers(dst, address):
        reason = f"route to the host's own address {address} replaced by {dst}"
    else:
        return None
    touch = {"what": "route", "dst": dst, "table": inputs.get("table") or 254}
    return Cut(reason=reason, touches=(touch,))


def _matches_port(dport: Any, port: int) -> bool:
    if dport is None:
        return True
    text = str(dport)
    if ":" in text:
        low, high = text.split(":", 1)
        return int(low or 0) <= port <= int(high or 65535)
    return int(text) == port


def _firewall(inputs: Mapping[str, Any], olds: Mapping[str, Any], _peer: str | None) -> Cut | None:
    chain = inputs.get("chain", "FORWARD")
    if chain not in ("INPUT", "OUTPUT") or inputs.get("action") not in ("DROP", "REJECT"):
        return None
    port = int(inputs.get("host", {}).get("port", 22))
    if inputs.get("protocol") not in (None, "tcp"):
        return None
    # sshd's port is the destination on INPUT and the source on OUTPUT; an
    # OUTPUT rule with a dport cannot match the session's replies.
    if not _matches_port(inputs.get("dport") if chain == "INPUT" else None, port):
        return None
    keys = ("in_interface", "out_interface", "source", "destination", "protocol", "dport")
    if (
        olds
        and olds.get("action") == inputs.get("action")
        and all(olds.get(k) == inputs.get(k) for k in keys)
    ):
        return None
    touch = {"what": "rules", "table": "filter", "chain": f"HOSTNET-{chain}", "parent": chain}
    return Cut(reason=f"{chain} {inputs['action']} can match tcp/{port}", touches=(touch,))


def _sysctl(inputs: Mapping[str, Any], olds: Mapping[str, Any], _peer: str | None) -> Cut | None:
    key = str(inputs["key"])
    if key.rsplit(".", 1)[-1] not in _CUTTING_SYSCTLS or not _changed("value", inputs, olds, None):
        return None
    return Cut(
        reason=f"{key} set to {inputs.get('value')}",
        touches=({"what": "sysctl", "key": key},),
    )


# By the kinds' names (hostnet.resources.KINDS), which this module does not import.
_KINDS = {"bridge": _bridge, "route": _route, "firewall_rule": _firewall, "sysctl": _sysctl}
