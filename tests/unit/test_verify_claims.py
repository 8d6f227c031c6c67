"""The claims format `hostnet verify` reads (hostnet.claims): what a stack exports
as ``hostnet:claims``, checked field by field before any host is probed; the older
``matrix`` outputs; and the seed example's export in that format."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hostnet import claims, errors, verify
from tests.unit.test_host_schema import _verify

REPO = Path(__file__).resolve().parents[2]
HOSTS = {"h1": {"address": "10.32.171.202"}, "h2": {"address": "10.32.171.203"}}


def _outputs(*items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {claims.OUTPUT: {"version": 1, "hosts": HOSTS, "claims": list(items), **extra}}


def _claim(**over: Any) -> dict[str, Any]:
    return {
        "from": {"host": "h1", "netns": "blue"},
        "to": {"address": "192.168.6.3", "port": 22},
        "expect": "ok",
        **over,
    }


def test_a_claim_of_the_format_reads_as_hostnets_claim() -> None:
    found = claims.read(_outputs(_claim(why="blue reaches h2's sshd", ticket="NET-7")))
    assert found.connections == HOSTS and found.earlier is None
    assert found.claims == [
        {
            "ticket": "NET-7",  # a key of the stack's own is kept
            "source": "h1/blue",
            "host": "h1",
            "netns": "blue",
            "kind": "tcp",
            "address": "192.168.6.3",
            "port": 22,
            "size": None,
            "expect": "ok",
            "banner": None,
            "why": "blue reaches h2's sshd",
            "milestone": None,
        }
    ]


def test_a_ping_from_the_host_itself_named_as_the_stack_likes() -> None:
    ping = _claim(
        **{"from": {"host": "h2"}, "to": {"address": "10.0.0.1", "size": 1400}},
        expect="blocked",
        name="router",
        milestone=3,
    )
    (found,) = claims.read(_outputs(ping)).claims
    assert (found["source"], found["netns"], found["kind"], found["port"]) == (
        "router",
        None,
        "ping",
        None,
    )
    assert (found["size"], found["expect"], found["milestone"]) == (1400, "blocked", 3)


@pytest.mark.parametrize(
    ("claim", "field", "reason"),
    [
        ({"to": {"address": "192.168.6.3"}, "expect": "ok"}, "claims[0].from", "an object"),
        (_claim(**{"from": {"host": "h9"}}), "claims[0].from.host", "is not in hostnet:claims"),
        (_claim(**{"from": {"host": ""}}), "claims[0].from.host", "non-empty string"),
        (_claim(to={"address": "h2.example"}), "claims[0].to.address", "not an IP address"),
        (_claim(to={"address": "10.0.0.1", "port": 0}), "claims[0].to.port", "outside 1..65535"),
        (_claim(to={"address": "10.0.0.1", "port": "22"}), "claims[0].to.port", "whole number"),
        (
            _claim(to={"address": "10.0.0.1", "port": 22, "size": 8}),
            "claims[0].to.size",
            "is for a ping",
        ),
        (_claim(expect="yes"), "claims[0].expect", "not one of ['ok', 'blocked']"),
        (_claim(expect=None), "claims[0].expect", "None is not one of"),
    ],
)
def test_a_malformed_claim_is_refused_naming_its_field(
    claim: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(errors.InvalidInput) as refused:
        claims.read(_outputs(claim))
    assert refused.value.field == f"hostnet:claims.{field}"
    assert reason in refused.value.reason


def test_the_format_has_a_version() -> None:
    outputs = _outputs(_claim())
    del outputs[claims.OUTPUT]["version"]
    with pytest.raises(errors.InvalidInput, match=r"hostnet:claims\.version: None is not 1"):
        claims.read(outputs)
    with pytest.raises(errors.InvalidInput, match=r"hostnet:claims\.claims: must be a list"):
        claims.read({claims.OUTPUT: {"version": 1, "hosts": HOSTS}})


def test_earlier_claims_may_start_anywhere_and_carry_given_up() -> None:
    gone = _claim(**{"from": {"host": "h7"}}, given_up={"milestone": 7, "why": "router"})
    outputs = _outputs(_claim(), earlier=[gone, _claim(expect="blocked")])
    hold, given_up = verify.sweep_claims(outputs)
    assert [c["sweep"] for c in hold] == [True] and hold[0]["expect"] == "blocked"
    assert [(c["host"], c["given_up"]["milestone"]) for c in given_up] == [("h7", 7)]


def test_the_older_matrix_outputs_are_still_read() -> None:
    old = {"source": "h1", "host": "h1", "kind": "ping", "address": "10.0.0.1", "expect": "ok"}
    found = claims.read({"matrix": [old], "connections": HOSTS, "earlier": []})
    assert (found.claims, found.connections, found.earlier) == ([old], HOSTS, [])


def test_verify_exit_codes_for_no_claims_malformed_claims_and_none(tmp_path: Path) -> None:
    missing = _verify(tmp_path, {"connections": {}})
    assert missing.returncode == verify.NOTHING_TO_VERIFY
    assert "exports no 'hostnet:claims'" in missing.stderr and "Verifying a stack" in missing.stderr
    bad = _verify(tmp_path, _outputs(_claim(expect="sure")))
    assert bad.returncode == verify.NOTHING_TO_VERIFY
    assert "hostnet:claims.claims[0].expect: 'sure' is not one of" in bad.stderr
    assert "FAIL" not in bad.stdout + bad.stderr
    empty = _verify(tmp_path, _outputs())
    assert empty.returncode == 0 and "claims nothing" in empty.stdout


@pytest.fixture
def three_hosts() -> Iterator[ModuleType]:
    """examples/three-hosts/claims.py, importable as the program imports it."""
    sys.path.insert(0, str(REPO / "examples" / "three-hosts"))
    try:
        yield importlib.import_module("claims")
    finally:
        sys.path.remove(str(REPO / "examples" / "three-hosts"))
        for name in ("claims", "seed"):
            sys.modules.pop(name, None)


def test_the_seed_example_exports_the_documented_format(three_hosts: ModuleType) -> None:
    seed_module = sys.modules["seed"]
    seed = seed_module.from_config(None, None, None, "203.0.113.7")
    exported = {
        "version": 1,
        "hosts": {h.name: {"address": h.address} for h in seed.hosts},
        "claims": three_hosts.expected_matrix(seed),
        "earlier": three_hosts.earlier_claims(seed),
    }
    found = claims.read({claims.OUTPUT: json.loads(json.dumps(exported))})
    assert len(found.claims) == 63
    sources = {c["source"] for c in found.claims}
    assert sources == {"h1", "h2", "h3", "test1.1", "test2.1", "test3.1"}
    nat = [c for c in found.claims if c["port"] == 7 and c["banner"]]
    assert {(c["netns"], c["banner"]) for c in nat} == {
        ("test1.1", "10.32.171.202"),
        ("test2.1", "10.32.171.203"),
        ("test3.1", "10.32.171.204"),
    }
    assert found.earlier is not None
    assert [c["given_up"]["milestone"] for c in found.earlier if c.get("given_up")] == [7, 7, 7]
