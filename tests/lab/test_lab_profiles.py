"""The lab's profiles: what `lab up --profile centos7` and `--profile plain` give
the hosts before hostnet touches them (hostnet_lab.profiles)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

import hostnet_lab
from hostnet import transport
from hostnet_lab import LabInfo, host_exec
from tests.lab.test_lab import ok, ssh

pytestmark = [pytest.mark.lab, pytest.mark.lab_last]
HOSTS, CONTAINERS = ("h1", "h2", "h3"), ("test1.1", "test2.1", "test3.1")
RP_FILTER = ["net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter"]
REJECTS = (
    "-A INPUT -j REJECT --reject-with icmp-host-prohibited",
    "-A FORWARD -j REJECT --reject-with icmp-host-prohibited",
    "-A IN_public_allow -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT",
    "-A FORWARD -o docker0 -j DOCKER",
)


def _sysctl(node: str, *keys: str, netns: str | None = None) -> list[str]:
    argv = ["sysctl", "-n", *keys]
    return ok(host_exec(node, ["ip", "netns", "exec", netns, *argv] if netns else argv)).split()


def _link(node: str, ifname: str) -> dict[str, object]:
    found: list[dict[str, object]] = json.loads(
        ok(host_exec(node, ["ip", "-j", "addr", "show", "dev", ifname]))
    )
    return found[0]


@pytest.fixture
def centos7(lab: LabInfo) -> Iterator[LabInfo]:
    transport.close_all()  # a rebuilt lab has new sshds and host keys
    yield hostnet_lab.up(profile="centos7")
    transport.close_all()
    assert hostnet_lab.up(profile=lab.profile) == lab


def test_centos7_hosts_are_as_the_seeds(centos7: LabInfo) -> None:
    assert centos7.profile == "centos7"
    assert "profile centos7" in hostnet_lab.status()
    for host in HOSTS:
        assert _sysctl(host, *RP_FILTER) == ["1", "1"]
        bridge_nf = host_exec(host, ["sysctl", "-n", "net.bridge.bridge-nf-call-iptables"])
        assert bridge_nf.returncode != 0 or bridge_nf.stdout.split() == ["0"]
        ens34 = _link(host, "ens34")
        assert "UP" not in ens34["flags"] and ens34["addr_info"] == []  # type: ignore[operator]
        docker0 = _link(host, "docker0")["addr_info"]
        assert ("172.17.42.1", 16) in [(a["local"], a["prefixlen"]) for a in docker0]  # type: ignore[attr-defined]
        saved = ok(host_exec(host, ["iptables-save"])).splitlines()
        assert all(rule in saved for rule in REJECTS), saved
        assert "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE" in saved
    for container in CONTAINERS:
        assert _sysctl(container, *RP_FILTER) == ["1", "1"]
    # firewalld accepts ssh and ICMP and rejects the rest with icmp-host-prohibited,
    # which a client sees as "No route to host".
    assert ok(ssh(centos7, centos7.hosts["h2"], "hostname")).strip() == "h2"
    assert ssh(centos7, centos7.hosts["h2"], "ping -c1 -W2 10.32.171.202").returncode == 0
    refused = ssh(centos7, centos7.hosts["h2"], "timeout 5 bash -c '</dev/tcp/10.32.171.202/7'")
    assert refused.returncode != 0 and "No route to host" in refused.stderr


def test_centos7_namespaces_named_later_get_the_hosts_rp_filter(centos7: LabInfo) -> None:
    ok(host_exec("h1", ["ip", "netns", "add", "hnprofile"]))
    try:
        deadline = time.monotonic() + 30  # a bound for a loaded machine, not a speed claim
        while _sysctl("h1", *RP_FILTER, netns="hnprofile") != ["1", "1"]:
            assert time.monotonic() < deadline, "rp_filter never reached the new namespace"
            time.sleep(0.05)
    finally:
        ok(host_exec("h1", ["ip", "netns", "delete", "hnprofile"]))


def test_plain_hosts_are_as_before(lab: LabInfo) -> None:
    assert lab.profile == "plain" and hostnet_lab.load_lab().profile == "plain"
    for host in HOSTS:
        assert _sysctl(host, *RP_FILTER) == ["1", "1"]
        assert "UP" in _link(host, "ens34")["flags"]  # type: ignore[operator]
        assert "REJECT" not in ok(host_exec(host, ["iptables-save"]))
        assert host_exec(host, ["ip", "link", "show", "docker0"]).returncode != 0
    for container in CONTAINERS:
        assert _sysctl(container, *RP_FILTER) == ["0", "0"]
