"""The fake host answers as the real agent does: every row of the unit kind tables
(tests/unit/kinds/cases.py) runs on both, and the outputs must agree.

The real side is the agent (``python -m hostnet.agent``) in a network namespace
of its own, set up as the fake's ``world()``: ens32 10.32.171.202/24 with the
default route via 10.32.171.1, ens34, bridges of another stack, and test1.1
(the NICs are veth ends whose peers stay behind: containers have no dummy links).
Needs root (namespaces); run it through scripts/isolated.sh, which gives /run/netns
to this run alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from hostnet import errors
from hostnet.agent_client import Agent
from tests.unit.fakehost import FakeAgent
from tests.unit.kinds import lifecycle as kinds
from tests.unit.kinds.cases import CASES
from tests.unit.kinds.lifecycle import OTHER_MARK

pytestmark = pytest.mark.lab

# What the kernel chooses (indexes, addresses it makes up): not compared.
CHOSEN = {"ifindex", "mac", "peer_ifindex", "peer_mac"}
NAMED = ("test1.1", "testrt3", "blue")
WORLD = f"""
set -e
ip link set lo up
for nic in ens32 ens34; do
  ip link add "$nic" type veth peer name "$nic-wire"
  ip link set "$nic-wire" up
  ip link set "$nic" up
done
ip addr add 10.32.171.202/24 dev ens32
ip route add default via 10.32.171.1
for b in bridge0 bridge1 bridge2 br-ens32; do
  ip link add "$b" type bridge
  ip link set "$b" alias '{OTHER_MARK}' up
done
ip netns add test1.1
ip -n test1.1 link set lo up
exec "$@"
"""


class _Pipe:
    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def sendall(self, data: bytes) -> None:
        self._stream.write(data)
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()


def _named() -> set[str]:
    return set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()


@dataclass(frozen=True)
class RealHost:
    """The agent, its process (whose namespace is the host's) and its run dir."""

    agent: Agent
    pid: int
    run_dir: Path

    def sh(self, script: str) -> None:
        """A shell script in the host's namespace (named ones are reached by ``ip -n``)."""
        argv = ["nsenter", f"--net=/proc/{self.pid}/ns/net", "sh", "-ec", script]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{script}: {done.stderr}"

    def record(self, kind: str, ns: str | None, key: str, record: dict[str, Any]) -> None:
        """A record as the agent keeps it (hostnet.agent.records)."""
        path = f"/run/netns/{ns}" if ns else f"/proc/{self.pid}/ns/net"
        where = self.run_dir / kind / f"{ns or 'host'}@{os.stat(path).st_ino}"
        where.mkdir(parents=True, exist_ok=True)
        (where / key).write_text(json.dumps(record))


@pytest.fixture
def real(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RealHost]:
    """The agent in a namespace of its own that holds the fake's world; for a case
    of a kernel before 4.17, under a release that old (setarch --uname-2.6)."""
    case = CASES[request.node.callspec.params["name"]]
    old = [] if case.rule_protocol else ["setarch", "--uname-2.6"]
    if os.geteuid() != 0:
        pytest.fail("the fidelity test needs root (network namespaces)", pytrace=False)
    left = _named() & set(NAMED)
    assert not left, f"namespaces {left} exist already: run this through scripts/isolated.sh"
    env = dict(os.environ, HOSTNET_RUN_DIR=str(tmp_path / "run"))
    stderr = (tmp_path / "agent.stderr").open("wb")
    argv = [*old, sys.executable, "-u", "-m", "hostnet.agent"]
    proc = subprocess.Popen(
        ["unshare", "--net", "sh", "-c", WORLD, "world", *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        ready = json.loads(proc.stdout.readline() or b"{}")
        assert ready.get("ready"), (tmp_path / "agent.stderr").read_text()
        assert case.rule_protocol or ready["kernel"].startswith("2.6."), ready
        agent = Agent(host="h1", channel=_Pipe(proc.stdin), stdout=proc.stdout, info=ready)
        yield RealHost(agent=agent, pid=proc.pid, run_dir=tmp_path / "run")
        agent.close()
        assert proc.wait(timeout=30) == 0, (tmp_path / "agent.stderr").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr.close()
        for name in _named() & set(NAMED):
            subprocess.run(["ip", "netns", "del", name], check=False)


def _seen(outputs: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if outputs is None else {k: v for k, v in outputs.items() if k not in CHOSEN}


def _update(
    kind: str, agent: Any, olds: dict[str, Any], news: dict[str, Any]
) -> tuple[str, dict[str, Any] | None]:
    """What an update came to: its outputs, or the error it raised."""
    try:
        return "ok", kinds.update(kind, agent, olds, news)
    except errors.HostnetError as exc:
        return type(exc).__name__, None


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_fake_answers_every_row_as_the_agent_does(name: str, real: RealHost) -> None:
    case = CASES[name]
    fake = FakeAgent(case.world())
    inputs = kinds.checked(case.kind, case.fields)
    on_fake = kinds.create(case.kind, fake, inputs)
    on_real = kinds.create(case.kind, real.agent, inputs)
    assert _seen(on_fake) == _seen(on_real), "create"
    for label, overrides in case.updates.items():
        fields = {k: v for k, v in {**case.fields, **overrides}.items() if v is not None}
        news = kinds.checked(case.kind, fields)
        fake_to = _update(case.kind, fake, on_fake, news)
        real_to = _update(case.kind, real.agent, on_real, news)
        assert (fake_to[0], _seen(fake_to[1])) == (real_to[0], _seen(real_to[1])), label
        on_fake, on_real = fake_to[1] or on_fake, real_to[1] or on_real
    seen = kinds.read(case.kind, real.agent, on_real)
    assert _seen(kinds.read(case.kind, fake, on_fake)) == _seen(seen), "read"
    kinds.delete(case.kind, fake, on_fake)
    kinds.delete(case.kind, real.agent, on_real)
    assert kinds.read(case.kind, real.agent, on_real) is None


def _replaced(kind: str, agent: Any, fields: dict[str, Any]) -> list[Any]:
    """Create, a renamed instance created beside it, the old one deleted, then the new."""
    steps: list[Any] = []
    old = kinds.create(kind, agent, kinds.checked(kind, fields))
    renamed = kinds.checked(kind, fields, token=kinds.OTHER_TOKEN, resource="renamed")
    new = kinds.create(kind, agent, renamed)
    steps.append(_seen(new))
    kinds.delete(kind, agent, old)
    steps.append(_seen(kinds.read(kind, agent, new)))
    return steps + _deleted(kind, agent, new)


def _deleted(kind: str, agent: Any, outputs: dict[str, Any]) -> list[Any]:
    """A delete's error (if it raised one), then what read finds after it."""
    try:
        kinds.delete(kind, agent, outputs)
        said: list[Any] = []
    except errors.HostnetError as exc:
        said = [type(exc).__name__]
    return [*said, _seen(kinds.read(kind, agent, outputs))]


def _migrated(kind: str, agent: Any, fields: dict[str, Any]) -> list[Any]:
    """State from before instance ownership, its first update, then its delete."""
    old = kinds.create(kind, agent, kinds.checked(kind, fields, token=None))
    news = kinds.checked(kind, fields, legacy=old["resource_id"])
    outputs = kinds.update(kind, agent, old, news)
    return [
        _seen(outputs),
        _seen(kinds.read(kind, agent, outputs)),
        *_deleted(kind, agent, outputs),
    ]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_fake_answers_a_replacement_as_the_agent_does(name: str, real: RealHost) -> None:
    case = CASES[name]
    on_fake = _replaced(case.kind, FakeAgent(case.world()), case.fields)
    assert on_fake == _replaced(case.kind, real.agent, case.fields)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_fake_answers_a_migration_as_the_agent_does(name: str, real: RealHost) -> None:
    case = CASES[name]
    on_fake = _migrated(case.kind, FakeAgent(case.world()), case.fields)
    assert on_fake == _migrated(case.kind, real.agent, case.fields)


def _alias(mark: str | None, *links: str) -> str:
    return "".join(f"\nip {link} alias '{mark}'" for link in links) if mark else ""


def _owner(mark: str | None) -> str | None:
    return mark.removeprefix("hostnet:") if mark else None


def _plant_route(real: RealHost, mark: str | None) -> None:
    proto = 77 if mark else "static"
    real.sh(f"ip route add 192.168.6.3/32 via 10.32.171.203 proto {proto}")
    if mark:
        real.record("routes", None, "4-192.168.6.3-32-254-0", {"owner": _owner(mark)})


def _plant_rule(real: RealHost, mark: str | None, *, protocol: bool = True) -> None:
    proto = (" protocol 77" if mark else " protocol static") if protocol else ""
    real.sh(f"ip -n test1.1 rule add from 192.168.6.2/32 lookup 106 priority 1002{proto}")
    if mark:
        rule: dict[str, Any] = dict.fromkeys(("dst", "iif", "oif", "fwmark", "fwmask", "tos"))
        rule.update(priority=1002, family=4, src="192.168.6.2/32", action="table", table=106)
        real.record("rules", "test1.1", "4-1002", {"owner": _owner(mark), "rule": rule})


def _plant_sysctl(real: RealHost, mark: str | None) -> None:
    key = "net.ipv4.conf.all.rp_filter"
    real.sh("echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter")
    if mark:
        record = {"owner": _owner(mark), "previous": "0", "netns": "host", "key": key}
        real.record("sysctl", None, key, record)


def _plant_netns(name: str) -> Callable[[RealHost, str | None], None]:
    def plant(real: RealHost, mark: str | None) -> None:
        real.sh(
            f"ip netns add {name}\nip -n {name} link set lo up"
            + _alias(mark, f"-n {name} link set lo")
        )

    return plant


def _plant_link(ifname: str, add: str) -> Callable[[RealHost, str | None], None]:
    def plant(real: RealHost, mark: str | None) -> None:
        real.sh(f"ip link add {ifname} {add}" + _alias(mark, f"link set {ifname}"))

    return plant


def _plant_veth(real: RealHost, mark: str | None) -> None:
    ends = ("link set test1.1.eth0", "-n test1.1 link set veth0")
    real.sh(
        "ip link add test1.1.eth0 type veth peer name veth0 netns test1.1" + _alias(mark, *ends)
    )


# What cases.py plants in the model, planted on the real host.
REAL_PLANTS: dict[str, Callable[[RealHost, str | None], None]] = {
    "bridge": _plant_link("bridge9", "type bridge"),
    "bridge-ports": _plant_link("bridge8", "type bridge"),
    "bridge-uplink": _plant_link("br-up", "type bridge"),
    "veth": _plant_veth,
    "netns_router": _plant_netns("testrt3"),
    "route": _plant_route,
    "routing_rule": _plant_rule,
    "routing_rule-old-kernel": lambda real, mark: _plant_rule(real, mark, protocol=False),
    "netns": _plant_netns("blue"),
    "sysctl": _plant_sysctl,
    "vxlan": _plant_link("vxlan100", "type vxlan id 100 local 10.32.171.202 dstport 4789"),
}
FOREIGN = sorted(name for name, case in CASES.items() if case.foreign is not None)


def _claimed(kind: str, agent: Any, fields: dict[str, Any], *, adopt: bool) -> list[Any]:
    """A create over a foreign object: its outputs or error, then its delete."""
    try:
        outputs = kinds.create(kind, agent, kinds.checked(kind, fields, adopt=adopt))
    except errors.HostnetError as exc:
        return [type(exc).__name__]
    return [_seen(outputs), *_deleted(kind, agent, outputs)]


def test_every_foreign_object_of_the_tables_is_planted_on_the_real_host() -> None:
    assert set(REAL_PLANTS) == set(FOREIGN)


@pytest.mark.parametrize("name", FOREIGN)
@pytest.mark.parametrize(
    ("mark", "adopt"),
    [(None, False), (OTHER_MARK, False), (OTHER_MARK, True)],
    ids=["unmarked", "other-stack", "adopted"],
)
def test_the_fake_answers_a_foreign_object_as_the_agent_does(
    name: str, mark: str | None, adopt: bool, real: RealHost
) -> None:
    case = CASES[name]
    assert case.foreign is not None
    host = case.world()
    case.foreign(host, mark)
    on_fake = _claimed(case.kind, FakeAgent(host), case.fields, adopt=adopt)
    REAL_PLANTS[name](real, mark)
    assert on_fake == _claimed(case.kind, real.agent, case.fields, adopt=adopt)
