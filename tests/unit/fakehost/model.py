"""An in-memory Linux host as the agent sees it: namespaces, their links, routes,
rules, sysctls and iptables tables, and the records the agent keeps under its run
dir. The kernel's own reactions that hostnet relies on live here too: a veth pair
dies as one, a deleted namespace takes its links (and their veth peers) with it, a
link that goes away or down takes its IPv4 routes, a deleted bridge frees its ports.

Fields carry the kernel's names (ifname, master, mtu, dst, via, table, metric).
``snapshot()`` is the whole host as plain data, for "the host is as it was" checks.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from hostnet.agent.iptsave import BUILTIN, line

OWN = ""  # the key of the agent's own namespace
RT_TABLE_MAIN = 254
RTPROT_KERNEL = 2
RTPROT_STATIC = 4
SCOPE_LINK = 253
# The settings every namespace is made with (as on a fresh kernel).
DEFAULT_SYSCTLS = {
    "net.ipv4.ip_forward": "0",
    "net.ipv4.conf.all.forwarding": "0",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv6.conf.all.forwarding": "0",
    "net.ipv4.ip_local_port_range": "32768 60999",
    "net.ipv4.conf.all.promote_secondaries": "0",
}
KERNEL_RULES = ((0, 255), (32766, 254), (32767, 253))


@dataclass
class Link:
    ifindex: int
    ifname: str
    kind: str = "device"  # what a link without IFLA_INFO_KIND reads as (NICs, lo)
    mac: str = "00:00:00:00:00:00"
    mtu: int = 1500
    up: bool = False
    promisc: bool = False
    master: int | None = None
    alias: str | None = None
    addresses: list[str] = field(default_factory=list)
    peer: tuple[str, int] | None = None  # (namespace key, ifindex) of a veth's other end
    vxlan: dict[str, Any] | None = None
    fdb: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Route:
    family: int
    dst: str | None  # network address; None for a default route
    dst_len: int
    table: int = RT_TABLE_MAIN
    metric: int = 0
    via: str | None = None
    oif: int | None = None
    src: str | None = None
    proto: int = RTPROT_STATIC
    scope: int = 0
    type: int = 1
    onlink: bool = False

    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        zero = "::" if self.family == 6 else "0.0.0.0"
        return ipaddress.ip_network(f"{self.dst or zero}/{self.dst_len}")

    def key(self) -> tuple[int, str | None, int, int, int]:
        return (self.family, self.dst, self.dst_len, self.table, self.metric)


@dataclass
class Table:
    """One iptables table: chain -> policy ('-' for user chains), rules in order."""

    chains: dict[str, str]
    rules: list[tuple[str, list[str]]] = field(default_factory=list)

    def save_text(self, name: str) -> str:
        """The table as `iptables-save -t NAME` prints it."""
        lines = [f"*{name}"]
        lines += [f":{chain} {policy} [0:0]" for chain, policy in self.chains.items()]
        lines += [line("-A", chain, tokens) for chain, tokens in self.rules]
        return "\n".join([*lines, "COMMIT", ""])


def _new_tables() -> dict[str, Table]:
    return {
        name: Table(chains={chain: "ACCEPT" for chain in chains})
        for name, chains in BUILTIN.items()
    }


@dataclass
class Netns:
    """One network namespace; ``named`` ones live in /run/netns (``ip netns``)."""

    key: str
    named: bool
    inode: int
    links: dict[int, Link] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    sysctls: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SYSCTLS))
    tables: dict[str, Table] = field(default_factory=_new_tables)

    @property
    def label(self) -> str:
        return self.key or "host"

    def link(self, ifname: str) -> Link | None:
        return next((link for link in self.links.values() if link.ifname == ifname), None)

    def name_of(self, ifindex: int | None) -> str | None:
        found = self.links.get(ifindex) if ifindex else None
        return found.ifname if found else None


def _kernel_rules(family: int, protocol: int | None) -> list[dict[str, Any]]:
    return [
        {
            "priority": prio,
            "family": family,
            "action": "table",
            "table": table,
            "protocol": protocol,
        }
        for prio, table in KERNEL_RULES
    ]


class Host:
    """The whole host: namespaces by key, the agent's records, counters.

    ``rule_protocol`` False is a kernel before 4.17, which keeps no protocol on rules.
    """

    def __init__(self, *, rule_protocol: bool = True) -> None:
        self.rule_protocol = rule_protocol
        self.netns: dict[str, Netns] = {}
        self.records: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._next_index = 1
        self._next_inode = 4026531840
        self.add_netns(OWN, named=False)

    # -- building -------------------------------------------------------------

    def add_netns(self, key: str, *, named: bool) -> Netns:
        self._next_inode += 1
        ns = Netns(key=key, named=named, inode=self._next_inode)
        protocol = 2 if self.rule_protocol else None  # RTPROT_KERNEL
        ns.rules = _kernel_rules(4, protocol) + _kernel_rules(6, protocol)
        self.netns[key] = ns
        self.add_link(ns, "lo", mtu=65536, up=True)
        return ns

    def add_link(self, ns: Netns, ifname: str, **attrs: Any) -> Link:
        index = self._next_index
        self._next_index += 1
        mac = attrs.pop("mac", None) or f"02:fa:ce:00:{index >> 8 & 0xFF:02x}:{index & 0xFF:02x}"
        link = Link(ifindex=index, ifname=ifname, mac=mac, **attrs)
        ns.links[index] = link
        return link

    def add_nic(
        self,
        ifname: str,
        *,
        addresses: Sequence[str] = (),
        gateway: str | None = None,
        **attrs: Any,
    ) -> Link:
        """A physical NIC of the host (up), its addresses, and a default route via ``gateway``."""
        ns = self.netns[OWN]
        link = self.add_link(ns, ifname, up=attrs.pop("up", True), addresses=list(addresses))
        for key, value in attrs.items():
            setattr(link, key, value)
        if gateway is not None:
            ns.routes.append(Route(family=4, dst=None, dst_len=0, via=gateway, oif=link.ifindex))
        return link

    def add_veth(
        self, ns: Netns, ifname: str, peer_ns: Netns, peer_ifname: str, **attrs: Any
    ) -> tuple[Link, Link]:
        """A veth pair, both ends with ``attrs`` (alias, up, mtu)."""
        link = self.add_link(ns, ifname, kind="veth", **attrs)
        peer = self.add_link(peer_ns, peer_ifname, kind="veth", **attrs)
        link.peer, peer.peer = (peer_ns.key, peer.ifindex), (ns.key, link.ifindex)
        return link, peer

    def add_container(self, name: str) -> Netns:
        """A container's namespace, reached as ``container:NAME`` (not in /run/netns)."""
        return self.add_netns(f"container:{name}", named=False)

    # -- the kernel's reactions -----------------------------------------------

    def delete_link(self, ns: Netns, link: Link) -> None:
        ns.links.pop(link.ifindex, None)
        for other in ns.links.values():
            if other.master == link.ifindex:
                other.master = None
        ns.routes = [r for r in ns.routes if r.oif != link.ifindex]
        if link.peer is not None:
            peer_ns = self.netns.get(link.peer[0])
            peer = peer_ns.links.get(link.peer[1]) if peer_ns else None
            if peer_ns is not None and peer is not None:
                peer.peer = None
                self.delete_link(peer_ns, peer)

    def delete_netns(self, ns: Netns) -> None:
        for link in list(ns.links.values()):
            if ns.links.get(link.ifindex) is link:
                self.delete_link(ns, link)
        del self.netns[ns.key]

    def set_down(self, ns: Netns, link: Link) -> None:
        link.up = False
        ns.routes = [r for r in ns.routes if not (r.oif == link.ifindex and r.family == 4)]

    # -- addresses, listed in the kernel's order --------------------------------

    def add_address(self, link: Link, cidr: str) -> bool:
        """As the kernel adds one: an IPv4 address in a subnet (same prefix) the link
        has is a secondary, listed after every primary; a primary goes after the last
        primary; IPv6 addresses are listed after IPv4, the newest first."""
        if cidr in link.addresses:
            return False
        iface = ipaddress.ip_interface(cidr)
        v4 = [a for a in link.addresses if ipaddress.ip_interface(a).version == 4]
        if iface.version == 6 or any(_same_subnet(a, iface) for a in v4):
            at = len(v4)
        else:
            at = len([a for a in v4 if _primary(v4, a)])
        link.addresses.insert(at, cidr)
        return True

    def delete_address(self, ns: Netns, link: Link, cidr: str) -> bool:
        """As the kernel deletes one: a primary IPv4 address takes its secondaries
        along, unless promote_secondaries makes the first of them the primary."""
        if cidr not in link.addresses:
            return False
        iface = ipaddress.ip_interface(cidr)
        v4 = [a for a in link.addresses if ipaddress.ip_interface(a).version == 4]
        link.addresses.remove(cidr)
        if iface.version == 4 and _primary(v4, cidr):
            secondaries = [a for a in link.addresses if _same_subnet(a, iface)]
            if ns.sysctls.get("net.ipv4.conf.all.promote_secondaries") == "1" and secondaries:
                link.addresses.remove(secondaries[0])
                self.add_address(link, secondaries[0])
            else:
                link.addresses = [a for a in link.addresses if a not in secondaries]
        return True

    def connected(self, ns: Netns) -> list[Route]:
        """The routes the kernel keeps for the addresses of links that are up."""
        found = []
        for link in ns.links.values():
            if not link.up:
                continue
            for text in link.addresses:
                if not _primary(link.addresses, text):
                    continue  # the kernel makes a subnet's route for its primary only
                iface = ipaddress.ip_interface(text)
                net = iface.network
                if net.prefixlen == net.max_prefixlen:
                    continue
                found.append(
                    Route(
                        family=net.version,
                        dst=str(net.network_address),
                        dst_len=net.prefixlen,
                        metric=0 if net.version == 4 else 256,
                        oif=link.ifindex,
                        src=str(iface.ip) if net.version == 4 else None,
                        proto=RTPROT_KERNEL,
                        scope=SCOPE_LINK if net.version == 4 else 0,
                    )
                )
        return found

    def routes(self, ns: Netns) -> list[Route]:
        return self.connected(ns) + ns.routes

    # -- records (the agent's files under its run dir) ------------------------

    def record_key(self, ns: Netns, kind: str, key: str) -> tuple[str, str, str]:
        return (kind, f"{ns.label}@{ns.inode}", key)

    # -- snapshots ------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything on the host as plain data, ifindexes replaced by names; the
        records of namespaces that are gone are left out (see stale_records)."""
        live = {f"{ns.label}@{ns.inode}" for ns in self.netns.values()}
        records = {k: v for k, v in self.records.items() if k[1] in live}
        return {
            "netns": {key: self._ns_view(ns) for key, ns in sorted(self.netns.items())},
            "records": {"/".join(k): copy.deepcopy(v) for k, v in sorted(records.items())},
        }

    def stale_records(self) -> list[str]:
        """Records left under the run dir for namespaces that no longer exist: no
        op reads them again (a new namespace has another inode), but they stay on
        the host until it reboots."""
        live = {f"{ns.label}@{ns.inode}" for ns in self.netns.values()}
        return sorted("/".join(k) for k in self.records if k[1] not in live)

    def _ns_view(self, ns: Netns) -> dict[str, Any]:
        links = {}
        for link in ns.links.values():
            view = asdict(link)
            view.pop("ifindex")
            view["master"] = ns.name_of(link.master)
            if link.peer is not None:
                peer_ns = self.netns.get(link.peer[0])
                view["peer"] = (link.peer[0], peer_ns.name_of(link.peer[1]) if peer_ns else None)
            view["addresses"] = sorted(link.addresses)
            view["fdb"] = sorted(link.fdb, key=lambda e: (e["mac"], e["dst"]))
            links[link.ifname] = view
        routes = []
        for route in ns.routes:
            view = asdict(route)
            view["oif"] = ns.name_of(route.oif)
            routes.append(view)
        return {
            "named": ns.named,
            "links": links,
            "routes": sorted(routes, key=repr),
            "rules": sorted((sorted(r.items()) for r in ns.rules), key=repr),
            "sysctls": dict(ns.sysctls),
            "iptables": {
                name: {"chains": dict(t.chains), "rules": [[c, *tokens] for c, tokens in t.rules]}
                for name, t in ns.tables.items()
            },
        }


def _same_subnet(text: str, iface: ipaddress.IPv4Interface | ipaddress.IPv6Interface) -> bool:
    other = ipaddress.ip_interface(text)
    return other.version == 4 and iface.version == 4 and other.network == iface.network


def _primary(addresses: list[str], text: str) -> bool:
    """Whether ``text`` is the first address of its IPv4 subnet on the link (IPv6: always)."""
    iface = ipaddress.ip_interface(text)
    return next(a for a in addresses if a == text or _same_subnet(a, iface)) == text
