"""Resource ids are readable and parse back to what made them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hostnet.ids import ResourceId, make_id, parse_id


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        ({"host": "h1", "kind": "bridge", "name": "bridge0"}, "h1/bridge/bridge0"),
        (
            {"host": "h1", "kind": "route", "name": "10.32.171.0/24", "netns": "test1.1"},
            "h1/route/ns:test1.1/10.32.171.0/24",
        ),
        (
            {"host": "h2", "kind": "veth", "name": "v0", "netns": "/proc/42/ns/net"},
            "h2/veth/ns:%2Fproc%2F42%2Fns%2Fnet/v0",
        ),
    ],
)
def test_examples(parts: dict[str, str], text: str) -> None:
    assert make_id(**parts) == text
    assert parse_id(text) == ResourceId(**parts)


_word = st.text(alphabet="abcdefghij0123456789.-_:%/", min_size=1, max_size=12)


@given(
    host=st.text(alphabet="abcxyz0123", min_size=1, max_size=6),
    kind=st.sampled_from(["bridge", "veth", "route", "nat"]),
    name=_word.filter(lambda s: not s.startswith("ns:")),
    netns=st.none() | _word,
)
def test_round_trip(host: str, kind: str, name: str, netns: str | None) -> None:
    rid = ResourceId(host=host, kind=kind, name=name, netns=netns)
    assert parse_id(str(rid)) == rid


@pytest.mark.parametrize("text", ["", "h1", "h1/bridge", "h1/bridge/", "h1/route/ns:x"])
def test_rejects_non_ids(text: str) -> None:
    with pytest.raises(ValueError):
        parse_id(text)
