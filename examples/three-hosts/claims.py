"""The write-up's connectivity claims for a set of milestones, as data.

Each claim says who (a host, or the container on a host) reaches what address,
by ping or on a TCP port, whether it must work or must fail, and which milestone
says so, in the claims format of ``hostnet verify`` (README, "Verifying a
stack"). The stack exports them as ``hostnet:claims``; ``hostnet verify`` probes
each one on the hosts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from seed import ALL_MILESTONES, Seed, SeedHost

SSH = 22
WHOAMI = 7  # the lab gateway's service that answers with the caller's address


# The write-up's milestone 4 deletes the containers' return routes and never
# claims host-to-remote-container ssh on 192.168.6.x again; this stack keeps it.
GAVE_UP_RETURN_ROUTES = (
    "milestone 4 deletes the containers' return routes, so replies leave by another "
    "link; this stack answers by veth1 through the container's policy routing"
)


def _claim(
    milestone: int,
    src: SeedHost,
    target: str,
    *,
    ok: bool,
    why: str,
    container: bool = False,
    banner: str | None = None,
) -> dict[str, Any]:
    """``target`` is ``ADDRESS`` (ping) or ``ADDRESS:PORT`` (TCP connect)."""
    address, _, port = target.partition(":")
    return {
        "from": {"host": src.name, "netns": src.container_ns if container else None},
        "to": {"address": address, "port": int(port) if port else None},
        "expect": "ok" if ok else "blocked",
        "banner": banner,
        "why": why,
        "name": src.container if container else src.name,
        "milestone": milestone,
    }


def _own_containers(seed: Seed) -> list[dict[str, Any]]:
    claims = []
    for h in seed.hosts:
        for net in (5, 6):
            addr = f"192.168.{net}.{h.n}"
            claims.append(
                _claim(1, h, addr, ok=True, why=f"a host pings its own container on {addr}")
            )
            if seed.has(2):
                why = f"a host reaches its own container's sshd on {addr}"
                claims.append(_claim(2, h, f"{addr}:{SSH}", ok=True, why=why))
        for other in seed.hosts:
            if other is not h:
                addr = f"192.168.5.{other.n}"
                why = f"{addr} is private to {other.name}: no route from another host"
                claims.append(_claim(1, h, addr, ok=False, why=why))
    return claims


def _nat(seed: Seed) -> list[dict[str, Any]]:
    claims = []
    why = "a container reaches the outside only through its host's NAT"
    for h in seed.hosts:
        if not seed.has(7):
            target = f"{seed.gateway}:{WHOAMI}"
            claims.append(_claim(2, h, target, ok=True, why=why, container=True, banner=h.address))
        elif seed.outside is not None:
            # Milestone 7 routes 10.32.171.0/24 through the router, without NAT.
            target = f"{seed.outside}:{WHOAMI}"
            claims.append(_claim(2, h, target, ok=True, why=why, container=True, banner=h.address))
            no_nat = (
                "the router carries the host network without NAT; the gateway has no route back"
            )
            target = f"{seed.gateway}:{WHOAMI}"
            claims.append(_claim(7, h, target, ok=False, why=no_nat, container=True))
    return claims


def _any_host_to_any_container(seed: Seed) -> list[dict[str, Any]]:
    claims = []
    for h in seed.hosts:
        for other in seed.hosts:
            target = f"192.168.6.{other.n}:{SSH}"
            why = f"any host reaches any container's sshd on 192.168.6.{other.n}"
            claim = _claim(3, h, target, ok=True, why=why)
            if seed.has(4) and other is not h:
                claim["write_up_gave_up"] = {"milestone": 4, "why": GAVE_UP_RETURN_ROUTES}
            claims.append(claim)
            if other is not h:
                why = f"a container does not reach another host's container on 192.168.6.{other.n}"
                claims.append(_claim(3, h, target, ok=False, why=why, container=True))
    return claims


def _flat_and_router(seed: Seed) -> list[dict[str, Any]]:
    claims = []
    for h in seed.hosts:
        for other in seed.hosts:
            flat = f"192.168.7.{other.n}:{SSH}"
            if seed.has(4) and other is not h:
                why = "containers reach each other on the flat 192.168.7.0/24"
                claims.append(_claim(4, h, flat, ok=True, why=why, container=True))
            if seed.has(7):
                why = f"every host reaches every container on {flat} through the router"
                claims.append(_claim(7, h, flat, ok=True, why=why))
                why = f"a container reaches {other.name} ({other.address}) via the router"
                target = f"{other.address}:{SSH}"
                claims.append(_claim(7, h, target, ok=True, why=why, container=True))
    return claims


def expected_matrix(seed: Seed) -> list[dict[str, Any]]:
    claims = _own_containers(seed)
    if seed.has(2):
        claims += _nat(seed)
    if seed.has(3):
        claims += _any_host_to_any_container(seed)
    return claims + _flat_and_router(seed)


def _probe(claim: dict[str, Any]) -> tuple[Any, ...]:
    return (claim["name"], claim["to"]["address"], claim["to"]["port"])


def earlier_claims(seed: Seed) -> list[dict[str, Any]]:
    """Claims of the states before this one (each earlier prefix of the chosen
    milestones) that the current matrix does not repeat. One that a later milestone
    contradicts carries ``given_up`` (that milestone and its reason): the write-up
    itself gave it up. The others must still hold (``hostnet verify --sweep``)."""
    now = {_probe(c): c for c in expected_matrix(seed)}
    order = [m for m in ALL_MILESTONES if seed.has(m)]
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for end in range(1, len(order)):
        for claim in expected_matrix(replace(seed, milestones=frozenset(order[:end]))):
            later = now.get(_probe(claim))
            same = (claim["expect"], claim["banner"])
            if later is not None and (later["expect"], later["banner"]) == same:
                continue  # claimed now as it was then: part of the matrix
            item = dict(claim)
            if later is not None:
                item["given_up"] = {"milestone": later["milestone"], "why": later["why"]}
            found.setdefault((*_probe(claim), *same), item)
    return list(found.values())
