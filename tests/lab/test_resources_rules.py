"""NatRule and FirewallRule against lab hosts over real SSH: idempotence, drift,
foreign rules and chains, failed creates. Both live in hostnet's own chains."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from hostnet import errors, ownership
from hostnet.resources import KINDS
from hostnet_lab import LabInfo
from tests.lab import resourcelib as rl

pytestmark = pytest.mark.lab
KINDS_UNDER_TEST = ("nat", "firewall")


@pytest.fixture
def cleanup() -> Iterator[rl.Cleanup]:
    with rl.cleaning() as actions:
        yield actions


def _news(lab: LabInfo, kind: str, stem: str) -> dict[str, Any]:
    common = {"host": rl.host_input(lab, "h2"), "name": stem}
    if kind == "nat":
        source = f"{rl.SPARE_NET}.{rl.spare_octet(stem)}.0/24"
        return {**common, "kind": "masquerade", "source": source, "out_interface": "ens32"}
    return {**common, "in_interface": stem + "i", "out_interface": "ens32", "action": "ACCEPT"}


def _inputs(lab: LabInfo, kind: str, stem: str, /, **fields: Any) -> dict[str, Any]:
    return rl.checked(kind, {**_news(lab, kind, stem), **fields})


def _table_chain(kind: str) -> tuple[str, str]:
    return ("nat", "POSTROUTING") if kind == "nat" else ("filter", "FORWARD")


def _ours(kind: str, rid: str, host: str = "h2") -> list[str]:
    table, parent = _table_chain(kind)
    return [
        line
        for line in rl.chain_lines(host, table, ("HOSTNET-" + parent,))
        if f'"hostnet:{rid}' in line
    ]


@pytest.mark.parametrize("kind", KINDS_UNDER_TEST)
def test_create_twice_changes_nothing(lab: LabInfo, cleanup: rl.Cleanup, kind: str) -> None:
    stem = rl.uid()
    module = KINDS[kind]
    inputs = _inputs(lab, kind, stem)
    cleanup.delete_resource(kind, inputs)
    agent = rl.agent_for(inputs)
    table, parent = _table_chain(kind)

    first = module.create(agent, inputs)
    rid = first["resource_id"]
    assert len(_ours(kind, rid)) == 1
    assert f"-A {parent} -j HOSTNET-{parent}" in rl.chain_lines("h2", table, (parent,))
    before = rl.snapshot("h2")
    assert module.create(agent, inputs) == first
    rl.assert_same(before, rl.snapshot("h2"))


@pytest.mark.parametrize("kind", KINDS_UNDER_TEST)
def test_delete_twice_succeeds(lab: LabInfo, cleanup: rl.Cleanup, kind: str) -> None:
    stem = rl.uid()
    module = KINDS[kind]
    inputs = _inputs(lab, kind, stem)
    cleanup.delete_resource(kind, inputs)
    agent = rl.agent_for(inputs)
    before = rl.snapshot("h2")
    outputs = module.create(agent, inputs)
    module.delete(agent, outputs)
    module.delete(agent, outputs)
    # The last rule took hostnet's chain and its jump with it.
    rl.assert_same(before, rl.snapshot("h2"))


@pytest.mark.parametrize("kind", KINDS_UNDER_TEST)
def test_update_rewrites_the_rule_in_place(lab: LabInfo, cleanup: rl.Cleanup, kind: str) -> None:
    stem = rl.uid()
    module = KINDS[kind]
    inputs = _inputs(lab, kind, stem)
    cleanup.delete_resource(kind, inputs)
    agent = rl.agent_for(inputs)
    outputs = module.create(agent, inputs)
    change = {"destination": "198.51.100.0/24"} if kind == "nat" else {"action": "DROP"}
    news = _inputs(lab, kind, stem, **change)
    updated = module.update(agent, outputs, news)
    assert updated["resource_id"] == outputs["resource_id"]
    lines = _ours(kind, outputs["resource_id"])
    assert len(lines) == 1
    assert ("-d 198.51.100.0/24" if kind == "nat" else "-j DROP") in lines[0]
    assert module.read(agent, updated) == updated


def test_update_that_moves_a_nat_rule_to_another_chain(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    """masquerade -> dnat moves the rule from POSTROUTING to PREROUTING: one rule, always."""
    stem = rl.uid()
    before = rl.snapshot("h2")
    inputs = _inputs(lab, "nat", stem)
    cleanup.delete_resource("nat", inputs)
    agent = rl.agent_for(inputs)
    outputs = KINDS["nat"].create(agent, inputs)
    dnat = rl.checked(
        "nat",
        {
            "host": rl.host_input(lab, "h2"),
            "name": stem,
            "kind": "dnat",
            "in_interface": "ens32",
            "protocol": "tcp",
            "dport": 8080,
            "to": "198.18.0.2:80",
        },
    )
    cleanup.delete_resource("nat", dnat)
    updated = KINDS["nat"].update(agent, outputs, dnat)
    rid = outputs["resource_id"]
    mine = [line for line in rl.chain_lines("h2", "nat", _NAT_CHAINS) if f"hostnet:{rid}" in line]
    assert len(mine) == 1 and mine[0].startswith("-A HOSTNET-PREROUTING "), mine
    KINDS["nat"].delete(agent, updated)
    rl.assert_same(before, rl.snapshot("h2"))


_NAT_CHAINS = ("HOSTNET-PREROUTING", "HOSTNET-POSTROUTING")


@pytest.mark.parametrize("kind", KINDS_UNDER_TEST)
def test_read_reports_changes_made_by_hand(lab: LabInfo, cleanup: rl.Cleanup, kind: str) -> None:
    stem = rl.uid()
    module = KINDS[kind]
    inputs = _inputs(lab, kind, stem)
    cleanup.delete_resource(kind, inputs)
    agent = rl.agent_for(inputs)
    table, parent = _table_chain(kind)
    outputs = module.create(agent, inputs)
    assert module.read(agent, outputs) == outputs
    rid = outputs["resource_id"]

    # Edited by hand, comment kept: read as gone, so the next apply rewrites it.
    edited = _ours(kind, rid)[0].replace(" -o ens32 ", " -o ens34 ").split()[2:]
    rl.run("h2", "iptables", "-t", table, "-R", "HOSTNET-" + parent, "1", *_unquoted(edited))
    assert module.read(agent, outputs) is None
    assert module.create(agent, inputs) == outputs
    assert len(_ours(kind, rid)) == 1 and " -o ens32 " in _ours(kind, rid)[0]

    rl.run("h2", "iptables", "-t", table, "-D", "HOSTNET-" + parent, "1")
    assert module.read(agent, outputs) is None


def _unquoted(tokens: list[str]) -> list[str]:
    """iptables-save quotes the comment; iptables takes it as one argument."""
    text = " ".join(tokens)
    head, _, rest = text.partition('"')
    comment, _, tail = rest.partition('"')
    return [*head.split(), comment, *tail.split()] if rest else head.split()


@pytest.mark.parametrize("kind", KINDS_UNDER_TEST)
def test_foreign_rules_and_chain_contents_stay(
    lab: LabInfo, cleanup: rl.Cleanup, kind: str
) -> None:
    """A rule identical to hostnet's but unmarked, a rule someone put in hostnet's
    chain, and another owner's rule: all untouched by create and delete."""
    stem = rl.uid()
    module = KINDS[kind]
    table, parent = _table_chain(kind)
    chain = "HOSTNET-" + parent
    inputs = _inputs(lab, kind, stem)
    agent = rl.agent_for(inputs)
    spec = _ours_spec(kind, inputs)
    ipt = ("iptables", "-w", "-t", table)
    assert not rl.chain_lines("h2", table, (chain,)), "a chain left over by another test"
    rl.run("h2", *ipt, "-A", parent, *spec)
    cleanup.add(lambda: rl.run_quietly("h2", *ipt, "-D", parent, *spec))
    rl.run("h2", *ipt, "-N", chain)
    rl.run("h2", *ipt, "-I", parent, "1", "-j", chain)
    rl.run("h2", *ipt, "-A", chain, "-s", "192.0.2.1/32", "-j", "RETURN")
    cleanup.add(lambda: _drop_chain("h2", table, parent, chain))
    other = rl.checked(
        kind, {**_news(lab, kind, stem), "host": rl.host_input(lab, "h2", alias="h2b")}
    )
    cleanup.delete_resource(kind, other)
    module.create(agent, other)
    before = rl.snapshot("h2")

    outputs = module.create(agent, inputs)
    cleanup.delete_resource(kind, inputs)
    assert len(_ours(kind, outputs["resource_id"])) == 1
    assert module.read(agent, other) is not None
    module.delete(agent, outputs)
    rl.assert_same(before, rl.snapshot("h2"))
    # With the last marked rule gone, the chain stays: someone else's rule lives there.
    module.delete(agent, other)
    assert rl.chain_lines("h2", table, (chain,)) == [
        f":{chain} -",
        f"-A {chain} -s 192.0.2.1/32 -j RETURN",
    ]
    assert f"-A {parent} -j {chain}" in rl.chain_lines("h2", table, (parent,))


def _ours_spec(kind: str, inputs: dict[str, Any]) -> list[str]:
    if kind == "nat":
        return ["-s", inputs["source"], "-o", "ens32", "-j", "MASQUERADE"]
    return ["-i", inputs["in_interface"], "-o", "ens32", "-j", "ACCEPT"]


def _drop_chain(host: str, table: str, parent: str, chain: str) -> None:
    """Remove the chain made by hand, with whatever is still in it."""
    ipt = ("iptables", "-w", "-t", table)
    rl.run_quietly(host, *ipt, "-D", parent, "-j", chain)
    rl.run_quietly(host, *ipt, "-F", chain)
    rl.run_quietly(host, *ipt, "-X", chain)


def test_failed_creates_leave_nothing_behind(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    agent = rl.agent_for(_inputs(lab, "nat", stem))
    before = rl.snapshot("h2")
    cases: list[tuple[str, dict[str, Any]]] = [
        # The chain and its jump are made, then iptables refuses the target
        # (check refuses this one too; it is put in after check, as a host might).
        ("nat", {"kind": "snat", "to": "10.0.0.1", "@to": "not-an-address"}),
        # An interface pattern iptables refuses (16 bytes with the wildcard).
        ("firewall", {"in_interface": "a" * 15 + "+"}),
        # A namespace that does not exist: refused before anything is made.
        ("firewall", {"netns": stem + "nons"}),
    ]
    for kind, fields in cases:
        after_check = {k[1:]: v for k, v in fields.items() if k.startswith("@")}
        inputs = _inputs(lab, kind, stem, **{k: v for k, v in fields.items() if k[0] != "@"})
        inputs.update(after_check)
        cleanup.delete_resource(kind, inputs)
        with pytest.raises(errors.AgentError):
            KINDS[kind].create(agent, inputs)
        rl.assert_same(before, rl.snapshot("h2"))


def test_positions_order_rules_whatever_the_creation_order(
    lab: LabInfo, cleanup: rl.Cleanup
) -> None:
    stem = rl.uid()
    made = []
    for position in (30, 10, 20):
        inputs = _inputs(lab, "firewall", f"{stem}-{position}", position=position)
        cleanup.delete_resource("firewall", inputs)
        made.append(KINDS["firewall"].create(rl.agent_for(inputs), inputs))
    lines = [line for line in rl.chain_lines("h2", "filter", ("HOSTNET-FORWARD",)) if stem in line]
    order = [next(p for p in (10, 20, 30) if f"/{stem}-{p} prio={p}" in line) for line in lines]
    assert order == [10, 20, 30], lines


def test_concurrent_creates_and_deletes_share_one_chain(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    """The provider host runs four calls at once: rules made and removed in
    parallel end with one chain and one jump, then nothing."""
    stem = rl.uid()
    before = rl.snapshot("h2")
    every = [_inputs(lab, "firewall", f"{stem}-{i}") for i in range(8)]
    for inputs in every:
        cleanup.delete_resource("firewall", inputs)
    module, agent = KINDS["firewall"], rl.agent_for(every[0])
    with ThreadPoolExecutor(max_workers=4) as pool:
        made = list(pool.map(lambda inputs: module.create(agent, inputs), every))
    lines = rl.chain_lines("h2", "filter", ("FORWARD", "HOSTNET-FORWARD"))
    assert lines.count("-A FORWARD -j HOSTNET-FORWARD") == 1
    assert len([line for line in lines if stem in line]) == len(every)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda outputs: module.delete(agent, outputs), made))
    rl.assert_same(before, rl.snapshot("h2"))


def test_a_replacement_with_another_position_moves_the_rule(
    lab: LabInfo, cleanup: rl.Cleanup
) -> None:
    """A replacement (another instance of the same resource) takes the rule over
    and puts it where its new position belongs, before the old instance goes."""
    stem = rl.uid()
    owner = {"stack": "p/s", "resource": f"{stem}-10"}
    made = {}
    for position in (10, 20, 30):
        news = {"owner": {**owner, "resource": f"{stem}-{position}"}, "position": position}
        inputs = ownership.with_token(
            _inputs(lab, "firewall", f"{stem}-{position}", **news), token=f"{position:012x}"
        )
        cleanup.delete_resource("firewall", inputs)
        made[position] = KINDS["firewall"].create(rl.agent_for(inputs), inputs)
    moved = ownership.with_token(
        _inputs(lab, "firewall", f"{stem}-10", owner=owner, position=40), token="0000000000aa"
    )
    cleanup.delete_resource("firewall", moved)
    KINDS["firewall"].create(rl.agent_for(moved), moved)
    KINDS["firewall"].delete(rl.agent_for(moved), made[10])  # the old instance: finds nothing
    lines = [line for line in rl.chain_lines("h2", "filter", ("HOSTNET-FORWARD",)) if stem in line]
    order = [next(p for p in (20, 30, 40) if f" prio={p}" in line) for line in lines]
    assert order == [20, 30, 40], lines
