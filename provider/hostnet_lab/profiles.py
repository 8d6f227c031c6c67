"""Lab profiles: how the lab's hosts look before hostnet touches them.

- ``plain``: hosts with strict reverse-path filtering (rp_filter=1) and both NICs
  up; containers and every other namespace keep the defaults a new namespace gets
  here (rp_filter 0); no foreign rules; bridge-nf-call-iptables as the kernel sets
  it in a new namespace.
- ``centos7``: the seed's CentOS 7 hosts with firewalld and docker 1.x. rp_filter=1
  on the hosts, in the containers and in every namespace named later on a host (a
  CentOS 7 kernel copies the host's values into a new namespace; this kernel copies
  the machine's, so a small watcher on each host copies the host's rp_filter into
  each namespace as soon as it is named in /run/netns, once: a value a resource
  sets afterwards stays). bridge-nf-call-iptables=0 on the hosts (bridged frames
  never meet iptables). ens34 down, without address. firewalld's public zone in
  the filter table (INPUT and FORWARD end in ``REJECT --reject-with
  icmp-host-prohibited``; ICMP and new tcp/22 accepted) and docker 1.x's docker0
  (172.17.42.1/16), DOCKER chains and MASQUERADE of 172.17.0.0/16. None of it is
  hostnet's: hostnet must leave every line of it as it found it.

Nothing here loads a kernel module or writes a sysctl of the machine's own namespace.
"""

from __future__ import annotations

from dataclasses import dataclass

PLAIN, CENTOS7 = "plain", "centos7"
RP_FILTER = ("net.ipv4.conf.all.rp_filter=1", "net.ipv4.conf.default.rp_filter=1")
BRIDGE_NF = "/proc/sys/net/bridge/bridge-nf-call-iptables"

# firewalld 0.6 (CentOS 7) with its iptables backend, default zone public and
# docker 1.x started after it (docker inserts its FORWARD rules at the top).
FOREIGN_RULES = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION - [0:0]
:FORWARD_IN_ZONES - [0:0]
:FORWARD_IN_ZONES_SOURCE - [0:0]
:FORWARD_OUT_ZONES - [0:0]
:FORWARD_OUT_ZONES_SOURCE - [0:0]
:FORWARD_direct - [0:0]
:FWDI_public - [0:0]
:FWDI_public_allow - [0:0]
:FWDI_public_deny - [0:0]
:FWDI_public_log - [0:0]
:FWDO_public - [0:0]
:FWDO_public_allow - [0:0]
:FWDO_public_deny - [0:0]
:FWDO_public_log - [0:0]
:INPUT_ZONES - [0:0]
:INPUT_ZONES_SOURCE - [0:0]
:INPUT_direct - [0:0]
:IN_public - [0:0]
:IN_public_allow - [0:0]
:IN_public_deny - [0:0]
:IN_public_log - [0:0]
:OUTPUT_direct - [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -j INPUT_direct
-A INPUT -j INPUT_ZONES_SOURCE
-A INPUT -j INPUT_ZONES
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -j DOCKER-ISOLATION
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -i lo -j ACCEPT
-A FORWARD -j FORWARD_direct
-A FORWARD -j FORWARD_IN_ZONES_SOURCE
-A FORWARD -j FORWARD_IN_ZONES
-A FORWARD -j FORWARD_OUT_ZONES_SOURCE
-A FORWARD -j FORWARD_OUT_ZONES
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A FORWARD -j REJECT --reject-with icmp-host-prohibited
-A OUTPUT -j OUTPUT_direct
-A DOCKER-ISOLATION -j RETURN
-A FORWARD_IN_ZONES -i ens34 -g FWDI_public
-A FORWARD_IN_ZONES -i ens32 -g FWDI_public
-A FORWARD_IN_ZONES -g FWDI_public
-A FORWARD_OUT_ZONES -o ens34 -g FWDO_public
-A FORWARD_OUT_ZONES -o ens32 -g FWDO_public
-A FORWARD_OUT_ZONES -g FWDO_public
-A FWDI_public -j FWDI_public_log
-A FWDI_public -j FWDI_public_deny
-A FWDI_public -j FWDI_public_allow
-A FWDI_public -p icmp -j ACCEPT
-A FWDO_public -j FWDO_public_log
-A FWDO_public -j FWDO_public_deny
-A FWDO_public -j FWDO_public_allow
-A INPUT_ZONES -i ens34 -g IN_public
-A INPUT_ZONES -i ens32 -g IN_public
-A INPUT_ZONES -g IN_public
-A IN_public -j IN_public_log
-A IN_public -j IN_public_deny
-A IN_public -j IN_public_allow
-A IN_public -p icmp -j ACCEPT
-A IN_public_allow -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
COMMIT
"""

DOCKER0 = ("link add docker0 type bridge", "address add 172.17.42.1/16 dev docker0",
           "link set docker0 up")  # fmt: skip

# Runs on a host (its net and mount namespaces): each namespace named in
# /run/netns gets the host's rp_filter once, when it first appears.
RP_WATCHER = r"""
import os, subprocess, time
def value(key):
    with open("/proc/sys/net/ipv4/conf/%s/rp_filter" % key) as f:
        return f.read().strip()
want = ["net.ipv4.conf.%s.rp_filter=%s" % (k, value(k)) for k in ("all", "default")]
nsfs = os.stat("/proc/self/ns/net").st_dev
seen = set()
while True:
    try:
        names = os.listdir("/run/netns")
    except OSError:
        names = []
    for name in names:
        path = "/run/netns/" + name
        try:
            st = os.stat(path)
        except OSError:
            continue
        if st.st_dev != nsfs or st.st_ino in seen:
            continue
        seen.add(st.st_ino)
        subprocess.run(["nsenter", "--net=" + path, "sysctl", "-q", "-w"] + want)
    time.sleep(0.02)
"""


@dataclass(frozen=True, kw_only=True)
class Profile:
    name: str
    ens34_up: bool
    container_rp_filter: bool  # containers and namespaces named later on a host
    bridge_nf_off: bool
    foreign_rules: str  # iptables-restore input, or ""
    docker0: bool


PROFILES = {
    PLAIN: Profile(
        name=PLAIN,
        ens34_up=True,
        container_rp_filter=False,
        bridge_nf_off=False,
        foreign_rules="",
        docker0=False,
    ),
    CENTOS7: Profile(
        name=CENTOS7,
        ens34_up=False,
        container_rp_filter=True,
        bridge_nf_off=True,
        foreign_rules=FOREIGN_RULES,
        docker0=True,
    ),
}


def profile_named(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"profile: {name!r} is not one of {sorted(PROFILES)}") from None


def host_batch(profile: Profile) -> list[str]:
    """`ip -batch` lines for a host's foreign links (after its NICs exist)."""
    return list(DOCKER0) if profile.docker0 else []


def host_shell(profile: Profile) -> str:
    """A shell script run in a host's namespace at build time (stdin: the rules)."""
    lines = ["set -eu"]
    if profile.bridge_nf_off:
        # Per namespace where br_netfilter is loaded; absent means bridged frames
        # never reach iptables anyway.
        lines.append(f"if [ -e {BRIDGE_NF} ]; then echo 0 > {BRIDGE_NF}; fi")
    if profile.foreign_rules:
        lines.append("iptables-restore")
    return "\n".join(lines) + "\n"
