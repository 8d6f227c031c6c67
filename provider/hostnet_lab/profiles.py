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

from hostnet_lab.plumbing import lab_file

PLAIN, CENTOS7 = "plain", "centos7"
RP_FILTER = ("net.ipv4.conf.all.rp_filter=1", "net.ipv4.conf.default.rp_filter=1")

# firewalld's and docker's rules of a CentOS 7 host (iptables-restore input).
FOREIGN_RULES = lab_file("centos7.rules")

DOCKER0 = ("link add docker0 type bridge", "address add 172.17.42.1/16 dev docker0",
           "link set docker0 up")  # fmt: skip


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


def host_args(profile: Profile) -> list[str]:
    """The arguments of scripts/host-profile.sh for a host (stdin: the rules)."""
    return ["1" if profile.bridge_nf_off else "0", "1" if profile.foreign_rules else "0"]
