"""NatRule and FirewallRule plans: chain then rule, each with its undo; a rule that
moves chain on update deletes the old one as steps of the same plan."""

from __future__ import annotations

from typing import Any

import pytest

from hostnet import errors
from hostnet.resources import firewall_rule, nat_rule

HOST = {"name": "h1", "address": "10.0.0.1"}
RID = "h1/nat/masq"
MASQ = {
    "host": HOST,
    "kind": "masquerade",
    "source": "10.1.0.0/24",
    "out_interface": "eth0",
    "resource_id": RID,
}
DNAT = {
    "host": HOST,
    "kind": "dnat",
    "in_interface": "eth0",
    "protocol": "tcp",
    "dport": 8080,
    "to": "10.1.0.5:80",
    "resource_id": RID,
}
POST = "chain='HOSTNET-POSTROUTING' parent='POSTROUTING' table='nat'"
PRE = "chain='HOSTNET-PREROUTING' parent='PREROUTING' table='nat'"
MASQ_RULE = "['-s', '10.1.0.0/24', '-o', 'eth0', '-j', 'MASQUERADE']"
DNAT_RULE = (
    "['-i', 'eth0', '-p', 'tcp', '-m', 'tcp', '--dport', '8080', "
    "'-j', 'DNAT', '--to-destination', '10.1.0.5:80']"
)
MASQ_ENSURE = (
    f"ipt_ensure_rule chain='HOSTNET-POSTROUTING' owner='{RID}' rule={MASQ_RULE} table='nat'"
)
MASQ_DELETE = f"ipt_delete_rule chain='HOSTNET-POSTROUTING' owner='{RID}' table='nat'"
DNAT_ENSURE = (
    f"ipt_ensure_rule chain='HOSTNET-PREROUTING' owner='{RID}' rule={DNAT_RULE} table='nat'"
)
DNAT_DELETE = f"ipt_delete_rule chain='HOSTNET-PREROUTING' owner='{RID}' table='nat'"


def test_create_ensures_chain_then_rule_and_undoes_both() -> None:
    assert str(nat_rule.KIND.plan(MASQ, None, {})).splitlines() == [
        f"ipt_ensure_chain {POST}  (undo: ipt_delete_chain {POST})",
        f"{MASQ_ENSURE}  (undo: {MASQ_DELETE})",
    ]


def test_an_update_in_the_same_chain_rewrites_the_rule_in_place() -> None:
    news = {**MASQ, "source": "10.2.0.0/24"}
    plan = nat_rule.KIND.plan(news, None, MASQ)
    assert [op.op for op in plan.ops] == ["ipt_ensure_chain", "ipt_ensure_rule"]
    assert plan.ops[1].args["rule"][:2] == ["-s", "10.2.0.0/24"]


def test_masquerade_to_dnat_deletes_the_old_rule_in_the_same_plan() -> None:
    assert str(nat_rule.KIND.plan(DNAT, None, MASQ)).splitlines() == [
        f"ipt_ensure_chain {PRE}  (undo: ipt_delete_chain {PRE})",
        f"{DNAT_ENSURE}  (undo: {DNAT_DELETE})",
        f"{MASQ_DELETE}  (undo: ipt_ensure_chain {POST}; {MASQ_ENSURE})",
        f"ipt_delete_chain {POST}",
    ]


def test_position_is_the_rules_priority_in_its_chain() -> None:
    spec = {"host": HOST, "chain": "INPUT", "action": "DROP", "position": 20, "resource_id": "f"}
    ensure = firewall_rule.KIND.plan(spec, None, {}).ops[1]
    assert ensure.wire()["args"] == {
        "table": "filter",
        "chain": "HOSTNET-INPUT",
        "rule": ["-j", "DROP"],
        "owner": "f",
        "priority": 20,
    }


@pytest.mark.parametrize(
    "observed",
    [None, {**MASQ, "rule": ["-s", "10.9.0.0/24", "-o", "eth0", "-j", "MASQUERADE"]}],
)
def test_verify_refuses_a_rule_missing_or_not_as_rendered(observed: Any) -> None:
    verify = nat_rule.KIND.verify
    assert verify is not None
    with pytest.raises(errors.VerifyFailed, match="rule not found as written"):
        verify(observed, MASQ)
    rendered = {**MASQ, "rule": ["-s", "10.1.0.0/24", "-o", "eth0", "-j", "MASQUERADE"]}
    assert verify(rendered, MASQ) == rendered
