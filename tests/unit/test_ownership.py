"""The claim rule (agent/owner.py) and the controller's side of it (hostnet.ownership)."""

from __future__ import annotations

import pytest

from hostnet import ownership
from hostnet.agent.errors import Invalid, NotOwned
from hostnet.agent.owner import Claim, Owner, from_arg, parse_mark

ME = Owner(token="0123456789ab", stack="seed/lab", resource="h1-bridge0")
SIBLING = Owner(token="ba9876543210", stack="seed/lab", resource="bridge0-renamed")
STRANGER = Owner(token="ffffffffffff", stack="seed/prod", resource="h1-bridge0")


def test_marks_round_trip_with_odd_names() -> None:
    odd = Owner(token="00000000000a", stack="my-proj/dev.1", resource='br "zero"/#1 é')
    assert parse_mark(odd.mark()) == odd
    assert '"' not in odd.mark() and " " not in odd.mark()
    assert parse_mark("hostnet:h1/bridge/bridge0") == Owner(id="h1/bridge/bridge0")
    assert parse_mark("docker bridge") is None and parse_mark(None) is None


def test_long_names_keep_the_mark_short_enough_for_a_rule_comment() -> None:
    long = Owner(token="0123456789ab", stack="p" * 90 + "/" + "s" * 90, resource="r" * 300)
    assert len(long.mark()) + len(" prio=4294967295") <= 255
    assert parse_mark(long.mark()).token == long.token  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("found", "adopt", "legacy", "outcome"),
    [
        (ME.mark(), False, None, "mine"),
        (
            Owner(token=ME.token, stack="seed/lab", resource="old-name").mark(),
            False,
            None,
            "remark",
        ),
        (SIBLING.mark(), False, None, "remark"),  # a rename or replacement: taken over
        (STRANGER.mark(), False, None, "refused"),  # another stack
        (STRANGER.mark(), True, None, "remark"),
        (None, False, None, "refused"),  # made by hand, docker0, ...
        (None, True, None, "remark"),
        ("hostnet:h1/bridge/bridge0", False, None, "refused"),  # an old mark of no stack
        ("hostnet:h1/bridge/bridge0", False, "h1/bridge/bridge0", "remark"),  # its migration
        ("hostnet:h1/bridge/bridge9", False, "h1/bridge/bridge0", "refused"),
    ],
)
def test_claim_rule(found: str | None, adopt: bool, legacy: str | None, outcome: str) -> None:
    claim = Claim(me=ME, adopt=adopt, legacy=legacy)
    if outcome == "refused":
        with pytest.raises(NotOwned, match="belongs to"):
            claim.check(found, what="bridge bridge0")
        return
    assert claim.check(found, what="bridge bridge0") is (outcome == "remark")


def test_refusal_names_the_owner_and_the_remedy() -> None:
    with pytest.raises(NotOwned) as refused:
        Claim(me=ME).check(STRANGER.mark(), what="bridge bridge0")
    assert "stack 'seed/prod', resource 'h1-bridge0'" in refused.value.message
    assert "adopt=True" in refused.value.message


def test_deletes_and_rules_see_only_their_own() -> None:
    claim = Claim(me=ME)
    assert not claim.mine(parse_mark(SIBLING.mark()))
    assert claim.kept(SIBLING.mark()) == "stack 'seed/lab', resource 'bridge0-renamed'"
    # Rules: another instance of the same resource (a replacement) is the same rule.
    replaced = Owner(token="aaaaaaaaaaaa", stack=ME.stack, resource=ME.resource)
    assert claim.same_resource(replaced) and not claim.same_resource(SIBLING)


def test_owner_args_are_checked() -> None:
    assert from_arg("op", "t1/x") == Owner(id="t1/x")
    assert from_arg("op", ME.as_dict()) == ME
    for bad in ("", 'a"b', {"stack": "nostack", "resource": "r", "token": ME.token}, None):
        with pytest.raises(Invalid):
            from_arg("op", bad)


def test_controller_side_builds_claims_and_reads_owners() -> None:
    inputs = {"owner": {"stack": "seed/lab", "resource": "br"}, "adopt": True}
    stamped = ownership.with_token(inputs, token="0123456789ab", legacy="h1/bridge/br")
    args = ownership.claim(stamped, rid="h1/bridge/br")
    assert args == {
        "owner": {"stack": "seed/lab", "resource": "br", "token": "0123456789ab"},
        "legacy": "h1/bridge/br",
        "adopt": True,
    }
    assert "legacy" not in ownership.settled(stamped)["owner"]
    # Outputs of state from before instance ownership: the id is the mark.
    assert ownership.claim({"resource_id": "x"}, rid="h1/bridge/br") == {"owner": "h1/bridge/br"}
    assert ownership.is_mine({"token": "0123456789ab"}, stamped, rid="h1/bridge/br")
    assert not ownership.is_mine({"id": "h1/bridge/br"}, stamped, rid="h1/bridge/br")
    assert ownership.is_mine({"id": "h1/bridge/br"}, {}, rid="h1/bridge/br")
    assert ownership.kept_notes([{"deleted": False, "kept": "x"}, {"deleted": True}], rid="r") == [
        "r: left on the host: it belongs to x"
    ]


def test_a_read_returns_the_owner_as_the_program_gives_it() -> None:
    given = {"owner": {"stack": "seed/lab", "resource": "br"}, "name": "br0"}
    outputs = ownership.with_token(given, token="0123456789ab")
    assert ownership.as_given(outputs) == given
    assert ownership.as_given({"name": "br0"}) == {"name": "br0"}


def test_a_resource_of_several_objects_left_to_one_owner_says_so_once() -> None:
    kept = {"deleted": False, "kept": "stack 'a/b', resource 'r2'"}
    other = {"deleted": False, "kept": "stack 'a/c', resource 'r3'"}
    assert ownership.kept_notes([kept, kept, {"deleted": True}, other, kept], rid="h/x") == [
        "h/x: left on the host: it belongs to stack 'a/b', resource 'r2'",
        "h/x: left on the host: it belongs to stack 'a/c', resource 'r3'",
    ]
