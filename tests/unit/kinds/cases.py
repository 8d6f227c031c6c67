"""The table: per kind, inputs that create it on the fake host, the updates of each
update field, a change by hand that read must report, and a foreign object in its
place that create must refuse.

The host (``world``) is h1 of the seed network: ens32 10.32.171.202/24 with the
default route via 10.32.171.1, ens34, bridges bridge0..2 and br-ens32 of another
stack, and the namespace test1.1 made by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hostnet import errors
from hostnet.agent.owner import parse_mark
from tests.unit.fakehost import OWN, Host, Route

from .lifecycle import OTHER_MARK

Plant = Callable[[Host, str | None], None]
Change = Callable[[Host], None]
RTPROT_HOSTNET = 77
RTPROT_STATIC = 4
_OTHER = OTHER_MARK.removeprefix("hostnet:")


def world(*, rule_protocol: bool = True) -> Host:
    host = Host(rule_protocol=rule_protocol)
    host.add_nic("ens32", addresses=["10.32.171.202/24"], gateway="10.32.171.1")
    host.add_nic("ens34")
    own = host.netns[OWN]
    for name in ("bridge0", "bridge1", "bridge2", "br-ens32"):
        host.add_link(own, name, kind="bridge", up=True, alias=OTHER_MARK)
    host.add_netns("test1.1", named=True)
    return host


@dataclass(frozen=True)
class Case:
    """One kind's row set; ``updates`` maps a label to the fields it changes (None removes)."""

    kind: str
    fields: dict[str, Any]
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    drift: tuple[Change, str] | None = None  # a change by hand, and the output it shows in
    remove: Change | None = None  # the object removed by hand
    foreign: Plant | None = None  # an object in its place, marked with the mark given
    unmarked_error: type[errors.AgentError] = errors.NotOwned
    rule_protocol: bool = True  # False: a kernel before 4.17

    def world(self) -> Host:
        return world(rule_protocol=self.rule_protocol)


def _link(host: Host, ifname: str, ns: str = OWN) -> Any:
    found = host.netns[ns].link(ifname)
    assert found is not None, f"{ifname} is not on the host"
    return found


def _delete(ifname: str, ns: str = OWN) -> Change:
    def change(host: Host) -> None:
        host.delete_link(host.netns[ns], _link(host, ifname, ns))

    return change


def _set(ifname: str, ns: str = OWN, **attrs: Any) -> Change:
    def change(host: Host) -> None:
        for key, value in attrs.items():
            setattr(_link(host, ifname, ns), key, value)

    return change


def _plant_link(ifname: str, kind: str, **attrs: Any) -> Plant:
    def plant(host: Host, mark: str | None) -> None:
        host.add_link(host.netns[OWN], ifname, kind=kind, alias=mark, **attrs)

    return plant


def _plant_veth(host: Host, mark: str | None) -> None:
    host.add_veth(host.netns[OWN], "test1.1.eth0", host.netns["test1.1"], "veth0", alias=mark)


def _plant_netns(name: str) -> Plant:
    def plant(host: Host, mark: str | None) -> None:
        lo = host.add_netns(name, named=True).link("lo")
        assert lo is not None
        lo.alias = mark

    return plant


def _owner_body(mark: str | None) -> str | None:
    return None if parse_mark(mark) is None or mark is None else mark.removeprefix("hostnet:")


def _plant_route(host: Host, mark: str | None) -> None:
    ns = host.netns[OWN]
    ens32 = _link(host, "ens32")
    body = _owner_body(mark)
    proto = RTPROT_HOSTNET if body else RTPROT_STATIC
    ns.routes.append(
        Route(
            family=4,
            dst="192.168.6.3",
            dst_len=32,
            via="10.32.171.203",
            oif=ens32.ifindex,
            proto=proto,
        )
    )
    if body:
        host.records[host.record_key(ns, "routes", "4-192.168.6.3-32-254-0")] = {"owner": body}


RULE = {"priority": 1002, "src": "192.168.6.2/32", "table": 106}


def _plant_rule(host: Host, mark: str | None) -> None:
    ns = host.netns["test1.1"]
    body = _owner_body(mark)
    # As the agent records a rule: every selector, None where not given.
    rule: dict[str, Any] = {k: None for k in ("dst", "iif", "oif", "fwmark", "fwmask", "tos")}
    rule.update(family=4, **RULE, action="table")
    protocol = RTPROT_HOSTNET if body else RTPROT_STATIC
    ns.rules.append({**rule, "protocol": protocol if host.rule_protocol else None})
    if body:
        record = {"owner": body, "rule": rule}
        host.records[host.record_key(ns, "rules", "4-1002")] = record


def _plant_sysctl(host: Host, mark: str | None) -> None:
    ns = host.netns[OWN]
    key = "net.ipv4.conf.all.rp_filter"
    ns.sysctls[key] = "1"
    body = _owner_body(mark)
    if body:
        record = {"owner": body, "previous": "0", "netns": "host", "key": key}
        host.records[host.record_key(ns, "sysctl", key)] = record


def _drop_route(host: Host) -> None:
    ns = host.netns[OWN]
    ns.routes = [r for r in ns.routes if r.dst != "192.168.6.3"]


def _reroute(host: Host) -> None:
    route = next(r for r in host.netns[OWN].routes if r.dst == "192.168.6.3")
    route.via = "10.32.171.209"


def _retable(host: Host) -> None:
    rule = next(r for r in host.netns["test1.1"].rules if r.get("priority") == 1002)
    rule["table"] = 109


def _drop_rule(host: Host) -> None:
    ns = host.netns["test1.1"]
    ns.rules = [r for r in ns.rules if r.get("priority") != 1002]


def _write_sysctl(host: Host) -> None:
    host.netns[OWN].sysctls["net.ipv4.conf.all.rp_filter"] = "0"


def _forget_sysctl(host: Host) -> None:
    for key in [k for k in host.records if k[0] == "sysctl"]:
        del host.records[key]


def _router_forwarding_off(host: Host) -> None:
    host.netns["testrt3"].sysctls["net.ipv4.ip_forward"] = "0"


def _delete_netns(name: str) -> Change:
    def change(host: Host) -> None:
        host.delete_netns(host.netns[name])

    return change


def _drop_jump(table: str, parent: str) -> Change:
    def change(host: Host) -> None:
        ipt = host.netns[OWN].tables[table]
        ipt.rules = [(c, t) for c, t in ipt.rules if not (c == parent and t[:1] == ["-j"])]

    return change


def _edit_rule(table: str, chain: str) -> Change:
    def change(host: Host) -> None:
        ipt = host.netns[OWN].tables[table]
        ipt.rules = [(c, ["-s", "10.99.0.0/16", *t] if c == chain else t) for c, t in ipt.rules]

    return change


def _drop_fdb(host: Host) -> None:
    link = _link(host, "vxlan100")
    link.fdb = [e for e in link.fdb if e["dst"] != "10.32.171.204"]


ROUTER_LEGS = [
    {
        "name": "testrt3.eth0",
        "inside_name": "veth0",
        "bridge": "br-ens32",
        "address": "10.32.171.205/24",
    },
    {
        "name": "testrt3.eth1",
        "inside_name": "veth1",
        "bridge": "bridge2",
        "address": "192.168.7.100/24",
    },
]

CASES: dict[str, Case] = {
    "bridge": Case(
        kind="bridge",
        fields={"name": "bridge9", "addresses": ["192.168.9.1/24"]},
        updates={
            "addresses": {"addresses": ["192.168.9.1/24", "192.168.19.1/24"]},
            "addresses (IPv6)": {"addresses": ["192.168.9.1/24", "fd00:9::1/64", "fd00:99::1/64"]},
            "ports": {"ports": ["ens34"]},
            "mtu": {"mtu": 9000},
            "promisc": {"promisc": True},
            "up": {"up": False},
        },
        drift=(_set("bridge9", promisc=True), "promisc"),
        remove=_delete("bridge9"),
        foreign=_plant_link("bridge9", "bridge"),
    ),
    "bridge-ports": Case(
        kind="bridge",
        fields={"name": "bridge8", "ports": ["ens34"]},
        updates={"no ports": {"ports": []}, "up": {"up": False}},
        drift=(_set("ens34", master=None), "ports"),
        remove=_delete("bridge8"),
        foreign=_plant_link("bridge8", "bridge"),
    ),
    "bridge-uplink": Case(
        kind="bridge",
        fields={"name": "br-up", "uplink": "ens32"},
        updates={"ports": {"ports": ["ens34"]}, "mtu": {"mtu": 1400}},
        drift=(_set("ens32", master=None), "uplink"),
        remove=_delete("br-up"),
        foreign=_plant_link("br-up", "bridge"),
    ),
    "veth": Case(
        kind="veth",
        fields={
            "name": "test1.1.eth0",
            "peer_name": "veth0",
            "peer_netns": "test1.1",
            "master": "bridge0",
            "peer_addresses": ["192.168.5.2/24"],
        },
        updates={
            "master": {"master": "bridge1"},
            "no master": {"master": None},
            "addresses": {"addresses": ["10.1.1.1/24"]},
            "peer_addresses": {"peer_addresses": ["192.168.50.3/24"]},
            "peer_addresses (same subnet)": {
                "peer_addresses": ["192.168.5.3/24", "192.168.50.3/24"]
            },
            "mtu": {"mtu": 1400},
            "promisc": {"promisc": True},
            "up": {"up": False},
        },
        drift=(_set("veth0", "test1.1", addresses=[]), "peer_addresses"),
        remove=_delete("test1.1.eth0"),
        foreign=_plant_veth,
    ),
    "netns_router": Case(
        kind="netns_router",
        fields={
            "name": "testrt3",
            "interfaces": ROUTER_LEGS,
            "routes": [{"dst": "10.1.0.0/16", "via": "10.32.171.1"}],
        },
        updates={
            "interfaces": {
                "interfaces": [ROUTER_LEGS[0], {**ROUTER_LEGS[1], "address": "192.168.7.101/24"}]
            },
            "interfaces (a leg less)": {"interfaces": ROUTER_LEGS[:1]},
            "routes": {"routes": [{"dst": "10.2.0.0/16", "via": "192.168.7.1"}]},
            "forwarding": {"forwarding": False},
        },
        drift=(_router_forwarding_off, "forwarding"),
        remove=_delete_netns("testrt3"),
        foreign=_plant_netns("testrt3"),
    ),
    "route": Case(
        kind="route",
        fields={"dst": "192.168.6.3", "via": "10.32.171.203"},
        updates={
            "via": {"via": "10.32.171.204"},
            "dev": {"dev": "ens32"},
            "src": {"src": "10.32.171.202"},
            "onlink": {"onlink": True, "via": "10.99.0.1", "dev": "ens32"},
        },
        drift=(_reroute, "via"),
        remove=_drop_route,
        foreign=_plant_route,
    ),
    "routing_rule": Case(
        kind="routing_rule",
        fields={**RULE, "netns": "test1.1"},
        updates={
            "src": {"src": "192.168.6.9"},
            "dst": {"dst": "10.0.0.0/8"},
            "iif": {"iif": "veth1"},
            "oif": {"oif": "veth0"},
            "fwmark": {"fwmark": 5},
            "fwmask": {"fwmark": 5, "fwmask": 255},
            "tos": {"tos": 16},
            "table": {"table": 107},
            "action": {"action": "unreachable", "table": None},
        },
        drift=(_retable, "table"),
        remove=_drop_rule,
        foreign=_plant_rule,
        unmarked_error=errors.Conflict,
    ),
    "routing_rule-old-kernel": Case(
        kind="routing_rule",
        fields={**RULE, "netns": "test1.1"},
        updates={"src": {"src": "192.168.6.9"}, "table": {"table": 107}},
        # A rule edited by hand no longer matches its record: not hostnet's any more.
        drift=(_retable, ""),
        remove=_drop_rule,
        foreign=_plant_rule,
        unmarked_error=errors.Conflict,
        rule_protocol=False,
    ),
    "nat_rule": Case(
        kind="nat_rule",
        fields={"kind": "masquerade", "source": "192.168.5.0/24", "out_interface": "ens32"},
        updates={
            "source": {"source": "192.168.50.0/24"},
            "destination": {"destination": "10.0.0.0/8"},
            "out_interface": {"out_interface": "ens34"},
            "protocol": {"protocol": "udp"},
            "dport": {"protocol": "tcp", "dport": 80},
            "kind": {"kind": "snat", "to": "10.32.171.202"},
            "to": {"kind": "snat", "to": "10.32.171.202:1024-2047", "protocol": "tcp"},
            "in_interface": {
                "kind": "dnat",
                "to": "192.168.5.2",
                "in_interface": "ens32",
                "out_interface": None,
            },
        },
        drift=(_drop_jump("nat", "POSTROUTING"), ""),
        remove=_edit_rule("nat", "HOSTNET-POSTROUTING"),
    ),
    "firewall_rule": Case(
        kind="firewall_rule",
        fields={
            "in_interface": "bridge0",
            "out_interface": "!bridge0",
            "ctstate": ["ESTABLISHED", "RELATED"],
        },
        updates={
            "in_interface": {"in_interface": "bridge1"},
            "out_interface": {"out_interface": "ens32"},
            "source": {"source": "192.168.5.0/24"},
            "destination": {"destination": "10.0.0.0/8"},
            "protocol": {"protocol": "icmp"},
            "dport": {"protocol": "tcp", "dport": 22},
            "ctstate": {"ctstate": ["NEW"]},
            "action": {"action": "DROP"},
        },
        drift=(_drop_jump("filter", "FORWARD"), ""),
        remove=_edit_rule("filter", "HOSTNET-FORWARD"),
    ),
    "netns": Case(
        kind="netns",
        fields={"name": "blue"},
        drift=(_set("lo", "blue", alias=None), ""),
        remove=_delete_netns("blue"),
        foreign=_plant_netns("blue"),
    ),
    "sysctl": Case(
        kind="sysctl",
        fields={"key": "net.ipv4.conf.all.rp_filter", "value": "2"},
        updates={"value": {"value": "1"}},
        drift=(_write_sysctl, "value"),
        remove=_forget_sysctl,
        foreign=_plant_sysctl,
    ),
    "vxlan": Case(
        kind="vxlan",
        fields={
            "name": "vxlan100",
            "vni": 100,
            "local": "10.32.171.202",
            "remotes": ["10.32.171.203", "10.32.171.204"],
        },
        updates={
            "remotes": {"remotes": ["10.32.171.204", "10.32.171.205"]},
            "mtu": {"mtu": 1400},
            "master": {"master": "bridge0"},
        },
        drift=(_drop_fdb, "remotes"),
        remove=_delete("vxlan100"),
        foreign=_plant_link(
            "vxlan100",
            "vxlan",
            vxlan={
                "id": 100,
                "local": "10.32.171.202",
                "remote": None,
                "group": None,
                "port": 4789,
                "dev": None,
                "ttl": 0,
                "learning": True,
            },
        ),
    ),
}
# A drift whose output is "" reads as gone: a rule its chain's jump no longer
# reaches, a namespace whose mark was taken off.
GONE_ON_DRIFT = ""
