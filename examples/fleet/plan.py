"""The fleet as data: hosts, containers and their addresses, and the claims a
sample of them must satisfy.

Host ``hK`` (K = 1, 2, 3) holds containers ``testK.1`` .. ``testK.C``: network
namespaces that exist before the stack (``hostnet lab up --containers C`` makes
them, as the seed's own container ``testK.1``). Container i on host K has, like
the seed's container:

- veth0 on the host's bridge0 (front, NATed): ``172.25.K.i/16``, default route via
  ``172.25.0.1``;
- veth1 on bridge1 (back): ``172.26.K.i/16``; the other hosts route
  ``172.26.K.0/24`` to host K, and the container answers from that address by
  veth1 (a rule to table 106);
- veth2 on bridge2 (flat, bridged onto ens34): ``172.27.K.i/16``, reached from
  every other container directly.

The host-side ends are named ``testK.i.eth0`` .. ``eth2`` (at most 15 characters
up to C = 254).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FRONT, BACK, FLAT = 25, 26, 27  # the second octet of 172.x.0.0/16
MAX_CONTAINERS = 254
DEFAULT_HOSTS = {"h1": "10.32.171.202", "h2": "10.32.171.203", "h3": "10.32.171.204"}
GATEWAY = "10.32.171.1"
WHOAMI = 7  # the lab gateway's service that answers with the caller's address


@dataclass(frozen=True, kw_only=True)
class FleetHost:
    name: str  # h1
    address: str  # 10.32.171.202
    k: int  # 1: the third octet of its containers' addresses
    nic: str = "ens32"
    flat_nic: str = "ens34"


@dataclass(frozen=True, kw_only=True)
class Container:
    host: FleetHost
    i: int

    @property
    def name(self) -> str:
        return f"test{self.host.k}.{self.i}"

    def address(self, net: int) -> str:
        return f"172.{net}.{self.host.k}.{self.i}"


def network(net: int) -> str:
    return f"172.{net}.0.0/16"


def gateway(net: int) -> str:
    """The bridge's address on every host: the containers' next hop."""
    return f"172.{net}.0.1"


def block(host: FleetHost) -> str:
    """The back addresses of one host's containers, as the other hosts route them."""
    return f"172.{BACK}.{host.k}.0/24"


def from_config(raw_hosts: Any, containers: Any) -> tuple[tuple[FleetHost, ...], int]:
    """The hosts and the containers per host; a clear error before any host is touched."""
    count = 50 if containers is None else containers
    if isinstance(count, bool) or not isinstance(count, int):
        raise ValueError(f"containers: {count!r} is not a whole number")
    if not 1 <= count <= MAX_CONTAINERS:
        raise ValueError(f"containers: {count} is not between 1 and {MAX_CONTAINERS}")
    addresses: dict[str, str] = raw_hosts or DEFAULT_HOSTS
    hosts = tuple(
        FleetHost(name=name, address=address, k=k)
        for k, (name, address) in enumerate(sorted(addresses.items()), start=1)
    )
    return hosts, count


def _claim(
    src: FleetHost | Container, target: str, *, ok: bool, why: str, banner: str | None = None
) -> dict[str, Any]:
    """A claim in the ``hostnet:claims`` format (hostnet.claims); ``target`` is
    ``ADDRESS`` (ping) or ``ADDRESS:PORT`` (TCP connect)."""
    address, _, port = target.partition(":")
    source: dict[str, Any] = {"host": src.name}
    if isinstance(src, Container):
        source = {"host": src.host.name, "netns": src.name}
    claim: dict[str, Any] = {
        "from": source,
        "to": {"address": address, **({"port": int(port)} if port else {})},
        "expect": "ok" if ok else "blocked",
        "why": why,
    }
    if banner:
        claim["banner"] = banner
    return claim


def _from_hosts(hosts: tuple[FleetHost, ...], c: Container) -> list[dict[str, Any]]:
    claims = []
    for h in hosts:
        if h is c.host:
            for net in (FRONT, BACK):
                why = f"a host pings its own container on {network(net)}"
                claims.append(_claim(h, c.address(net), ok=True, why=why))
            continue
        why = f"{block(c.host)} is routed to {c.host.name}; the container answers by veth1"
        claims.append(_claim(h, c.address(BACK), ok=True, why=why))
        why = f"{network(FRONT)} is private to each host"
        claims.append(_claim(h, c.address(FRONT), ok=False, why=why))
    return claims


def _from_container(hosts: tuple[FleetHost, ...], c: Container) -> list[dict[str, Any]]:
    why = "a container reaches its bridge"
    claims = [_claim(c, gateway(FRONT), ok=True, why=why)]
    why = "a container reaches the outside only through its host's NAT"
    target = f"{GATEWAY}:{WHOAMI}"
    claims.append(_claim(c, target, ok=True, why=why, banner=c.host.address))
    for h in hosts:
        if h is c.host:
            continue
        peer = Container(host=h, i=c.i)
        why = f"containers reach each other on the flat {network(FLAT)}"
        claims.append(_claim(c, peer.address(FLAT), ok=True, why=why))
        why = "a container does not reach another host's container on the back network"
        claims.append(_claim(c, peer.address(BACK), ok=False, why=why))
    return claims


def sample_claims(hosts: tuple[FleetHost, ...], count: int) -> list[dict[str, Any]]:
    """The claims of the first and the last container of every host: every kind of
    path the fleet builds, without a probe per container."""
    claims = []
    for h in hosts:
        for i in sorted({1, count}):
            c = Container(host=h, i=i)
            claims += _from_hosts(hosts, c) + _from_container(hosts, c)
    return claims
