"""The seed program's claims: which milestone says what, for each milestone set,
read as `hostnet verify` reads the stack's export (hostnet.claims)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "three-hosts"))

from claims import earlier_claims, expected_matrix
from seed import from_config

from hostnet import claims as claims_format


def _read(exported: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [claims_format.claim(c, f"claims[{i}]", None) for i, c in enumerate(exported)]


def _matrix(milestones: list[int], outside: str | None = "203.0.113.7") -> list[dict[str, Any]]:
    return _read(expected_matrix(from_config(None, milestones, None, outside)))


@pytest.mark.parametrize(
    ("milestones", "count", "sources"),
    [
        ([1], 12, {1}),
        ([1, 2], 21, {1, 2}),
        ([1, 2, 3], 36, {1, 2, 3}),
        ([1, 2, 3, 4], 42, {1, 2, 3, 4}),
        ([1, 2, 3, 4, 7], 63, {1, 2, 3, 4, 7}),
    ],
)
def test_claims_per_milestone_set(milestones: list[int], count: int, sources: set[int]) -> None:
    claims = _matrix(milestones)
    assert len(claims) == count
    assert {c["milestone"] for c in claims} == sources
    assert all(c["why"] for c in claims)


def test_negative_claims_hold_in_every_state() -> None:
    for milestones in ([1, 2, 3], [1, 2, 3, 4, 7]):
        blocked = {
            (c["source"], c["address"]) for c in _matrix(milestones) if c["expect"] == "blocked"
        }
        assert ("test1.1", "192.168.6.3") in blocked  # container to another host's container
        assert ("h2", "192.168.5.2") in blocked  # another host's private network


def test_nat_claim_needs_an_outside_address_once_the_router_exists() -> None:
    nat = [c for c in _matrix([1, 2, 3, 4, 7], outside=None) if c.get("banner")]
    assert nat == []
    nat = [c for c in _matrix([1, 2, 3, 4, 7]) if c.get("banner")]
    assert {c["address"] for c in nat} == {"203.0.113.7"}
    assert {c["banner"] for c in nat} == {"10.32.171.202", "10.32.171.203", "10.32.171.204"}


def test_unknown_milestone_is_refused() -> None:
    with pytest.raises(ValueError, match="milestones"):
        from_config(None, [1, 8], None, None)


def test_sweep_lists_what_the_write_up_gave_up() -> None:
    seed = from_config(None, [1, 2, 3, 4, 7], None, "203.0.113.7")
    earlier = _read(earlier_claims(seed))
    # Milestone 7 sends 10.32.171.0/24 through the router: the NAT claim towards the
    # gateway (milestone 2) is given up; nothing else of earlier states is left out.
    assert {(c["source"], c["address"], c["milestone"]) for c in earlier} == {
        (f"test{i}.1", "10.32.171.1", 2) for i in (1, 2, 3)
    }
    assert {c["given_up"]["milestone"] for c in earlier} == {7}
    kept = [c for c in _read(expected_matrix(seed)) if c.get("write_up_gave_up")]
    assert len(kept) == 6 and {c["address"][:10] for c in kept} == {"192.168.6."}
    assert all(c["expect"] == "ok" and c["milestone"] == 3 for c in kept)


def test_host_to_any_container_is_claimed_from_milestone_3_on() -> None:
    for milestones in ([1, 2, 3], [1, 2, 3, 4], [1, 2, 3, 4, 7]):
        reached = {
            (c["source"], c["address"])
            for c in _matrix(milestones)
            if c["port"] == 22 and c["expect"] == "ok"
        }
        assert {(f"h{i}", f"192.168.6.{n}") for i in (1, 2, 3) for n in (2, 3, 4)} <= reached
