"""Framing and error mapping of the agent protocol."""

from __future__ import annotations

import json

import pytest

from hostnet import errors
from hostnet.protocol import Op, decode_reply, encode_request, raise_for_reply


def test_request_is_one_line_and_drops_none_arguments() -> None:
    data = encode_request(
        request_id=7, ops=[Op(op="link_read", args={"ifname": "br0", "netns": None})], timeout=5.0
    )
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert json.loads(data) == {
        "id": 7,
        "ops": [{"op": "link_read", "args": {"ifname": "br0"}}],
        "timeout": 5.0,
    }


def test_newlines_inside_values_stay_escaped() -> None:
    data = encode_request(request_id=1, ops=[Op(op="x", args={"s": "a\nb"})], timeout=1)
    assert data.count(b"\n") == 1


def test_successful_reply_returns_results() -> None:
    reply = decode_reply(b'{"id": 3, "ok": true, "results": [1, null], "t": 0.002}')
    assert raise_for_reply(reply, host="h1", ops=[Op(op="a"), Op(op="b")]) == [1, None]
    assert reply.seconds == pytest.approx(0.002)


@pytest.mark.parametrize(
    ("kind", "cls"),
    [("NotOwned", errors.NotOwned), ("Exists", errors.Conflict), ("Failed", errors.AgentError)],
)
def test_error_reply_maps_to_class_and_names_the_step(kind: str, cls: type) -> None:
    line = json.dumps(
        {
            "id": 3,
            "ok": False,
            "results": [{}],
            "error": {"index": 1, "op": "link_set", "type": kind, "message": "nope", "errno": 1},
        }
    )
    with pytest.raises(cls) as info:
        raise_for_reply(decode_reply(line), host="h1", ops=[Op(op="a"), Op(op="link_set")])
    assert isinstance(info.value, errors.AgentError)
    assert "h1: link_set (step 2)" in str(info.value)
    assert info.value.kind == kind and info.value.errno == 1


@pytest.mark.parametrize("line", [b"hello", b"[1, 2]", b'{"ready": true}'])
def test_non_replies_are_rejected(line: bytes) -> None:
    with pytest.raises(ValueError):
        decode_reply(line)
