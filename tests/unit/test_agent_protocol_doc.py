"""The agent's protocol as documented (hostnet.agent's docstring) against its op
table (hostnet.agent.ops.OPS): every op documented, with every argument it takes,
and nothing the agent would refuse."""

from __future__ import annotations

import re

import hostnet.agent
from hostnet.agent.ops import OPS

# The docstring's shorthand for the claim arguments every owning op takes (owner.py).
OWN = frozenset({"owner", "legacy", "adopt"})
_ENTRY = re.compile(r"^([a-z][a-z0-9_]*) \{", re.MULTILINE)


def _section(doc: str, title: str) -> str:
    start = doc.index(f"\n{title}\n")
    return doc[start:]


def _braced(text: str, start: int) -> str:
    """The text inside the braces opening at ``start``, nested brackets kept."""
    depth = 0
    for end in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            return text[start + 1 : end]
    raise AssertionError(f"unclosed brace after {text[start - 30 : start]!r}")


def _top_level_items(args: str) -> list[str]:
    items, depth, current = [], 0, ""
    for char in args:
        depth += {"{": 1, "[": 1, "(": 1, "}": -1, "]": -1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    return [item.strip() for item in [*items, current] if item.strip()]


def _argument_names(args: str) -> frozenset[str]:
    names: set[str] = set()
    for item in _top_level_items(args):
        found = re.match(r"[A-Za-z_][A-Za-z0-9_]*", item)
        assert found, f"no argument name in {item!r}"
        names |= OWN if found.group() == "OWN" else {found.group()}
    return frozenset(names)


def documented_ops(doc: str) -> dict[str, frozenset[str]]:
    """Op name -> argument names, from the "Ops: args -> result" section."""
    ops = _section(doc, "Ops: args -> result")
    table: dict[str, frozenset[str]] = {}
    for entry in _ENTRY.finditer(ops):
        name = entry.group(1)
        assert name not in table, f"{name} documented twice"
        table[name] = _argument_names(_braced(ops, entry.end() - 1))
    return table


def test_the_parser_reads_continued_lines_and_the_claim_shorthand() -> None:
    doc = (
        "\nOps: args -> result\n===\n"
        "LINK = {ifindex, ifname}\n"
        "a_op {netns, OWN, size? (2), touches [{what, key} | {what}]}\n"
        "    -> LINK\n"
        "b_op {} -> {x}\n"
        "c_op {name,\n    key? (1)} -> str\n"
        "  ensure_*: not an op\n"
    )
    assert documented_ops(doc) == {
        "a_op": frozenset({"netns", "size", "touches", *OWN}),
        "b_op": frozenset(),
        "c_op": frozenset({"name", "key"}),
    }


def test_every_op_is_documented_with_exactly_its_arguments() -> None:
    doc = hostnet.agent.__doc__
    assert doc is not None
    documented = documented_ops(doc)
    assert sorted(set(OPS) - set(documented)) == [], "ops missing from the protocol doc"
    assert sorted(set(documented) - set(OPS)) == [], "documented ops the agent does not have"
    wrong = {
        name: {
            "undocumented": sorted(spec.keys - documented[name]),
            "not taken": sorted(documented[name] - spec.keys),
        }
        for name, spec in OPS.items()
        if documented[name] != spec.keys
    }
    assert wrong == {}
