"""The seed network as data: hosts, addresses and milestones, from stack config.

Kept apart from the program so the expected connectivity (what must reach what,
and what must not) is computed from the same facts the resources are built from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALL_MILESTONES = (1, 2, 3, 4, 7)
FAILED_MILESTONES = (5, 6)


@dataclass(frozen=True, kw_only=True)
class SeedHost:
    name: str  # h1
    address: str  # 10.32.171.202
    container: str  # test1.1: names its veths (test1.1.eth0)
    n: int  # 2: the last octet of the container's 192.168.x.n addresses
    nic: str = "ens32"
    flat_nic: str = "ens34"
    netns: str | None = None  # how to reach its namespace; default: netns named `container`

    @property
    def container_ns(self) -> str:
        return self.netns or self.container


@dataclass(frozen=True, kw_only=True)
class Router:
    host: str = "h1"
    name: str = "testrt3"
    uplink_bridge: str = "br-ens32"
    uplink_address: str = "10.32.171.205"
    flat_address: str = "192.168.7.100"


@dataclass(frozen=True, kw_only=True)
class Seed:
    hosts: tuple[SeedHost, ...]
    milestones: frozenset[int]
    router: Router = field(default_factory=Router)
    uplink_prefix: int = 24
    gateway: str = "10.32.171.1"
    outside: str | None = None  # an address beyond the gateway, for NAT claims

    def has(self, milestone: int) -> bool:
        return milestone in self.milestones

    @property
    def uplink_network(self) -> str:
        first = self.hosts[0].address.rsplit(".", 1)[0]
        return f"{first}.0/{self.uplink_prefix}"

    def uplink_of(self, host: SeedHost) -> str:
        """ens32, or br-ens32 once milestone 7 moved the router host's uplink onto it."""
        if self.has(7) and host.name == self.router.host:
            return self.router.uplink_bridge
        return host.nic


DEFAULT_HOSTS = (
    SeedHost(name="h1", address="10.32.171.202", container="test1.1", n=2),
    SeedHost(name="h2", address="10.32.171.203", container="test2.1", n=3),
    SeedHost(name="h3", address="10.32.171.204", container="test3.1", n=4),
)


def from_config(raw_hosts: Any, milestones: Any, router: Any, outside: Any) -> Seed:
    hosts = tuple(SeedHost(**h) for h in raw_hosts) if raw_hosts else DEFAULT_HOSTS
    chosen = frozenset(int(m) for m in (milestones or ALL_MILESTONES))
    bad = sorted(chosen - set(ALL_MILESTONES) - set(FAILED_MILESTONES))
    if bad:
        raise ValueError(f"milestones: {bad} are not milestones of the write-up (1-7)")
    return Seed(
        hosts=hosts,
        milestones=chosen,
        router=Router(**router) if router else Router(),
        outside=outside,
    )
