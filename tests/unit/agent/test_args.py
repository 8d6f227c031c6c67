"""hostnet.agent.args: every argument an op takes is typed, and every violation is
Invalid naming the op and the argument."""

from __future__ import annotations

from typing import Any

import pytest

from hostnet.agent.args import Args
from hostnet.agent.errors import Invalid
from hostnet.agent.owner import Owner

TOKEN = "0123456789ab"


def _args(**raw: Any) -> Args:
    return Args("some_op", raw)


@pytest.mark.parametrize(
    ("call", "raw", "said"),
    [
        (lambda a: a.text("k"), {}, "'k' is required"),
        (lambda a: a.text("k"), {"k": ""}, "non-empty one-line string"),
        (lambda a: a.text("k"), {"k": "a\nb"}, "non-empty one-line string"),
        (lambda a: a.text("k"), {"k": 5}, "non-empty one-line string"),
        (lambda a: a.integer("k"), {}, "'k' is required"),
        (lambda a: a.integer("k"), {"k": True}, "integer in [0, 4294967295]"),
        (lambda a: a.integer("k"), {"k": 1.5}, "integer in"),
        (lambda a: a.integer("k", lo=1, hi=9), {"k": 10}, "integer in [1, 9]"),
        (lambda a: a.number("k", default=1.0), {"k": 0}, "positive number"),
        (lambda a: a.number("k", default=1.0), {"k": False}, "positive number"),
        (lambda a: a.flag("k", default=False), {"k": "yes"}, "true or false"),
        (lambda a: a.ifname(), {"ifname": "x" * 16}, "not a valid interface name"),
        (lambda a: a.ifname(), {"ifname": "eth0:1"}, "holds ':'"),
        (lambda a: a.interface("k"), {"k": "10.0.0.300/24"}, "not an address/prefix"),
        (lambda a: a.interfaces("k"), {"k": "10.0.0.1/24"}, "must be a list"),
        (lambda a: a.interfaces("k"), {"k": ["10.0.0.1/24", 7]}, "bad address/prefix: 7"),
        (lambda a: a.address("k"), {"k": "10.0.0.0/24"}, "not an IP address"),
        (lambda a: a.tokens("k"), {"k": []}, "non-empty list of strings"),
        (lambda a: a.tokens("k"), {"k": ["-j", 'A"B']}, "bad token"),
        (lambda a: a.claim(), {}, "argument 'owner' must be"),
        (lambda a: a.claim(), {"owner": {"stack": "p/s", "resource": "r"}}, "'owner' must be"),
        (lambda a: a.claim(), {"owner": 'say "hi"'}, "no quotes"),
        (lambda a: a.claim(), {"owner": "x", "adopt": "yes"}, "true or false"),
    ],
)
def test_violations_are_invalid_naming_op_and_argument(
    call: Any, raw: dict[str, Any], said: str
) -> None:
    with pytest.raises(Invalid) as caught:
        call(_args(**raw))
    assert caught.value.message.startswith("some_op: ")
    assert said in caught.value.message


def test_absent_and_null_are_the_same_but_present_tells_them_apart() -> None:
    args = _args(master=None)
    assert not args.has("master") and args.present("master") and not args.present("mtu")
    assert args.opt_text("master") is None and args.opt_integer("mtu") is None
    assert args.integer("mtu", default=1500) == 1500 and args.flag("up", default=True) is True


def test_values_come_back_canonical() -> None:
    args = _args(a="10.0.0.1", b="fd00::0001", c=["10.0.0.1/24", "fd00::1"], d=0, ifname="br-ens32")
    assert args.interface("a") == "10.0.0.1/32"
    assert args.address("b") == "fd00::1"
    assert args.interfaces("c") == ["10.0.0.1/24", "fd00::1/128"]
    assert args.integer("d") == 0 and args.ifname() == "br-ens32"
    assert args.interfaces("missing") == []
    assert args.opt_address("missing") is None


def test_claim_reads_owner_legacy_and_adopt() -> None:
    owner = {"stack": "proj/dev", "resource": "web", "token": TOKEN}
    claim = _args(owner=owner, legacy="h1/bridge/bridge0", adopt=True).claim()
    assert claim.me == Owner(token=TOKEN, stack="proj/dev", resource="web")
    assert (claim.legacy, claim.adopt) == ("h1/bridge/bridge0", True)
    plain = _args(owner="h1/route/default").claim()
    assert plain.me == Owner(id="h1/route/default") and plain.adopt is False
