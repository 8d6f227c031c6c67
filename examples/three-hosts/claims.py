"""The write-up's connectivity claims for a set of milestones, as data.

Each claim says who (a host, or a container on its host) reaches what address
and port, whether it must work or must fail, and which milestone says so. The
stack exports them; ``hostnet verify`` probes each one on the hosts.
"""

from __future__ import annotations

from typing import Any

from seed import Seed, SeedHost


def _claim(
    milestone: int,
    src: SeedHost,
    *,
    in_container: bool,
    address: str,
    port: int | None,
    expect: bool,
    why: str,
    banner: str | None = None,
) -> dict[str, Any]:
    source = src.container if in_container else src.name
    return {
        "milestone": milestone,
        "source": source,
        "host": src.name,
        "netns": src.container_ns if in_container else None,
        "kind": "ping" if port is None else "tcp",
        "address": address,
        "port": port,
        "expect": "ok" if expect else "blocked",
        "banner": banner,
        "why": why,
    }


def _m1_m2(seed: Seed) -> list[dict[str, Any]]:
    claims = []
    for h in seed.hosts:
        for net in (5, 6):
            addr = f"192.168.{net}.{h.n}"
            claims.append(
                _claim(
                    1,
                    h,
                    in_container=False,
                    address=addr,
                    port=None,
                    expect=True,
                    why=f"a host pings its own container on {addr}",
                )
            )
            if seed.has(2):
                claims.append(
                    _claim(
                        2,
                        h,
                        in_container=False,
                        address=addr,
                        port=22,
                        expect=True,
                        why=f"a host reaches its own container's sshd on {addr}",
                    )
                )
        for other in seed.hosts:
            if other is not h:
                addr = f"192.168.5.{other.n}"
                claims.append(
                    _claim(
                        1,
                        h,
                        in_container=False,
                        address=addr,
                        port=None,
                        expect=False,
                        why=f"{addr} is private to {other.name}: no route from another host",
                    )
                )
    return claims


def _nat(seed: Seed) -> list[dict[str, Any]]:
    claims = []
    for h in seed.hosts:
        if not seed.has(7):
            claims.append(
                _claim(
                    2,
                    h,
                    in_container=True,
                    address=seed.gateway,
                    port=7,
                    expect=True,
                    banner=h.address,
                    why="a container reaches the outside only through its host's NAT",
                )
            )
            continue
        if seed.outside is None:
            continue
        claims.append(
            _claim(
                2,
                h,
                in_container=True,
                address=seed.outside,
                port=7,
                expect=True,
                banner=h.address,
                why="a container reaches the outside only through its host's NAT",
            )
        )
        claims.append(
            _claim(
                7,
                h,
                in_container=True,
                address=seed.gateway,
                port=7,
                expect=False,
                why="the router carries 10.32.171.0/24 without NAT, and the gateway "
                "has no route back to container networks",
            )
        )
    return claims


def _m3(seed: Seed) -> list[dict[str, Any]]:
    claims = []
    for h in seed.hosts:
        for other in seed.hosts:
            addr = f"192.168.6.{other.n}"
            # Milestone 4 removes the return routes milestone 3 relied on, until
            # milestone 7's router gives the replies a path again.
            if not seed.has(4) or seed.has(7):
                claims.append(
                    _claim(
                        3,
                        h,
                        in_container=False,
                        address=addr,
                        port=22,
                        expect=True,
                        why=f"any host reaches any container's sshd on {addr}",
                    )
                )
            if other is not h:
                claims.append(
                    _claim(
                        3,
                        h,
                        in_container=True,
                        address=addr,
                        port=22,
                        expect=False,
                        why=f"a container does not reach another host's container on {addr}",
                    )
                )
    return claims


def _m4_m7(seed: Seed) -> list[dict[str, Any]]:
    claims = []
    for h in seed.hosts:
        for other in seed.hosts:
            addr = f"192.168.7.{other.n}"
            if seed.has(4) and other is not h:
                claims.append(
                    _claim(
                        4,
                        h,
                        in_container=True,
                        address=addr,
                        port=22,
                        expect=True,
                        why="containers reach each other on the flat 192.168.7.0/24",
                    )
                )
            if seed.has(7):
                claims.append(
                    _claim(
                        7,
                        h,
                        in_container=False,
                        address=addr,
                        port=22,
                        expect=True,
                        why=f"every host reaches every container on {addr} through the router",
                    )
                )
                claims.append(
                    _claim(
                        7,
                        h,
                        in_container=True,
                        address=other.address,
                        port=22,
                        expect=True,
                        why=f"a container reaches {other.name} ({other.address}) via the router",
                    )
                )
    return claims


def expected_matrix(seed: Seed) -> list[dict[str, Any]]:
    claims = _m1_m2(seed)
    if seed.has(2):
        claims += _nat(seed)
    if seed.has(3):
        claims += _m3(seed)
    claims += _m4_m7(seed)
    return claims
