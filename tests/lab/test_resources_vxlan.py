"""Vxlan against lab hosts over real SSH: idempotence, drift of the device and of
one FDB entry, peers changed in place, failed creates, foreign vxlan devices."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hostnet import errors
from hostnet.resources import vxlan
from hostnet_lab import LabInfo
from tests.lab import resourcelib as rl

pytestmark = pytest.mark.lab

LOCAL = "10.32.171.203"  # h2's ens32
PEERS = ["10.32.171.202", "10.32.171.204"]


@pytest.fixture
def cleanup() -> Iterator[rl.Cleanup]:
    with rl.cleaning() as actions:
        yield actions


def _vni(stem: str) -> int:
    return 100000 + int(stem[-4:], 16)


def _inputs(lab: LabInfo, name: str, vni: int = 0, **fields: Any) -> dict[str, Any]:
    news = {"host": rl.host_input(lab, "h2"), "name": name, "vni": vni, "local": LOCAL}
    return rl.checked("vxlan", {**news, **fields})


def _fdb(name: str) -> list[tuple[str, str]]:
    """(mac, dst) of the device's entries with a VTEP, read with `bridge fdb`."""
    found = json.loads(rl.run("h2", "bridge", "-j", "fdb", "show", "dev", name))
    return sorted((e["mac"], e["dst"]) for e in found if e.get("dst"))


def _flooding(peers: list[str]) -> list[tuple[str, str]]:
    return sorted(("00:00:00:00:00:00", p) for p in peers)


def test_create_twice_is_the_same_device_and_delete_twice_succeeds(
    lab: LabInfo, cleanup: rl.Cleanup
) -> None:
    stem = rl.uid()
    name = stem + "vx"
    inputs = _inputs(lab, name, _vni(stem), remotes=PEERS)
    cleanup.delete_resource("vxlan", inputs)
    agent = rl.agent_for(inputs)
    before = rl.snapshot("h2")

    first = vxlan.KIND.create(agent, inputs)
    seen = rl.link("h2", name)
    assert seen is not None and seen["ifindex"] == first["ifindex"]
    assert seen["ifalias"] == "hostnet:" + first["resource_id"]
    info = seen["linkinfo"]["info_data"]
    assert (info["id"], info["port"], info["local"]) == (_vni(stem), 4789, LOCAL)
    # The underlay (ens32, the link holding local) has MTU 1500: 1500 - 50.
    assert seen["mtu"] == first["default_mtu"] == 1450
    assert "UP" in seen["flags"]
    assert _fdb(name) == _flooding(PEERS)
    state = (rl.snapshot("h2"), _fdb(name))

    assert vxlan.KIND.create(agent, inputs) == first
    assert vxlan.KIND.read(agent, first) == first
    assert (rl.snapshot("h2"), _fdb(name)) == state

    vxlan.KIND.delete(agent, first)
    assert rl.link("h2", name) is None
    vxlan.KIND.delete(agent, first)
    rl.assert_same(before, rl.snapshot("h2"))


def test_drift_of_an_fdb_entry_and_of_the_device(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    name = stem + "vx"
    inputs = _inputs(lab, name, _vni(stem), remotes=PEERS)
    cleanup.delete_resource("vxlan", inputs)
    agent = rl.agent_for(inputs)
    outputs = vxlan.KIND.create(agent, inputs)

    # A peer's entry deleted by hand shows as drift; the update puts it back in place.
    rl.run("h2", "bridge", "fdb", "del", "00:00:00:00:00:00", "dev", name, "dst", PEERS[1])
    drifted = vxlan.KIND.read(agent, outputs)
    assert drifted is not None and drifted["remotes"] == [PEERS[0]]
    assert vxlan.KIND.update(agent, drifted, inputs) == outputs
    assert _fdb(name) == _flooding(PEERS)

    # A stray peer added by hand, the MTU changed and the device moved to a bridge.
    rl.run("h2", "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", name, "dst", "10.32.171.9")
    rl.run("h2", "ip", "link", "set", name, "mtu", "1400")
    drifted = vxlan.KIND.read(agent, outputs)
    assert drifted is not None
    assert sorted(drifted["remotes"]) == sorted([*PEERS, "10.32.171.9"])
    assert drifted["mtu"] == 1400
    assert vxlan.KIND.update(agent, drifted, inputs) == outputs
    assert _fdb(name) == _flooding(PEERS) and rl.link("h2", name)["mtu"] == 1450  # type: ignore[index]

    # The mark edited: not ours any more; the device gone: nothing to read.
    rl.run("h2", "ip", "link", "set", name, "alias", "edited by hand")
    assert vxlan.KIND.read(agent, outputs) is None
    rl.run("h2", "ip", "link", "delete", name)
    assert vxlan.KIND.read(agent, outputs) is None


def test_peers_added_and_removed_in_place(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    name, bridge = stem + "vx", stem + "br"
    rl.run("h2", "ip", "link", "add", bridge, "type", "bridge")
    cleanup.delete_link("h2", bridge)
    inputs = _inputs(lab, name, _vni(stem), remotes=PEERS[:1])
    cleanup.delete_resource("vxlan", inputs)
    agent = rl.agent_for(inputs)
    outputs = vxlan.KIND.create(agent, inputs)
    assert _fdb(name) == _flooding(PEERS[:1])

    steps = [
        {"remotes": PEERS},
        {"remotes": PEERS[1:], "master": bridge, "mtu": 1400},
        {"remotes": []},
        {"remotes": PEERS},
    ]
    for change in steps:
        news = _inputs(lab, name, _vni(stem), **change)
        assert vxlan.POLICY.replace.isdisjoint(set(change))
        outputs = vxlan.KIND.update(agent, outputs, news)
        seen = rl.link("h2", name)
        assert seen is not None and seen["ifindex"] == outputs["ifindex"]
        assert _fdb(name) == _flooding(list(change["remotes"]))
        assert seen.get("master") == change.get("master")
        assert seen["mtu"] == change.get("mtu", 1450)
        assert vxlan.KIND.read(agent, outputs) == outputs


def test_failed_creates_leave_nothing_behind(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    name, foreign = stem + "vx", stem + "fx"
    vni = _vni(stem)
    # A foreign device already carries this VNI on port 4789.
    rl.run("h2", "ip", "link", "add", foreign, "type", "vxlan", "id", str(vni), "dstport", "4789")
    cleanup.delete_link("h2", foreign)
    agent = rl.agent_for(_inputs(lab, name, vni))
    before = (rl.snapshot("h2"), _fdb(foreign))

    cases: list[tuple[dict[str, Any], type[Exception]]] = [
        # The kernel refuses a second device for the VNI: nothing is made.
        ({"vni": vni, "remotes": PEERS}, errors.AgentError),
        # The device and its peers are made, then its bridge is missing.
        ({"vni": vni + 1, "remotes": PEERS, "master": stem + "nobr"}, errors.AgentError),
        # The underlay is missing.
        ({"vni": vni + 1, "dev": stem + "nodev"}, errors.AgentError),
    ]
    for fields, error in cases:
        inputs = _inputs(lab, name, **fields)
        cleanup.delete_resource("vxlan", inputs)
        with pytest.raises(error):
            vxlan.KIND.create(agent, inputs)
        assert rl.link("h2", name) is None
        assert (rl.snapshot("h2"), _fdb(foreign)) == before

    # An update that fails after adding a peer takes the peer back; the device stays.
    inputs = _inputs(lab, name, vni + 1, remotes=PEERS[:1])
    cleanup.delete_resource("vxlan", inputs)
    outputs = vxlan.KIND.create(agent, inputs)
    state = (rl.snapshot("h2"), _fdb(name))
    broken = _inputs(lab, name, vni + 1, remotes=PEERS, master=stem + "nobr")
    with pytest.raises(errors.AgentError):
        vxlan.KIND.update(agent, outputs, broken)
    assert (rl.snapshot("h2"), _fdb(name)) == state
    assert vxlan.KIND.read(agent, outputs) == outputs


def test_foreign_vxlan_devices_are_untouched(lab: LabInfo, cleanup: rl.Cleanup) -> None:
    stem = rl.uid()
    name = stem + "vx"
    vni = _vni(stem)
    add = ["link", "add", name, "type", "vxlan", "id", str(vni), "local", LOCAL, "dstport", "4789"]
    rl.run("h2", "ip", *add)
    cleanup.delete_link("h2", name)
    rl.run("h2", "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", name, "dst", PEERS[0])
    inputs = _inputs(lab, name, vni, remotes=PEERS[1:])
    agent = rl.agent_for(inputs)
    before = (rl.snapshot("h2"), _fdb(name))

    with pytest.raises(errors.NotOwned):
        vxlan.KIND.create(agent, inputs)
    assert (rl.snapshot("h2"), _fdb(name)) == before
    assert vxlan.KIND.read(agent, {**inputs, "resource_id": vxlan.make_id_for(inputs)}) is None
    # Its FDB is not hostnet's either: the device's mark is what would make it so.
    owner = {"owner": vxlan.make_id_for(inputs)}
    with pytest.raises(errors.NotOwned):
        agent.call("fdb_ensure", ifname=name, dst=PEERS[1], **owner)
    kept = agent.call("fdb_delete", ifname=name, dst=PEERS[0], **owner)
    assert kept["deleted"] is False and "another owner" in kept["kept"]
    vxlan.KIND.delete(agent, inputs)
    assert (rl.snapshot("h2"), _fdb(name)) == before

    # Beside it, a hostnet device on another VNI comes and goes without touching it.
    mine = _inputs(lab, stem + "mx", vni + 1, remotes=PEERS)
    cleanup.delete_resource("vxlan", mine)
    outputs = vxlan.KIND.create(agent, mine)
    assert _fdb(name) == before[1]
    vxlan.KIND.delete(agent, outputs)
    assert (rl.snapshot("h2"), _fdb(name)) == before
