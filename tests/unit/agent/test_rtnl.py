"""hostnet.agent.rtnl's message helpers, on bytes built here: no socket, no kernel."""

from __future__ import annotations

import errno
import struct

import pytest

from hostnet.agent import rtnl
from hostnet.agent.rtnl import (
    IFF_UP,
    IFLA_ADDRESS,
    IFLA_IFALIAS,
    IFLA_IFNAME,
    IFLA_INFO_DATA,
    IFLA_INFO_KIND,
    IFLA_LINK,
    IFLA_LINKINFO,
    IFLA_MASTER,
    IFLA_MTU,
    IFLA_OPERSTATE,
    ifinfo,
    nla,
    nla_str,
    nla_u32,
    parse_link,
    vxlan_data,
)

_HDR = struct.Struct("=IHHII")


def test_attributes_are_padded_to_four_bytes() -> None:
    assert nla(1, b"ab") == struct.pack("=HH", 6, 1) + b"ab\0\0"
    assert nla_str(3, "eth0") == struct.pack("=HH", 9, 3) + b"eth0\0" + b"\0\0\0"
    assert nla_u32(4, 1500) == struct.pack("=HHI", 8, 4, 1500)
    assert len(ifinfo(index=7, flags=IFF_UP, change=IFF_UP)) == 16


def _link_body(**extra: bytes) -> bytes:
    attrs = (
        nla_str(IFLA_IFNAME, "veth0")
        + nla(IFLA_ADDRESS, bytes.fromhex("02face000102"))
        + nla_u32(IFLA_MTU, 1400)
        + nla_u32(IFLA_LINK, 12)
        + nla_u32(IFLA_MASTER, 3)
        + nla(IFLA_OPERSTATE, bytes([6]))
        + nla(IFLA_IFALIAS, b"hostnet:h1/veth/x\0")
    )
    return ifinfo(index=11, flags=IFF_UP) + attrs + b"".join(extra.values())


def test_parse_link_reads_what_hostnet_uses() -> None:
    info = nla(IFLA_LINKINFO, nla_str(IFLA_INFO_KIND, "veth"))
    body = _link_body(info=info)
    msg = parse_link(body, 0, len(body))
    assert (msg.index, msg.flags & IFF_UP, msg.ifname) == (11, IFF_UP, "veth0")
    assert (msg.mac, msg.mtu, msg.link, msg.master) == ("02:fa:ce:00:01:02", 1400, 12, 3)
    assert (msg.operstate, msg.alias, msg.kind, msg.vxlan) == (
        "UP",
        "hostnet:h1/veth/x",
        "veth",
        None,
    )


def test_a_link_without_kind_is_a_device_and_an_empty_alias_none() -> None:
    body = ifinfo(index=2) + nla_str(IFLA_IFNAME, "ens32") + nla(IFLA_IFALIAS, b"\0")
    msg = parse_link(body, 0, len(body))
    assert (msg.kind, msg.alias, msg.mac, msg.mtu) == ("device", None, None, None)


def test_parse_link_stops_at_a_broken_attribute() -> None:
    body = ifinfo(index=2) + nla_str(IFLA_IFNAME, "a") + struct.pack("=HH", 2, IFLA_MTU)
    assert parse_link(body, 0, len(body)).mtu is None


@pytest.mark.parametrize(
    ("local", "target", "dev", "ttl", "learning"),
    [
        ("10.32.171.202", "10.32.171.203", None, None, None),
        ("10.32.171.202", "239.1.1.1", 4, 16, False),
        ("fd00::1", "fd00::2", None, 0, True),
        (None, None, None, None, None),
    ],
)
def test_vxlan_data_reads_back(
    local: str | None, target: str | None, dev: int | None, ttl: int | None, learning: bool | None
) -> None:
    data = vxlan_data(
        vni=100, port=4789, local=local, target=target, dev=dev, ttl=ttl, learning=learning
    )
    info = nla(IFLA_LINKINFO, nla_str(IFLA_INFO_KIND, "vxlan") + nla(IFLA_INFO_DATA, data))
    body = ifinfo(index=9) + nla_str(IFLA_IFNAME, "vxlan100") + info
    vxlan = parse_link(body, 0, len(body)).vxlan
    assert vxlan == {
        "id": 100,
        "group": target,
        "local": local,
        "port": 4789,
        "dev": dev,
        "ttl": ttl or 0,
        "learning": bool(learning),
    }


def _ack(error: int, *, flags: int = 0, tlvs: bytes = b"", echoed: bytes = b"") -> bytes:
    request = echoed or _HDR.pack(_HDR.size, rtnl.RTM_NEWLINK, 0, 1, 0)
    body = struct.pack("=i", error) + request + tlvs
    return _HDR.pack(_HDR.size + len(body), rtnl.NLMSG_ERROR, flags, 1, 0) + body


def test_an_ack_of_zero_is_success() -> None:
    data = _ack(0)
    rtnl._raise_for_ack(data, 0, len(data), 0)


def test_an_error_ack_raises_the_errno() -> None:
    data = _ack(-errno.EEXIST)
    with pytest.raises(OSError) as caught:
        rtnl._raise_for_ack(data, 0, len(data), 0)
    assert caught.value.errno == errno.EEXIST


def test_an_extended_ack_carries_the_kernels_words() -> None:
    said = nla_str(rtnl.NLMSGERR_ATTR_MSG, "Invalid MTU")
    flags = rtnl.NLM_F_ACK_TLVS | rtnl.NLM_F_CAPPED
    data = _ack(-errno.EINVAL, flags=flags, tlvs=said)
    with pytest.raises(OSError, match=r"Invalid MTU \(Invalid argument\)"):
        rtnl._raise_for_ack(data, 0, len(data), flags)


def test_an_uncapped_extended_ack_skips_the_whole_echoed_request() -> None:
    payload = ifinfo(index=3) + nla_str(IFLA_IFNAME, "bridge0")  # 16 + 12 bytes
    echoed = _HDR.pack(_HDR.size + len(payload), rtnl.RTM_NEWLINK, 0, 1, 0) + payload
    said = nla_str(rtnl.NLMSGERR_ATTR_MSG, "Device busy")
    data = _ack(-errno.EBUSY, flags=rtnl.NLM_F_ACK_TLVS, tlvs=said, echoed=echoed)
    with pytest.raises(OSError, match=r"Device busy \(Device or resource busy\)"):
        rtnl._raise_for_ack(data, 0, len(data), rtnl.NLM_F_ACK_TLVS)
