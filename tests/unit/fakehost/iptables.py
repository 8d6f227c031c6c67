"""iptables ops on the model, as hostnet.agent.iptables does them.

Reads go through the agent's own parser: the model's table is printed as
`iptables-save` would print it and read back with hostnet.agent.iptsave.parse,
so owners, priorities and positions come out as on a host. The placement rules
(where a prioritised rule goes) are the agent's own pure functions over that
parsed table.
"""

from __future__ import annotations

from typing import Any

from hostnet.agent.args import Args
from hostnet.agent.errors import Failed, NotFound
from hostnet.agent.iptables import rule_owner, rule_request
from hostnet.agent.iptsave import BUILTIN, Rule, check_chain, check_table, parse
from hostnet.agent.iptsave import Table as Parsed
from hostnet.agent.owner import MARK_PREFIX, owner_view

from .common import find_ns, require_ns
from .model import Host, Table


def _tables(host: Host, args: Args, *, required: bool) -> tuple[str, Table | None]:
    name = check_table(args.text("table"))
    ns = require_ns(host, args) if required else find_ns(host, args)
    return name, None if ns is None else ns.tables[name]


def _parsed(table: Table, name: str) -> Parsed:
    return parse(table.save_text(name))


def _shadowed(parsed: Parsed, parent: str, jump: Rule) -> bool:
    """Whether a rule that denies everything (no match, REJECT or DROP) stands
    before the jump: hostnet's rules behind it do nothing."""
    return any(
        rule.position < jump.position
        and rule.tokens[:1] in (["-j"], ["--jump"])
        and rule.tokens[1:2] in (["REJECT"], ["DROP"])
        for rule in parsed.in_chain(parent)
    )


def _require_chain(parsed: Parsed, name: str, chain: str) -> None:
    if chain not in parsed.chains and chain not in BUILTIN[name]:
        raise NotFound(f"chain {chain} does not exist in table {name}")


def _insert(table: Table, chain: str, position: int | None, tokens: list[str]) -> None:
    """-A (position None) or -I at ``position``; past the end + 1 the kernel refuses."""
    at = [i for i, (c, _) in enumerate(table.rules) if c == chain]
    if position is None or position == len(at) + 1:
        where = at[-1] + 1 if at else len(table.rules)
    elif 1 <= position <= len(at):
        where = at[position - 1]
    else:
        raise Failed(f"iptables-restore: -I {chain} {position}: Index of insertion too big")
    table.rules.insert(where, (chain, list(tokens)))


def _delete(table: Table, chain: str, tokens: list[str]) -> None:
    """-D by full spec: the first rule that matches."""
    table.rules.remove((chain, tokens))


def _clamped(parsed: Parsed, chain: str, position: int | None) -> int | None:
    return None if position is None else min(position, len(parsed.in_chain(chain)) + 1)


def ipt_ensure_chain(host: Host, args: Args) -> Any:
    name, table = _tables(host, args, required=True)
    assert table is not None
    chain = check_chain(args.text("chain"), own=True)
    parent = check_chain(args.text("parent"))
    position = args.integer("position", default=1, lo=1)
    parsed = _parsed(table, name)
    _require_chain(parsed, name, parent)
    created = chain not in parsed.chains
    if created:
        table.chains[chain] = "-"
    jumps = [r for r in parsed.in_chain(parent) if r.tokens == ["-j", chain]]
    if not jumps:
        _insert(table, parent, _clamped(parsed, parent, position), ["-j", chain])
    elif len(jumps) > 1 or _shadowed(parsed, parent, jumps[0]):
        for _ in jumps:
            _delete(table, parent, ["-j", chain])
        _insert(table, parent, position, ["-j", chain])
    else:
        return {"created": created, "changed": created}
    return {"created": created, "changed": True}


def ipt_read_chain(host: Host, args: Args) -> Any:
    name, table = _tables(host, args, required=False)
    chain = check_chain(args.text("chain"), own=True)
    parent = check_chain(args.text("parent"))
    if table is None:
        return None
    parsed = _parsed(table, name)
    jumps = [r for r in parsed.in_chain(parent) if r.tokens == ["-j", chain]]
    return {
        "exists": chain in parsed.chains,
        "jump": jumps[0].position if jumps else None,
        "jumps": len(jumps),
        "shadowed": bool(jumps) and _shadowed(parsed, parent, jumps[0]),
    }


def ipt_delete_chain(host: Host, args: Args) -> Any:
    _, table = _tables(host, args, required=False)
    chain = check_chain(args.text("chain"), own=True)
    parent = check_chain(args.text("parent"))
    if table is None or chain not in table.chains:
        return {"deleted": False}
    left = [c for c, _ in table.rules if c == chain]
    if left:
        return {"deleted": False, "remaining": len(left)}
    table.rules = [(c, t) for c, t in table.rules if not (c == parent and t == ["-j", chain])]
    del table.chains[chain]
    return {"deleted": True}


def ipt_ensure_rule(host: Host, args: Args) -> Any:
    name, table = _tables(host, args, required=True)
    assert table is not None
    want = rule_request(args)
    parsed = _parsed(table, name)
    _require_chain(parsed, name, want.chain)
    mine = want.mine(parsed)
    if not mine:
        _insert(table, want.chain, _clamped(parsed, want.chain, want.new_at(parsed)), want.wanted)
        return {"changed": True, "created": True}
    if len(mine) == 1 and mine[0].tokens == want.wanted:
        return {"changed": False, "created": False}
    for rule in mine:
        _delete(table, want.chain, rule.tokens)
    _insert(table, want.chain, want.again_at(parsed, mine), want.wanted)
    return {"changed": True, "created": False}


def ipt_delete_rule(host: Host, args: Args) -> Any:
    name, table = _tables(host, args, required=False)
    chain = check_chain(args.text("chain"))
    claim = args.claim()
    if table is None:
        return {"deleted": False}
    mine = [r for r in _parsed(table, name).in_chain(chain) if claim.mine(rule_owner(r))]
    for rule in mine:
        _delete(table, chain, rule.tokens)
    return {"deleted": bool(mine)}


def ipt_read_rules(host: Host, args: Args) -> Any:
    name, table = _tables(host, args, required=False)
    chain = check_chain(args.text("chain")) if args.has("chain") else None
    if table is None:
        return None
    return [
        {
            "table": name,
            "chain": r.chain,
            "rule": r.spec,
            "owner": owner_view(MARK_PREFIX + r.owner),
            "position": r.position,
        }
        for r in _parsed(table, name).rules
        if r.owner is not None and (chain is None or r.chain == chain)
    ]
