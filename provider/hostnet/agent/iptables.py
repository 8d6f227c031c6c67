"""iptables ops. hostnet's rules carry ``-m comment --comment hostnet:<owner>``;
its chains are named HOSTNET*. Nothing else is ever flushed, deleted or
rewritten: rules are deleted by their full spec (never by position, which a
concurrent Docker could shift), and multi-step changes are one
`iptables-restore --noflush` transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import select
from .args import Args
from .context import Context
from .errors import Failed, Invalid, NotFound
from .iptsave import (
    BUILTIN,
    PRIORITY_SEP,
    Rule,
    Table,
    check_chain,
    check_table,
    iptables,
    line,
    read_table,
    restore,
)
from .nsref import Netns
from .owner import MARK_PREFIX, Claim, Owner, owner_view, parse_mark

_COMMANDS = {
    "-A", "--append", "-I", "--insert", "-D", "--delete", "-R", "--replace", "-F", "--flush",
    "-X", "--delete-chain", "-N", "--new-chain", "-P", "--policy", "-Z", "--zero", "-E",
    "--rename-chain", "-L", "--list", "-S", "--list-rules", "-C", "--check", "-t", "--table",
    "--comment",
}  # fmt: skip


def _rule_tokens(args: Args) -> list[str]:
    tokens = args.tokens("rule")
    bad = [t for t in tokens if t in _COMMANDS]
    if bad:
        raise Invalid(f"{args.op}: rule may not contain {bad[0]} (commands and comments are ours)")
    return tokens


def _require_chain(table: Table, name: str, chain: str) -> None:
    if chain not in table.chains and chain not in BUILTIN[name]:
        raise NotFound(f"chain {chain} does not exist in table {name}")


def _where(table: Table, chain: str, position: int | None) -> list[str]:
    """-A, or -I at ``position`` clamped to the chain's length (+1)."""
    if position is None:
        return ["-A", chain]
    last = len(table.in_chain(chain)) + 1
    return ["-I", chain, str(min(position, last))]


def ipt_ensure_chain(ctx: Context, args: Args) -> Any:
    name = check_table(args.text("table"))
    chain = check_chain(args.text("chain"), own=True)
    parent = check_chain(args.text("parent"))
    position = args.integer("position", default=1, lo=1)
    ns = ctx.netns(args.ref())
    table = read_table(ctx, ns, name)
    _require_chain(table, name, parent)
    created = chain not in table.chains
    if created:
        iptables(ctx, ns, name, ["-N", chain])
    reach = select.ipt_read_chain(part(name, table), table=name, chain=chain, parent=parent)
    if not reach["jumps"]:
        iptables(ctx, ns, name, [*_where(table, parent, position), "-j", chain])
    elif reach["jumps"] > 1 or reach["shadowed"]:
        # One jump, ahead of every REJECT/DROP that would hide hostnet's rules.
        lines = [line("-D", parent, ["-j", chain]) for _ in range(reach["jumps"])]
        lines.append(line("-I", parent, [str(position), "-j", chain]))
        restore(ctx, ns, name, lines)
    else:
        return {"created": created, "changed": created}
    return {"created": created, "changed": True}


def part(name: str, table: Table) -> dict[str, Any]:
    """A snapshot's extra part as far as one table goes."""
    return {"iptables": {name: table_view(table)}}


def table_view(table: Table) -> dict[str, Any]:
    """One table as a snapshot holds it."""
    rules = [
        {
            "chain": r.chain,
            "tokens": r.tokens,
            "rule": r.spec,
            "owner": None if r.owner is None else owner_view(MARK_PREFIX + r.owner),
            "position": r.position,
        }
        for r in table.rules
    ]
    return {"chains": sorted(table.chains), "rules": rules}


def ipt_read_chain(ctx: Context, args: Args) -> Any:
    """Whether hostnet's chain exists and is reached: one jump from ``parent``, not
    behind a REJECT or DROP. A chain without it is as good as gone."""
    name = check_table(args.text("table"))
    chain = check_chain(args.text("chain"), own=True)
    parent = check_chain(args.text("parent"))
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return None
    return select.ipt_read_chain(
        part(name, read_table(ctx, ns, name)), table=name, chain=chain, parent=parent
    )


def ipt_delete_chain(ctx: Context, args: Args) -> Any:
    name = check_table(args.text("table"))
    chain = check_chain(args.text("chain"), own=True)
    parent = check_chain(args.text("parent"))
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return {"deleted": False}
    table = read_table(ctx, ns, name)
    if chain not in table.chains:
        return {"deleted": False}
    left = table.in_chain(chain)
    if left:
        # Other rules still live there (each removes the chain when it goes last).
        return {"deleted": False, "remaining": len(left)}
    jumps = [r for r in table.in_chain(parent) if r.tokens == ["-j", chain]]
    restore(ctx, ns, name, [line("-D", parent, ["-j", chain]) for _ in jumps] + [f"-X {chain}"])
    return {"deleted": True}


def _same_spec(ctx: Context, ns: Netns, name: str, chain: str, wanted: list[str]) -> bool:
    """Whether the chain holds ``wanted`` as iptables compares rules (-C)."""
    try:
        iptables(ctx, ns, name, ["-C", chain, *wanted])
    except (Failed, NotFound):
        return False
    return True


def rule_owner(rule: Rule) -> Owner | None:
    return None if rule.owner is None else parse_mark(MARK_PREFIX + rule.owner)


def _with_comment(tokens: list[str], comment: str) -> list[str]:
    """The comment match placed before the target, where iptables-save prints it,
    so a rule given in saved form compares equal without asking iptables."""
    at = next((i for i, t in enumerate(tokens) if t in ("-j", "--jump", "-g", "--goto")), None)
    at = len(tokens) if at is None else at
    return [*tokens[:at], "-m", "comment", "--comment", comment, *tokens[at:]]


def _position_for(rules: list[Rule], priority: int) -> int | None:
    """Before the first rule of a higher priority (unprioritised rules count as
    highest), so rules land in priority order whatever order they are made in."""
    for rule in rules:
        if rule.priority is None or rule.priority > priority:
            return rule.position
    return None


@dataclass(frozen=True)
class RuleRequest:
    """What an ``ipt_ensure_rule`` asks for, read from its args: the rule as it
    will stand (with the owner's comment) and where it goes."""

    table: str
    chain: str
    claim: Claim
    position: int | None
    priority: int | None
    wanted: list[str]

    def mine(self, table: Table) -> list[Rule]:
        """The rules of this instance, or of another instance of the same resource
        (a replacement, or a run that died after writing it), which are taken over
        in place; other rules are not ours."""
        return [r for r in table.in_chain(self.chain) if self.claim.same_resource(rule_owner(r))]

    def new_at(self, table: Table) -> int | None:
        """Where a new rule goes: its priority's place, else the position asked."""
        if self.priority is not None:
            return _position_for(table.in_chain(self.chain), self.priority)
        return self.position

    def again_at(self, table: Table, mine: list[Rule]) -> int | None:
        """Where a rewritten rule goes once ``mine`` are deleted."""
        return _reinsert_at(table.in_chain(self.chain), mine, self.priority)


def rule_request(args: Args) -> RuleRequest:
    tokens, claim = _rule_tokens(args), args.claim()
    priority = args.opt_integer("priority", lo=0)
    comment = claim.me.mark() + ("" if priority is None else f"{PRIORITY_SEP}{priority}")
    return RuleRequest(
        table=check_table(args.text("table")),
        chain=check_chain(args.text("chain")),
        claim=claim,
        position=args.opt_integer("position", lo=1),
        priority=priority,
        wanted=_with_comment(tokens, comment),
    )


def ipt_ensure_rule(ctx: Context, args: Args) -> Any:
    want = rule_request(args)
    name, chain, wanted = want.table, want.chain, want.wanted
    ns = ctx.netns(args.ref())
    table = read_table(ctx, ns, name)
    _require_chain(table, name, chain)
    mine = want.mine(table)
    if not mine:
        iptables(ctx, ns, name, [*_where(table, chain, want.new_at(table)), *wanted])
        return {"changed": True, "created": True}
    if len(mine) == 1 and (mine[0].tokens == wanted or _same_spec(ctx, ns, name, chain, wanted)):
        return {"changed": False, "created": False}
    # Replace: delete every rule of this owner by spec, insert the new one where
    # the first stood (or where its priority puts it), all in one transaction.
    lines = [line("-D", chain, r.tokens) for r in mine]
    at = want.again_at(table, mine)
    lines.append(line("-A", chain, wanted) if at is None else line("-I", chain, [str(at), *wanted]))
    restore(ctx, ns, name, lines)
    return {"changed": True, "created": False}


def _reinsert_at(rules: list[Rule], mine: list[Rule], priority: int | None) -> int | None:
    """Where a rewritten rule goes once ``mine`` are deleted; None: at the end."""
    if priority is None:
        return mine[0].position
    others = [r for r in rules if r not in mine]
    after = _position_for(others, priority)
    if after is None:
        return None
    return after - sum(1 for r in mine if r.position < after)


def ipt_delete_rule(ctx: Context, args: Args) -> Any:
    name = check_table(args.text("table"))
    chain = check_chain(args.text("chain"))
    claim = args.claim()
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return {"deleted": False}
    mine = [r for r in read_table(ctx, ns, name).in_chain(chain) if claim.mine(rule_owner(r))]
    if not mine:
        return {"deleted": False}
    restore(ctx, ns, name, [line("-D", chain, r.tokens) for r in mine])
    return {"deleted": True}


def ipt_read_rules(ctx: Context, args: Args) -> Any:
    name = check_table(args.text("table"))
    chain = check_chain(args.text("chain")) if args.has("chain") else None
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return None
    return select.ipt_read_rules(part(name, read_table(ctx, ns, name)), table=name, chain=chain)
