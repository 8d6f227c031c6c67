"""A host reached through a bastion set only on ``hn.Host``: its settings go
through check and the provider to the transport, and the session to the host
rides an SSH session to the bastion."""

from __future__ import annotations

import pytest

import hostnet_lab
import pulumi_hostnet as hn
from hostnet import transport
from hostnet.resources import KINDS
from hostnet_lab import LabInfo
from pulumi_hostnet._provider import HostnetProvider
from tests.lab import resourcelib as rl

pytestmark = pytest.mark.lab


def _ssh_peers(host: str) -> str:
    return hostnet_lab.host_exec(
        host, ["ss", "-Htn", "state", "established", "( sport = :22 )"]
    ).stdout


def test_a_bridge_made_on_a_host_behind_a_bastion(lab: LabInfo) -> None:
    jump = hn.Host(
        address=lab.hosts["h1"], key_file=str(lab.key_path), known_hosts=str(lab.known_hosts_path)
    )
    h2 = hn.Host(
        name="h2",
        address=lab.hosts["h2"],
        key_file=str(lab.key_path),
        known_hosts=str(lab.known_hosts_path),
        request_timeout=30,
        bastion=jump,
    )
    name = rl.uid()
    news = {**h2.props(), "name": name, "addresses": ["198.18.79.1/24"]}
    inputs, failures = KINDS["bridge"].check(news)
    assert failures == []
    assert inputs["host"]["bastion"]["address"] == lab.hosts["h1"]

    transport.close_all()  # no session of an earlier test may stand in for this one
    assert lab.hosts["h1"] not in _ssh_peers("h2")
    provider = HostnetProvider("bridge")
    created = provider.create(inputs)
    try:
        links = hostnet_lab.host_exec("h2", ["ip", "-br", "addr", "show", name]).stdout
        assert "198.18.79.1/24" in links, links
        # h2 sees hostnet's session coming from h1, the bastion.
        assert lab.hosts["h1"] in _ssh_peers("h2")
        assert provider.read(created.id, created.outs).id == created.id
    finally:
        provider.delete(created.id, created.outs)
    assert hostnet_lab.host_exec("h2", ["ip", "link", "show", name]).returncode != 0
