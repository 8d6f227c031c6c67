"""Faults the lab can inject into a running lab: a host that stops answering.

``blackhole(host, on=True)`` drops every IPv4 packet to and from the host's ens32
address on the switch hn-sw32 (ebtables in the switch's namespace), so a TCP
connect to the host times out, as to a machine that died or is cut off behind a
router, rather than being refused. ARP still passes: with ARP dropped too the
caller's kernel would give up on the neighbour and fail the connect with "no
route to host" after about 3 s, which is a different fault. The host itself
keeps running and keeps its state.

``blackhole(host, on=False)`` removes the rules (``with blackholed(host):`` for a
block); `lab down` removes the switch's
namespace, and the rules with it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from hostnet_lab import plumbing as li
from hostnet_lab.nodes import HOSTS, SW32, read_state
from hostnet_lab.plumbing import LabError

_CHAIN = "FORWARD"


def _address(host: str) -> str:
    for node in HOSTS:
        if node.name == host:
            return node.addresses[0]
    raise LabError(f"no lab host {host!r} (hosts: {', '.join(n.name for n in HOSTS)})")


def _rules(host: str) -> list[list[str]]:
    address = _address(host)
    return [["-p", "IPv4", f"--ip-{end}", address, "-j", "DROP"] for end in ("dst", "src")]


def _ebtables(*args: str) -> list[str]:
    return ["ip", "netns", "exec", SW32, "ebtables", *args]


def blackhole(host: str, *, on: bool) -> None:
    """Drop (on) or pass again (off) every packet to and from a lab host."""
    rules = _rules(host)
    if read_state() is None:
        raise LabError("the lab is not up: run `hostnet lab up` (as root)")
    for rule in rules:
        # -D removes one copy per call and fails once none is left.
        while (
            subprocess.run(  # noqa: S603 -- argv list, no shell
                _ebtables("-D", _CHAIN, *rule), capture_output=True, check=False
            ).returncode
            == 0
        ):
            pass
    if on:
        for rule in rules:
            li.run(_ebtables("-A", _CHAIN, *rule))


def is_blackholed(host: str) -> bool:
    """Whether the lab switch drops the host's packets now."""
    listing = li.run(_ebtables("-L", _CHAIN)).splitlines()
    return all(" ".join(rule) in listing for rule in _rules(host))


@contextmanager
def blackholed(host: str) -> Iterator[None]:
    """A block during which the host answers nothing; it answers again after."""
    blackhole(host, on=True)
    try:
        yield
    finally:
        blackhole(host, on=False)
