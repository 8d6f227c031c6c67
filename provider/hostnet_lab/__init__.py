"""The local lab: the seed's three hosts, their switches, a gateway and a control
namespace, built from namespaces and sshd on one Linux machine (root required).

Topology (every namespace name in the machine's /run/netns starts with ``hn-``):

- hn-h1, hn-h2, hn-h3: the hosts. Each is a network namespace plus its own mount
  and UTS namespace (hostname h1..h3, /etc/hostname to match), held by the host's
  sshd. The mount namespace has a private tmpfs on /run (/var/run links to it on
  Debian), so every host has its own /run/netns, /run/sshd and /run/xtables.lock,
  and an empty file is bound over /root/.bashrc. NICs: ens32 (10.32.171.202-204/24,
  default route via 10.32.171.1) and ens34 (up, no address).
- test1.1, test2.1, test3.1: one "container" per host: network, mount and UTS
  namespaces of their own, only ``lo`` (up), their own sshd; named on their host
  as /run/netns/test1.1 (a bind mount of the container's net namespace), the way
  the seed links /proc/PID/ns/net into /var/run/netns.
- More containers with ``lab up --containers N`` (default 1, at most 254): host hK
  holds testK.1 .. testK.N, named in its own /run/netns (``ip netns exec test2.7``
  on h2). testK.2 and beyond are network namespaces only, ``lo`` up, no process,
  no address and no sshd: what a stack gives them (examples/fleet: veths
  ``testK.i.eth0..2`` on the host, ``veth0..2`` inside with 172.25/26/27.K.i) is
  theirs. Changing N on a running lab adds or removes them in place (processes in
  a removed one are killed); ``lab down`` removes them with their host. LabInfo
  .containers lists every container, .container_addresses the seed's testK.1.
- hn-sw32 and hn-sw34: switches, a bridge ``sw`` each, one veth per host NIC.
- hn-gw: 10.32.171.1/24 on hn-sw32, the "outside": no route to 192.168.0.0/16,
  forwarding off, and a TCP service on port 7 that answers each connection with
  the client's address as it arrives (so NAT tests can see the rewrite). It also
  holds 203.0.113.7 (on lo), an address beyond the gateway that hosts reach only
  by their default route: once milestone 7 routes 10.32.171.0/24 from containers
  through the router un-NATed, this is where a NAT test still goes.
- hn-ctl: 10.32.171.250/24 on hn-sw32, no default route, no link to the machine's
  network. ssh, pulumi and tests talk to lab addresses only from here: run a
  command there with ctl_argv or `hostnet lab exec`, or move a whole test process
  there with enter_ctl (its mount namespace stays the machine's).

Nodes share the machine's PID namespace: `ps` or `pgrep` on a host also lists
other hosts' processes; tell them apart by /proc/PID/ns/net (`pgrep --ns PID
--nslist net`).

Every lab sshd allows root with the lab key only (UsePAM no, UseDNS no). The
client key, known_hosts (hosts at 10.32.171.202-204, containers at the seed's
192.168.5/6/7.x addresses) and ssh_config live in /run/hostnet-lab, the same path
inside every node, so ``ssh -F /run/hostnet-lab/ssh_config root@ADDR`` works from
hn-ctl, from a host and from a container.

Sysctls the lab sets on hosts: net.ipv4.ip_forward=0 (hostnet turns it on) and
net.ipv4.conf.{all,default}.rp_filter=1 (strict, as on RHEL/CentOS). The rest
depends on the profile (``lab up --profile``, hostnet_lab.profiles): ``plain``
leaves containers, switches, gateway and control with the kernel defaults of a
new namespace (forwarding 0, rp_filter 0), ens34 up, no foreign rules and
bridge-nf-call-iptables as the kernel sets it (1 where br_netfilter is loaded);
``centos7`` adds strict filtering in containers and in every namespace named on a
host, bridge-nf-call-iptables=0, ens34 down, and firewalld's and docker's rules
and docker0. The lab loads no kernel module.

`lab blackhole HOST on|off` makes a host stop answering: the switch drops every
packet to and from its ens32 address, so connects time out (hostnet_lab.fault).

State (PIDs with start times, namespace inodes) is /run/hostnet-lab/state.json.
``lab down`` kills the recorded processes and everything living in the lab's
namespaces (sessions, agents, processes in a host's own named namespaces), then
deletes the hn- namespaces the state lists and /run/hostnet-lab.
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from hostnet_lab.build import (
    down,
    status,
    up,
)
from hostnet_lab.fault import blackhole, blackholed, is_blackholed
from hostnet_lab.hosts import parse_pairs
from hostnet_lab.nodes import (
    DEFAULT_CONTAINERS,
    HOSTS,
    LAB_DIR,
    MAX_CONTAINERS,
    NETNS,
    NODES,
    STATE,
    LabInfo,
    assert_no_lab_route_in_machine_ns,
    ctl_argv,
    enter_ctl,
    health,
    host_exec,
    leave_ctl,
    load_lab,
    machine_argv,
    node_argv,
)
from hostnet_lab.plumbing import LabError
from hostnet_lab.profiles import PLAIN, PROFILES

__all__ = [
    "LAB_DIR",
    "NETNS",
    "STATE",
    "LabError",
    "LabInfo",
    "add_lab_commands",
    "assert_no_lab_route_in_machine_ns",
    "blackhole",
    "blackholed",
    "ctl_argv",
    "down",
    "enter_ctl",
    "health",
    "host_exec",
    "is_blackholed",
    "leave_ctl",
    "load_lab",
    "machine_argv",
    "main",
    "node_argv",
    "status",
    "up",
]


def _reporting(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A command handler that reports LabError as a message and exit code 1."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except LabError as err:
            print(f"hostnet lab: {err}", file=sys.stderr)
            return 1

    return run


@_reporting
def _cmd_up(args: argparse.Namespace) -> int:
    start = time.monotonic()
    info = up(
        profile=args.profile,
        containers=args.containers,
        host_python=parse_pairs(args.host_python),
        old_kernel=args.old_kernel,
    )
    print(
        f"lab up ({info.profile}, containers per host: {info.containers_per_host}) in "
        f"{time.monotonic() - start:.2f} s; ssh config {info.ssh_config_path}"
    )
    return 0


@_reporting
def _cmd_down(_: argparse.Namespace) -> int:
    start = time.monotonic()
    down()
    print(f"lab down in {time.monotonic() - start:.2f} s")
    return 0


@_reporting
def _cmd_status(_: argparse.Namespace) -> int:
    print(status())
    return 0


def _strip_dashes(argv: list[str]) -> list[str]:
    argv = argv[1:] if argv[:1] == ["--"] else argv
    if not argv:
        raise LabError("no command given (usage: ... -- CMD [ARG...])")
    return argv


@_reporting
def _cmd_exec(args: argparse.Namespace) -> int:
    load_lab()
    env = {**os.environ, "HOSTNET_LAB": "1", "HOSTNET_LAB_DIR": str(LAB_DIR)}
    argv = ctl_argv(_strip_dashes(args.cmd))
    return subprocess.run(argv, env=env, check=False).returncode  # noqa: S603 -- argv list


@_reporting
def _cmd_host_exec(args: argparse.Namespace) -> int:
    argv = node_argv(args.host, _strip_dashes(args.cmd))
    return subprocess.run(argv, check=False).returncode  # noqa: S603 -- argv list, no shell


@_reporting
def _cmd_blackhole(args: argparse.Namespace) -> int:
    blackhole(args.host, on=args.state == "on")
    print(f"{args.host}: {'blackholed' if is_blackholed(args.host) else 'reachable'}")
    return 0


def _add_actions(actions: Any) -> None:
    build = actions.add_parser("up", help="build the lab (idempotent)")
    build.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=PLAIN,
        help="how the hosts look before hostnet: plain, or centos7 (strict rp_filter "
        "everywhere, firewalld and docker rules, ens34 down); see hostnet_lab.profiles",
    )
    build.add_argument(
        "--containers",
        type=int,
        default=DEFAULT_CONTAINERS,
        metavar="N",
        help=f"containers per host, testK.1 .. testK.N on hK (default {DEFAULT_CONTAINERS}, "
        f"at most {MAX_CONTAINERS}); beyond testK.1 each is a network namespace named on "
        "its host, with lo up and no process",
    )
    build.add_argument(
        "--host-python",
        action="append",
        default=[],
        metavar="HOST=VERSION",
        help="the host's python3 is this pyenv interpreter, e.g. h2=3.6 (repeatable)",
    )
    build.add_argument(
        "--old-kernel",
        action="append",
        default=[],
        metavar="HOST",
        help="the host answers as a 3.10 kernel with iptables 1.4.21 does (repeatable)",
    )
    build.set_defaults(handler=_cmd_up)
    actions.add_parser("down", help="remove the lab").set_defaults(handler=_cmd_down)
    actions.add_parser("status", help="show what is up").set_defaults(handler=_cmd_status)
    run_ctl = actions.add_parser("exec", help="run CMD in the control namespace hn-ctl")
    run_ctl.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARG...]")
    run_ctl.set_defaults(handler=_cmd_exec)
    run_host = actions.add_parser("host-exec", help="run CMD inside a lab host or container")
    run_host.add_argument("host", choices=sorted(NODES))
    run_host.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARG...]")
    run_host.set_defaults(handler=_cmd_host_exec)
    hole = actions.add_parser(
        "blackhole", help="drop (on) or pass (off) every packet to and from a host"
    )
    hole.add_argument("host", choices=[host.name for host in HOSTS])
    hole.add_argument("state", choices=["on", "off"])
    hole.set_defaults(handler=_cmd_blackhole)


def add_lab_commands(subparsers: Any) -> None:
    """Add `lab up|down|status|exec|host-exec`; each sets args.handler(args) -> exit code
    (a LabError is reported on stderr as exit code 1)."""
    lab = subparsers.add_parser("lab", help="the local multi-host lab (root)")
    _add_actions(lab.add_subparsers(dest="lab_command", required=True))


def main(argv: list[str] | None = None) -> int:
    """`python -m hostnet_lab up|down|status|exec|host-exec`."""
    parser = argparse.ArgumentParser(
        prog="python -m hostnet_lab", description="the local multi-host lab (root)"
    )
    _add_actions(parser.add_subparsers(dest="lab_command", required=True))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code
