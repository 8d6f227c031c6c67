"""The lab itself: the environment every other lab and e2e test stands on."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hostnet_lab
from hostnet_lab import (
    LabInfo,
    assert_no_lab_route_in_machine_ns,
    ctl_argv,
    host_exec,
    machine_argv,
)
from hostnet_lab.plumbing import pids_in, proc_ns

pytestmark = pytest.mark.lab


def ctl(argv: list[str], *, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ctl_argv(argv), capture_output=True, text=True, timeout=timeout, check=False
    )


def ssh(info: LabInfo, address: str, command: str) -> subprocess.CompletedProcess[str]:
    return ctl(["ssh", "-F", str(info.ssh_config_path), f"root@{address}", command])


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args} -> {proc.returncode}: {proc.stderr}"
    return proc.stdout


def machine_netns() -> set[str]:
    return set(
        ok(
            subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
        ).split()
    )


def test_up_twice_verifies_and_reuses(lab: LabInfo) -> None:
    pids = json.loads(hostnet_lab.STATE.read_text())["nodes"]
    again = hostnet_lab.up()
    assert again == lab
    assert json.loads(hostnet_lab.STATE.read_text())["nodes"] == pids
    assert hostnet_lab.health(json.loads(hostnet_lab.STATE.read_text())) == []


@pytest.mark.parametrize("host", ["h1", "h2", "h3"])
def test_ssh_from_ctl_prints_hostname(lab: LabInfo, host: str) -> None:
    assert ok(ssh(lab, lab.hosts[host], "hostname; cat /etc/hostname")).split() == [host, host]


def test_ssh_checks_host_keys(lab: LabInfo) -> None:
    config = ok(ctl(["ssh", "-F", str(lab.ssh_config_path), "-G", "root@10.32.171.202"]))
    assert "stricthostkeychecking true" in config
    assert "batchmode yes" in config
    unknown = ctl(
        [
            *["ssh", "-F", str(lab.ssh_config_path), "-o", "UserKnownHostsFile=/dev/null"],
            *["root@10.32.171.202", "true"],
        ]
    )
    assert unknown.returncode == 255
    assert "Host key verification failed" in unknown.stderr


def test_ssh_session_sees_system_python_and_empty_bashrc(lab: LabInfo) -> None:
    out = ok(ssh(lab, lab.hosts["h1"], "command -v python3; wc -c < /root/.bashrc"))
    assert out.split() == ["/usr/bin/python3", "0"]


def test_machine_namespace_has_no_lab_route(lab: LabInfo) -> None:
    assert_no_lab_route_in_machine_ns()
    routes = ok(
        subprocess.run(
            machine_argv(["ip", "-4", "route", "show"]), capture_output=True, text=True, check=False
        )
    )
    assert "default" in routes  # the machine's table, not hn-ctl's
    assert "10.32.171." not in routes
    assert "192.168." not in routes


def test_ctl_cannot_leave_the_lab(lab: LabInfo) -> None:
    assert (
        ok(ctl(["ip", "-4", "route", "show"])).strip()
        == "10.32.171.0/24 dev eth0 proto kernel scope link src 10.32.171.250"
    )
    assert ctl(["ip", "route", "get", "192.0.2.1"]).returncode != 0
    links = json.loads(ok(ctl(["ip", "-j", "link", "show"])))
    assert [link["ifname"] for link in links] == ["lo", "eth0"]
    assert links[1]["link_netnsid"] is not None  # its peer is in hn-sw32, not the machine
    peer = json.loads(ok(ctl(["ip", "-j", "netns", "list-id"])))
    assert [entry.get("name") for entry in peer] == ["hn-sw32"]


def test_netns_inside_a_host_is_private_to_it(lab: LabInfo) -> None:
    before = machine_netns()
    try:
        ok(ssh(lab, lab.hosts["h1"], "ip netns add testrt3"))
        ok(ssh(lab, lab.hosts["h2"], "ip netns add testrt3"))
        h1 = ok(ssh(lab, lab.hosts["h1"], "ip netns list")).split()
        assert "testrt3" in h1
        assert "testrt3" not in ok(host_exec("h3", ["ip", "netns", "list"])).split()
        assert machine_netns() == before
        inodes = {
            host: ok(host_exec(host, ["stat", "-L", "-c", "%i", "/run/netns/testrt3"])).strip()
            for host in ("h1", "h2")
        }
        assert inodes["h1"] != inodes["h2"]
    finally:
        for host in ("h1", "h2"):
            host_exec(host, ["ip", "netns", "delete", "testrt3"])
    assert "testrt3" not in ok(host_exec("h1", ["ip", "netns", "list"])).split()


def test_each_host_has_its_own_run(lab: LabInfo) -> None:
    ok(host_exec("h1", ["touch", "/run/xtables.lock.probe"]))
    try:
        assert host_exec("h2", ["test", "-e", "/run/xtables.lock.probe"]).returncode == 1
        assert not Path("/run/xtables.lock.probe").exists()
    finally:
        host_exec("h1", ["rm", "-f", "/run/xtables.lock.probe"])


def test_host_sysctls(lab: LabInfo) -> None:
    out = ok(
        host_exec(
            "h2",
            [
                "sysctl",
                "-n",
                "net.ipv4.ip_forward",
                "net.ipv4.conf.all.rp_filter",
                "net.ipv4.conf.ens32.rp_filter",
            ],
        )
    )
    assert out.split() == ["0", "1", "1"]


def test_host_nics(lab: LabInfo) -> None:
    links = {link["ifname"]: link for link in json.loads(ok(host_exec("h3", ["ip", "-j", "addr"])))}
    assert set(links) == {"lo", "ens32", "ens34"}
    for nic in ("ens32", "ens34"):
        assert "UP" in links[nic]["flags"]
    v4 = [
        (a["local"], a["prefixlen"]) for a in links["ens32"]["addr_info"] if a["family"] == "inet"
    ]
    assert v4 == [("10.32.171.204", 24)]
    assert not [a for a in links["ens34"]["addr_info"] if a["family"] == "inet"]
    route = ok(host_exec("h3", ["ip", "-4", "route", "show", "default"]))
    assert route.strip() == "default via 10.32.171.1 dev ens32"


def whoami(target: str) -> str:
    return (
        "import socket\n"
        f"conn = socket.create_connection(({target!r}, 7), timeout=5)\n"
        "print(conn.recv(64).decode().strip())\n"
    )


def connect_whoami(address: str) -> str:
    with socket.create_connection((address, 7), timeout=5) as conn:
        return conn.recv(64).decode().strip()


def test_the_test_process_itself_is_inside_ctl(lab: LabInfo) -> None:
    assert connect_whoami(lab.gateway) == lab.ctl_address
    with pytest.raises(OSError):
        socket.create_connection(("192.0.2.1", 7), timeout=2)


def test_gateway_reports_the_source_address(lab: LabInfo) -> None:
    assert ok(ctl(["/usr/bin/python3", "-c", whoami(lab.gateway)])).strip() == "10.32.171.250"
    assert ok(host_exec("h2", ["/usr/bin/python3", "-c", whoami(lab.gateway)])).strip() == (
        "10.32.171.203"
    )


def test_outside_is_reached_only_by_a_default_route(lab: LabInfo) -> None:
    assert ok(host_exec("h3", ["/usr/bin/python3", "-c", whoami(lab.outside)])).strip() == (
        "10.32.171.204"
    )
    assert ctl(["ip", "route", "get", lab.outside]).returncode != 0


def test_gateway_has_no_route_to_containers(lab: LabInfo) -> None:
    routes = ok(
        subprocess.run(
            ["ip", "-n", "hn-gw", "-4", "route", "show"],
            capture_output=True,
            text=True,
            check=False,
        )
    )
    assert routes.strip() == "10.32.171.0/24 dev eth0 proto kernel scope link src 10.32.171.1"
    assert ok(ctl(["ping", "-c1", "-W2", lab.gateway]))


@pytest.mark.parametrize(
    ("container", "host"), [("test1.1", "h1"), ("test2.1", "h2"), ("test3.1", "h3")]
)
def test_container_has_only_lo_and_is_named_on_its_host(
    lab: LabInfo, container: str, host: str
) -> None:
    links = json.loads(ok(host_exec(container, ["ip", "-j", "link"])))
    assert [(link["ifname"], "UP" in link["flags"]) for link in links] == [("lo", True)]
    assert ok(host_exec(container, ["hostname"])).strip() == container
    assert ok(host_exec(container, ["cat", "/etc/hostname"])).strip() == container
    named = ok(host_exec(host, ["ip", "netns", "exec", container, "ip", "-o", "link"]))
    assert [line.split(": ")[1] for line in named.splitlines()] == ["lo"]
    # The same namespace by name, through pyroute2 from a process inside the host.
    code = (
        "from pyroute2 import IPRoute\n"
        f"with IPRoute(netns={container!r}, flags=0) as ipr:\n"
        "    print(' '.join(link.get('ifname') for link in ipr.get_links()))\n"
    )
    assert ok(host_exec(host, [sys.executable, "-c", code])).split() == ["lo"]
    assert container not in machine_netns()
    for other in {"h1", "h2", "h3"} - {host}:
        assert container not in ok(host_exec(other, ["ip", "netns", "list"])).split()


def test_container_sshd_key_is_known(lab: LabInfo) -> None:
    known = lab.known_hosts_path.read_text().splitlines()
    names = [line.split()[0] for line in known]
    assert "10.32.171.202" in names
    assert "192.168.5.2,192.168.6.2,192.168.7.2" in names
    listening = ok(host_exec("test1.1", ["ss", "-Hltn", "sport", "=", ":22"]))
    assert "0.0.0.0:22" in listening


def _named(host: str) -> set[str]:
    return set(ok(host_exec(host, ["ip", "netns", "list"])).split())


def _netns_inode(host: str, name: str) -> int:
    return int(ok(host_exec(host, ["stat", "-L", "-c", "%i", f"/run/netns/{name}"])))


def test_containers_are_namespaces_named_on_their_host_and_go_in_place(lab: LabInfo) -> None:
    hosts = {"h1": 1, "h2": 2, "h3": 3}
    try:
        info = hostnet_lab.up(containers=5)
        assert info.containers_per_host == 5
        assert info.containers == {f"test{k}.{i}": h for h, k in hosts.items() for i in range(1, 6)}
        assert info.container_addresses == lab.container_addresses  # testK.1's, as before
        for host, k in hosts.items():
            assert {f"test{k}.{i}" for i in range(1, 6)} <= _named(host)
            assert not {name for name in _named(host) if name.startswith("test")} - set(
                info.containers
            )
            links = json.loads(ok(host_exec(host, ["ip", "-n", f"test{k}.5", "-j", "link"])))
            assert [(link["ifname"], "UP" in link["flags"]) for link in links] == [("lo", True)]
        extra = {
            _netns_inode(host, f"test{k}.{i}") for host, k in hosts.items() for i in range(2, 6)
        }
        assert len(extra) == 12  # a namespace each, none shared
        assert pids_in({"net": extra}) == []  # and no process in any
        assert "test1.5" not in machine_netns()
        assert "containers per host: 5" in hostnet_lab.status()

        again = hostnet_lab.up(containers=5)
        assert again == info
        assert {_netns_inode("h2", f"test2.{i}") for i in range(2, 6)} <= extra

        inner = subprocess.Popen(
            hostnet_lab.node_argv("h1", ["ip", "netns", "exec", "test1.5", "sleep", "300"]),
        )
        try:
            until = time.monotonic() + 10
            while not pids_in({"net": extra}) and time.monotonic() < until:
                time.sleep(0.05)
            assert pids_in({"net": extra}) != []
            assert hostnet_lab.up() == lab  # back to one container per host
            assert inner.wait(timeout=10) != 0
        finally:
            inner.kill()
        assert pids_in({"net": extra}) == []
        for host, k in hosts.items():
            assert {name for name in _named(host) if name.startswith("test")} == {f"test{k}.1"}
    finally:
        hostnet_lab.up()


def test_containers_out_of_range_are_refused_before_anything_changes(lab: LabInfo) -> None:
    for bad in (0, 255, True):
        with pytest.raises(hostnet_lab.LabError, match="containers: "):
            hostnet_lab.up(containers=bad)
    assert hostnet_lab.load_lab() == lab


def test_lab_exec_passes_env_and_exit_code(lab: LabInfo) -> None:
    script = 'echo "$HOSTNET_LAB $HOSTNET_LAB_DIR"; cat; exit 3'
    done = subprocess.run(
        [sys.executable, "-m", "hostnet_lab", "exec", "--", "sh", "-c", script],
        input="from stdin\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 3
    assert done.stdout.splitlines() == ["1 /run/hostnet-lab", "from stdin"]


@pytest.mark.lab_last
def test_down_leaves_nothing_and_up_rebuilds(lab: LabInfo) -> None:
    state = json.loads(hostnet_lab.STATE.read_text())
    # Something to clean up beyond the recorded sshds: a session child, a process
    # in a host's own named namespace, a process in hn-ctl.
    session = subprocess.Popen(
        ctl_argv(["ssh", "-F", str(lab.ssh_config_path), "root@10.32.171.202", "sleep 300"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ok(host_exec("h1", ["ip", "netns", "add", "testrt3"]))
    inner = subprocess.Popen(
        hostnet_lab.node_argv("h1", ["ip", "netns", "exec", "testrt3", "sleep", "300"]),
    )
    # Containers beyond the seed's, one with a process in it.
    hostnet_lab.up(containers=5)
    containers = {_netns_inode(f"h{k}", f"test{k}.{i}") for k in (1, 2, 3) for i in (2, 5)}
    in_container = subprocess.Popen(
        hostnet_lab.node_argv("h3", ["ip", "netns", "exec", "test3.4", "sleep", "300"]),
    )
    time.sleep(0.5)
    recorded = [record["pid"] for record in state["nodes"].values()]
    lab_net = set(state["netns"].values()) | {r["net"] for r in state["nodes"].values()}
    lab_net |= containers | {_netns_inode("h3", "test3.4")}
    hosts_mnt = {state["nodes"][host]["mnt"] for host in ("h1", "h2", "h3")}
    hostnet_lab.down()
    try:
        assert session.wait(timeout=10) != 0
        assert inner.wait(timeout=10) != 0
        assert in_container.wait(timeout=10) != 0
        assert not machine_netns() & set(hostnet_lab.NETNS)
        assert not hostnet_lab.LAB_DIR.exists()
        assert not [pid for pid in recorded if Path(f"/proc/{pid}").exists()]
        in_lab = [
            pid
            for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
            if proc_ns(pid, "net") in lab_net
        ]
        assert in_lab == []
        # The containers' names lived in their hosts' mount namespaces: gone with them.
        assert pids_in({"mnt": hosts_mnt}) == []
        assert_no_lab_route_in_machine_ns()
    finally:
        hostnet_lab.up()
    assert hostnet_lab.load_lab() == lab
    assert connect_whoami(lab.gateway) == lab.ctl_address  # back inside the new hn-ctl
