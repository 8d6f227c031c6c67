"""Every kind's create, update and delete on h3 next to objects of others:
a bridge, a vxlan device with a peer, Docker's DOCKER-USER chain, a route, a
policy routing rule at the priority hostnet uses, FORWARD and POSTROUTING rules
and a named namespace, all made by hand. They must come out byte-identical."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest

from hostnet.resources import KINDS
from hostnet_lab import LabInfo
from tests.lab import resourcelib as rl

pytestmark = pytest.mark.lab
HOST = "h3"


@pytest.fixture
def cleanup() -> Iterator[rl.Cleanup]:
    with rl.cleaning() as actions:
        yield actions


def _place_foreign(stem: str, cleanup: rl.Cleanup) -> dict[str, str]:
    names = {
        "bridge": stem + "fbr",
        "netns": stem + "fns",
        "vxlan": stem + "fvx",
        "priority": str(_priority(stem)),
    }
    vni = str(200000 + rl.spare_octet(stem))
    flood = ("bridge", "fdb", "append", "00:00:00:00:00:00", "dev", names["vxlan"])
    ipt = ("iptables", "-w")
    commands: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
        (
            ("ip", "link", "add", names["bridge"], "type", "bridge"),
            ("ip", "link", "delete", names["bridge"]),
        ),
        (("ip", "netns", "add", names["netns"]), ("ip", "netns", "delete", names["netns"])),
        (("ip", "link", "add", names["vxlan"], "type", "vxlan", "id", vni, "dstport", "4789"),
         ("ip", "link", "delete", names["vxlan"])),
        ((*flood, "dst", "10.32.171.202"), ("true",)),
        (("ip", "route", "add", "198.51.100.0/24", "via", "10.32.171.1"),
         ("ip", "route", "del", "198.51.100.0/24")),
        (("ip", "rule", "add", "priority", names["priority"], "to", "198.51.100.0/24",
          "lookup", "main"),
         ("ip", "rule", "del", "priority", names["priority"], "to", "198.51.100.0/24")),
        ((*ipt, "-N", "DOCKER-USER"), (*ipt, "-X", "DOCKER-USER")),
        ((*ipt, "-A", "DOCKER-USER", "-s", "192.0.2.0/24", "-j", "DROP"),
         (*ipt, "-D", "DOCKER-USER", "-s", "192.0.2.0/24", "-j", "DROP")),
        ((*ipt, "-A", "DOCKER-USER", "-j", "RETURN"), (*ipt, "-D", "DOCKER-USER", "-j", "RETURN")),
        ((*ipt, "-I", "FORWARD", "-j", "DOCKER-USER"),
         (*ipt, "-D", "FORWARD", "-j", "DOCKER-USER")),
        ((*ipt, "-A", "FORWARD", "-i", names["bridge"], "-j", "ACCEPT"),
         (*ipt, "-D", "FORWARD", "-i", names["bridge"], "-j", "ACCEPT")),
        ((*ipt, "-t", "nat", "-A", "POSTROUTING", "-s", "192.0.2.0/24", "-o", "ens32",
          "-j", "MASQUERADE"),
         (*ipt, "-t", "nat", "-D", "POSTROUTING", "-s", "192.0.2.0/24", "-o", "ens32",
          "-j", "MASQUERADE")),
    ]  # fmt: skip
    for make, remove in commands:
        rl.run(HOST, *make)
        cleanup.add(functools.partial(rl.run_quietly, HOST, *remove))
    return names


def _foreign_view(names: dict[str, str]) -> dict[str, Any]:
    return {
        # Raw: a bridge that is down has no running timer, so the text is stable.
        "fbr": rl.run(HOST, "ip", "-d", "link", "show", "dev", names["bridge"]),
        "fvx": rl.run(HOST, "ip", "-d", "link", "show", "dev", names["vxlan"]),
        "fdb": rl.run(HOST, "bridge", "fdb", "show", "dev", names["vxlan"]),
        "filter": rl.chain_lines(HOST, "filter", ("FORWARD", "DOCKER-USER")),
        "nat": rl.chain_lines(HOST, "nat", ("POSTROUTING",)),
        "routes": rl.run(HOST, "ip", "route"),
        "rules": rl.run(HOST, "ip", "rule"),
        "netns": rl.netns_names(HOST),
    }


def _priority(stem: str) -> int:
    return 1000 + rl.spare_octet(stem)


def _plan(lab: LabInfo, stem: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(kind, inputs, changed inputs for the update) in creation order."""
    host = rl.host_input(lab, HOST)
    net = f"{rl.SPARE_NET}.{rl.spare_octet(stem)}"
    ns, br = stem + "ns", stem + "br"
    veth = {"name": stem + "v", "peer_name": "eth0", "peer_netns": ns, "master": br}
    leg = {"name": stem + "ra", "inside_name": "ia", "address": f"{net}.3/24", "bridge": br}
    router = {"name": stem + "r", "interfaces": [leg]}
    nat = {"name": stem, "kind": "masquerade", "source": f"{net}.0/24", "out_interface": "ens32"}
    fw = {"name": stem, "in_interface": br, "out_interface": "ens32"}
    sysctl_key = f"net.ipv4.conf.{br}.forwarding"
    vx = {"name": stem + "vx", "vni": 300000 + rl.spare_octet(stem), "master": br}
    plan: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("netns", {"name": ns}, {"name": ns}),
        ("bridge", {"name": br, "addresses": [f"{net}.1/24"]},
         {"name": br, "addresses": [f"{net}.1/24", f"{net}.9/24"]}),
        ("veth", {**veth, "peer_addresses": [f"{net}.2/24"]},
         {**veth, "peer_addresses": [f"{net}.4/24"]}),
        ("router", router,
         {**router, "routes": [{"dst": "198.51.100.0/25", "via": f"{net}.1"}]}),
        ("route", {"dst": f"198.19.{rl.spare_octet(stem)}.0/24", "via": f"{net}.3"},
         {"dst": f"198.19.{rl.spare_octet(stem)}.0/24", "via": f"{net}.4"}),
        ("rule", {"priority": _priority(stem), "src": f"{net}.0/24", "table": 1000},
         {"priority": _priority(stem), "src": f"{net}.0/24", "action": "prohibit"}),
        ("nat", nat, {**nat, "destination": "198.51.100.0/24"}),
        ("firewall", fw, {**fw, "action": "DROP"}),
        ("sysctl", {"key": sysctl_key, "value": "1"}, {"key": sysctl_key, "value": "0"}),
        ("vxlan", {**vx, "remotes": ["10.32.171.202"]},
         {**vx, "remotes": ["10.32.171.203"], "mtu": 1400}),
    ]  # fmt: skip
    return [
        (kind, rl.checked(kind, {"host": host, **a}), rl.checked(kind, {"host": host, **b}))
        for kind, a, b in plan
    ]


def test_foreign_objects_survive_a_full_cycle_of_every_kind(
    lab: LabInfo, cleanup: rl.Cleanup
) -> None:
    stem = rl.uid()
    names = _place_foreign(stem, cleanup)
    foreign_before, host_before = _foreign_view(names), rl.snapshot(HOST)
    plan = _plan(lab, stem)
    assert {KINDS[kind].name for kind, _, _ in plan} == set(KINDS)
    agent = rl.agent_for(plan[0][1])
    outputs = []
    for kind, inputs, _ in plan:
        cleanup.delete_resource(kind, inputs)
        outputs.append(KINDS[kind].create(agent, inputs))
    for i, (kind, _, news) in enumerate(plan):
        outputs[i] = KINDS[kind].update(agent, outputs[i], news)
        assert KINDS[kind].read(agent, outputs[i]) == outputs[i], kind
    assert rl.addresses(HOST, "eth0", stem + "ns") == [plan[2][2]["peer_addresses"][0]]
    for (kind, _, _), outs in reversed(list(zip(plan, outputs, strict=True))):
        KINDS[kind].delete(agent, outs)

    foreign_after = _foreign_view(names)
    for key in ("fbr", "fvx", "fdb", "filter", "nat", "routes", "rules", "netns"):
        assert foreign_after[key] == foreign_before[key], key
    rl.assert_same(host_before, rl.snapshot(HOST))
