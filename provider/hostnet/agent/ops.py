"""The op table: name -> function, whether it changes the host, its argument names."""

from __future__ import annotations

import os
import platform
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyroute2

from . import (
    AGENT_VERSION,
    addresses,
    dump,
    fdb,
    guard,
    hostcaps,
    iptables,
    linkdel,
    links,
    netns,
    ports,
    probe,
    readahead,
    routes,
    rules,
    snapshot,
    sysctl,
    uplink,
    veth,
)
from .args import Args
from .context import Context
from .iptsave import tools
from .rundir import run_dir

if TYPE_CHECKING:  # subscripting collections.abc.Callable needs Python 3.9 at run time
    OpFn = Callable[[Context, Args], Any]


@dataclass(frozen=True)
class OpSpec:
    fn: OpFn
    mutating: bool
    keys: frozenset[str]


def host_info() -> dict[str, Any]:
    """The ready line's fields (also the ``info`` op's result)."""
    return {
        "agent": AGENT_VERSION,
        "python": platform.python_version(),
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "kernel": os.uname().release,
        "iptables": tools().mode,
        "pyroute2": getattr(pyroute2, "__version__", None),
        "run_dir": run_dir(),
        "netlink": hostcaps.features(),
        "iptables_restore_wait": tools().restore_wait,
        "management": guard.management_path(),
    }


def _ping(ctx: Context, args: Args) -> Any:
    return {"pong": True}


def _info(ctx: Context, args: Args) -> Any:
    return host_info()


def _op(fn: OpFn, keys: str, *, mutating: bool = False) -> OpSpec:
    return OpSpec(fn=fn, mutating=mutating, keys=frozenset(keys.split()))


_LINK = "netns ifname"
_ROUTE = "netns dst family table metric"
_IPT = "netns table chain"
# Who asks, and what it may take (owner.py).
_OWN = "owner legacy adopt"
_RULE = "netns family priority"
_SELECT = "src dst iif oif fwmark fwmask tos"
OPS: dict[str, OpSpec] = {
    "ping": _op(_ping, ""),
    "info": _op(_info, ""),
    "link_read": _op(links.link_read, _LINK),
    "link_list": _op(links.link_list, "netns"),
    "link_ensure_bridge": _op(links.link_ensure_bridge, f"{_LINK} {_OWN} mtu mac", mutating=True),
    "link_ensure_veth": _op(
        veth.link_ensure_veth,
        f"{_LINK} peer_ifname peer_netns {_OWN} mtu master up",
        mutating=True,
    ),
    "link_ensure_vxlan": _op(
        links.link_ensure_vxlan,
        f"{_LINK} {_OWN} vni local remote group dev dstport ttl learning mtu",
        mutating=True,
    ),
    "fdb_list": _op(fdb.fdb_list, _LINK),
    "fdb_ensure": _op(fdb.fdb_ensure, f"{_LINK} {_OWN} mac dst", mutating=True),
    "fdb_delete": _op(fdb.fdb_delete, f"{_LINK} {_OWN} mac dst learned", mutating=True),
    "link_set": _op(
        links.link_set, f"{_LINK} {_OWN} up mtu promisc master mac alias", mutating=True
    ),
    "link_delete": _op(linkdel.link_delete, f"{_LINK} {_OWN}", mutating=True),
    "addr_ensure": _op(addresses.addr_ensure, f"{_LINK} address", mutating=True),
    "addr_delete": _op(addresses.addr_delete, f"{_LINK} address", mutating=True),
    "addr_list": _op(addresses.addr_list, _LINK),
    "addr_replace": _op(addresses.addr_replace, f"{_LINK} addresses keep", mutating=True),
    "route_ensure": _op(
        routes.route_ensure, f"{_ROUTE} {_OWN} via dev src scope onlink", mutating=True
    ),
    "route_read": _op(routes.route_read, _ROUTE),
    "route_get": _op(routes.route_get, "netns dst"),
    "route_list": _op(routes.route_list, "netns table"),
    "route_delete": _op(routes.route_delete, f"{_ROUTE} {_OWN}", mutating=True),
    "rule_ensure": _op(rules.rule_ensure, f"{_RULE} {_SELECT} action table {_OWN}", mutating=True),
    "rule_read": _op(rules.rule_read, _RULE),
    "rule_list": _op(rules.rule_list, "netns"),
    "rule_delete": _op(rules.rule_delete, f"{_RULE} {_OWN}", mutating=True),
    "netns_ensure": _op(netns.netns_ensure, f"name {_OWN}", mutating=True),
    "netns_delete": _op(netns.netns_delete, f"name {_OWN}", mutating=True),
    "netns_read": _op(netns.netns_read, "name"),
    "netns_list": _op(netns.netns_list, ""),
    "netns_resolve": _op(netns.netns_resolve, "ref"),
    "sysctl_read": _op(sysctl.sysctl_read, "netns key"),
    "sysctl_read_owned": _op(sysctl.sysctl_read_owned, "netns key"),
    "sysctl_write": _op(sysctl.sysctl_write, f"netns key value {_OWN} record", mutating=True),
    "sysctl_restore": _op(sysctl.sysctl_restore, f"netns key {_OWN}", mutating=True),
    "ipt_ensure_chain": _op(iptables.ipt_ensure_chain, f"{_IPT} parent position", mutating=True),
    "ipt_delete_chain": _op(iptables.ipt_delete_chain, f"{_IPT} parent", mutating=True),
    "ipt_read_chain": _op(iptables.ipt_read_chain, f"{_IPT} parent"),
    "ipt_ensure_rule": _op(
        iptables.ipt_ensure_rule, f"{_IPT} rule {_OWN} position priority", mutating=True
    ),
    "ipt_delete_rule": _op(iptables.ipt_delete_rule, f"{_IPT} {_OWN}", mutating=True),
    "ipt_read_rules": _op(iptables.ipt_read_rules, _IPT),
    "port_attach": _op(ports.port_attach, f"{_LINK} master {_OWN}", mutating=True),
    "port_release": _op(ports.port_release, f"{_LINK} master {_OWN}", mutating=True),
    "uplink_takeover": _op(uplink.uplink_takeover, f"netns bridge nic {_OWN}", mutating=True),
    "uplink_release": _op(
        uplink.uplink_release, f"netns bridge nic {_OWN} keep_bridge", mutating=True
    ),
    "guard_arm": _op(guard.guard_arm, "key timeout touches reason", mutating=True),
    "guard_disarm": _op(guard.guard_disarm, "key", mutating=True),
    "guard_list": _op(guard.guard_list, "", mutating=True),
    "dump": _op(dump.dump, "netns"),
    "dump_all": _op(dump.dump_all, ""),
    "snapshot": _op(snapshot.snapshot, "netns parts"),
    "probe": _op(probe.probe, "netns kind address port timeout size"),
}


def _reads(ctx: Context, args: Args) -> Any:
    return readahead.answers(
        args, table=OPS, run_one=lambda name, sub: OPS[name].fn(ctx, Args(name, sub))
    )


OPS["reads"] = _op(_reads, "ops")
