"""The overlay's plan as data: hosts, containers, addresses and who peers with whom."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NETWORK = "10.42.0.0/24"
VNI = 42
# Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) bytes per frame.
ENCAPSULATION = 50


@dataclass(frozen=True, kw_only=True)
class OverlayHost:
    name: str
    address: str  # its one NIC's address: the VTEP
    container: str  # a named netns on the host
    n: int  # the container's 10.42.0.n
    nic: str = "ens32"
    nic_mtu: int = 1500

    @property
    def overlay_address(self) -> str:
        return f"10.42.0.{self.n}"


@dataclass(frozen=True, kw_only=True)
class Router:
    host: str = "h1"
    name: str = "ovrt"
    uplink_bridge: str = "br-ens32"
    uplink_address: str = "10.32.171.206"  # on the hosts' network
    overlay_address: str = "10.42.0.1"
    gateway: str = "10.32.171.1"
    prefix: int = 24  # of the hosts' network


@dataclass(frozen=True, kw_only=True)
class Overlay:
    hosts: tuple[OverlayHost, ...]
    router: Router
    outside: str | None
    detached: frozenset[str]  # hosts left out of everyone's peers (and with none)

    @property
    def mtu(self) -> int:
        return min(h.nic_mtu for h in self.hosts) - ENCAPSULATION

    def peers_of(self, host: OverlayHost) -> list[str]:
        if host.name in self.detached:
            return []
        return [o.address for o in self.hosts if o is not host and o.name not in self.detached]

    def joined(self, a: OverlayHost, b: OverlayHost) -> bool:
        return a.name not in self.detached and b.name not in self.detached


DEFAULT_HOSTS = (
    OverlayHost(name="h1", address="10.32.171.202", container="test1.1", n=2),
    OverlayHost(name="h2", address="10.32.171.203", container="test2.1", n=3),
    OverlayHost(name="h3", address="10.32.171.204", container="test3.1", n=4),
)


def from_config(raw_hosts: Any, router: Any, outside: Any, detached: Any) -> Overlay:
    hosts = tuple(OverlayHost(**h) for h in raw_hosts) if raw_hosts else DEFAULT_HOSTS
    names = {h.name for h in hosts}
    left_out = frozenset(detached or [])
    if left_out - names:
        raise ValueError(f"detached: {sorted(left_out - names)} are not hosts of the overlay")
    return Overlay(
        hosts=hosts,
        router=Router(**router) if router else Router(),
        outside=outside,
        detached=left_out,
    )
