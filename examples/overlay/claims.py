"""The overlay's connectivity claims, as data for ``hostnet verify``.

Over the overlay every container reaches every other, both ways, with ssh and
with a ping of a full-size frame (the overlay's MTU, sent with don't-fragment:
it passes only if every hop carries that MTU, encapsulation included). Through
the router on h1 every container reaches the hosts' network and, NATed to the
router's address, beyond it. Nothing on 10.42.0.0/24 is reachable from the
hosts: only the router joins the overlay to their network, and it NATs outward.
A detached host's container reaches neither the others nor, unless it shares
the router's host, the router.
"""

from __future__ import annotations

from typing import Any

from overlay import Overlay, OverlayHost

SSH = 22
WHOAMI = 7  # the lab gateway's service that answers with the caller's address
ICMP_ECHO = 28  # IPv4 and ICMP headers around a ping's payload


def _claim(
    src: OverlayHost, target: str, *, ok: bool, why: str, container: bool = True, **extra: Any
) -> dict[str, Any]:
    address, _, port = target.partition(":")
    return {
        "milestone": "overlay",
        "source": src.container if container else src.name,
        "host": src.name,
        "netns": src.container if container else None,
        "kind": "tcp" if port else "ping",
        "address": address,
        "port": int(port) if port else None,
        "expect": "ok" if ok else "blocked",
        "banner": None,
        "why": why,
        **extra,
    }


def _over_the_overlay(overlay: Overlay) -> list[dict[str, Any]]:
    claims = []
    size = overlay.mtu - ICMP_ECHO
    for a in overlay.hosts:
        for b in overlay.hosts:
            if a is b:
                continue
            ok = overlay.joined(a, b)
            how = "over the overlay" if ok else f"not any more: {a.name} or {b.name} is detached"
            dst = b.overlay_address
            claims.append(_claim(a, f"{dst}:{SSH}", ok=ok, why=f"ssh {b.container} {how}"))
            why = f"a {overlay.mtu}-byte frame to {b.container} {how}"
            claims.append(_claim(a, dst, ok=ok, why=why, size=size))
            if ok:
                why = f"a frame one byte over the overlay's MTU does not pass whole to {dst}"
                claims.append(_claim(a, dst, ok=False, why=why, size=size + 1))
    return claims


def _through_the_router(overlay: Overlay) -> list[dict[str, Any]]:
    router_host = next(h for h in overlay.hosts if h.name == overlay.router.host)
    claims = []
    for a in overlay.hosts:
        ok = a is router_host or overlay.joined(a, router_host)
        how = "through the router" if ok else "not: its host is detached from the router's"
        for h in overlay.hosts:
            why = f"{a.container} reaches {h.name}'s sshd on the hosts' network {how}"
            claims.append(_claim(a, f"{h.address}:{SSH}", ok=ok, why=why))
        if overlay.outside:
            why = f"{a.container} reaches beyond the gateway, NATed to the router {how}"
            banner = overlay.router.uplink_address if ok else None
            claims.append(_claim(a, f"{overlay.outside}:{WHOAMI}", ok=ok, why=why, banner=banner))
    return claims


def _from_outside(overlay: Overlay) -> list[dict[str, Any]]:
    return [
        _claim(
            h,
            f"{c.overlay_address}:{SSH}",
            ok=False,
            container=False,
            why="10.42.0.0/24 is reachable only inside the overlay: the router NATs outward only",
        )
        for h in overlay.hosts
        for c in overlay.hosts
    ]


def expected_matrix(overlay: Overlay) -> list[dict[str, Any]]:
    return _over_the_overlay(overlay) + _through_the_router(overlay) + _from_outside(overlay)
