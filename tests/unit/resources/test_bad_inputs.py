"""A corpus of mistakes a user makes, each refused by check with the field and
the reason, before any host is touched: lengths, characters, traversal, typos,
ranges, address families, shell and iptables injection in every string field,
and Host settings (ports, interpreter, key and known_hosts files)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hostnet import transport
from hostnet.resources import KINDS

HOST: dict[str, Any] = {"name": "h1", "address": "10.32.171.202", "trust_on_first_use": True}
VALID: dict[str, dict[str, Any]] = {
    "bridge": {"name": "bridge0", "addresses": ["192.168.5.1/24"]},
    "veth": {"name": "t1.eth0", "peer_name": "veth0", "peer_netns": "test1.1", "master": "bridge0"},
    "router": {
        "name": "testrt3",
        "interfaces": [{"name": "rt.eth0", "inside_name": "veth0", "address": "10.9.0.2/24"}],
        "routes": [{"dst": "10.1.0.0/16", "via": "10.9.0.1"}],
    },
    "route": {"dst": "192.168.6.3/32", "via": "10.32.171.203"},
    "nat": {"kind": "masquerade", "source": "192.168.5.0/24", "out_interface": "ens32"},
    "firewall": {"in_interface": "bridge0", "out_interface": "!bridge0"},
    "netns": {"name": "blue"},
    "sysctl": {"key": "net.ipv4.ip_forward", "value": "1"},
    "vxlan": {"name": "vx100", "vni": 100, "local": "10.32.171.202", "remotes": ["10.32.171.203"]},
}
INJECT = ["a;reboot", "$(id)", "`id`", "a b", "x\ny", 'a"b', "a'b", "a|b", "../../etc"]


def _host(**settings: Any) -> dict[str, Any]:
    return {"host": {**HOST, **settings}}


CORPUS: list[tuple[str, dict[str, Any], str, str]] = [
    # Interface names: lengths, characters, the kernel's reserved names.
    ("bridge", {"name": "bridge-name-of-16"}, "name", "at most 15"),
    ("bridge", {"name": "br:0"}, "name", "holds ':'"),
    ("bridge", {"name": "br/0"}, "name", "characters refused"),
    ("bridge", {"name": "."}, "name", "not a name Linux accepts"),
    ("bridge", {"name": ".."}, "name", "not a name Linux accepts"),
    ("bridge", {"name": ""}, "name", "non-empty"),
    ("bridge", {"name": "brü0"}, "name", "characters refused"),
    ("bridge", {"name": "éééééééé"}, "name", "bytes; Linux allows at most 15"),
    ("bridge", {"name": 5.0}, "name", "non-empty string"),
    ("bridge", {"ports": ["ens34", "ens:34"]}, "ports[1]", "holds ':'"),
    ("bridge", {"ports": ["ens34", "ens34"]}, "ports[1]", "listed twice"),
    ("bridge", {"ports": ["bridge0"]}, "ports", "port of itself"),
    ("bridge", {"uplink": "ens34", "ports": ["ens34"], "addresses": []}, "uplink", "in ports too"),
    ("bridge", {"uplink": "bridge0", "addresses": []}, "uplink", "cannot take over itself"),
    ("bridge", {"uplink": "ens32"}, "addresses", "takes its addresses from the uplink"),
    ("veth", {"name": "test1.1.eth0-long"}, "name", "17 bytes"),
    ("veth", {"peer_name": "veth:0"}, "peer_name", "holds ':'"),
    ("veth", {"master": "br 0"}, "master", "characters refused"),
    ("veth", {"master": "t1.eth0"}, "master", "its own bridge"),
    ("veth", {"peer_name": "t1.eth0", "peer_netns": None}, "peer_name", "must differ"),
    (
        "router",
        {"interfaces": [{"name": "rt:0", "inside_name": "v0", "address": "10.9.0.2/24"}]},
        "interfaces[0].name",
        "holds ':'",
    ),
    (
        "router",
        {"interfaces": [{"name": "rt0", "inside_name": "v" * 16, "address": "10.9.0.2/24"}]},
        "interfaces[0].inside_name",
        "at most 15",
    ),
    (
        "router",
        {
            "interfaces": [
                {"name": "rt0", "inside_name": "v0", "bridge": "b/r", "address": "10.9.0.2/24"}
            ]
        },
        "interfaces[0].bridge",
        "characters refused",
    ),
    ("route", {"dev": "eth0:1"}, "dev", "holds ':'"),
    ("nat", {"out_interface": "ens32:"}, "out_interface", "holds ':'"),
    ("firewall", {"in_interface": "br idge"}, "in_interface", "characters refused"),
    ("firewall", {"out_interface": "!" + "x" * 16}, "out_interface", "at most 15"),
    # Namespaces: traversal and malformed references.
    ("bridge", {"netns": ".."}, "netns", "not a namespace name"),
    ("bridge", {"netns": "a/../b"}, "netns", "not a namespace name"),
    ("veth", {"peer_netns": "/proc/1/../../etc"}, "peer_netns", "plain"),
    ("veth", {"peer_netns": "/run/netns//x"}, "peer_netns", "plain"),
    ("veth", {"peer_netns": "pid:0"}, "peer_netns", "needs a process id"),
    ("veth", {"peer_netns": "pid:-1"}, "peer_netns", "needs a process id"),
    ("veth", {"peer_netns": "container:"}, "peer_netns", "not a namespace name"),
    ("veth", {"peer_netns": "container:../x"}, "peer_netns", "container name"),
    ("route", {"netns": "x" * 201}, "netns", "not a namespace name"),
    ("netns", {"name": "pid:12"}, "name", "plain name"),
    ("netns", {"name": "/run/netns/x"}, "name", "plain name"),
    ("netns", {"name": None}, "name", "is required"),
    ("router", {"name": "container:x"}, "name", "plain name"),
    ("sysctl", {"netns": "."}, "netns", "not a namespace name"),
    # Addresses and networks: syntax, prefixes, families.
    ("bridge", {"addresses": ["192.168.5.1"]}, "addresses[0]", "prefix length"),
    ("bridge", {"addresses": ["192.168.5.300/24"]}, "addresses[0]", "192.168.5.300"),
    ("bridge", {"addresses": ["192.168.5.1/33"]}, "addresses[0]", "33"),
    ("bridge", {"addresses": ["192.168.5.0/24"]}, "addresses[0]", "network's own"),
    ("bridge", {"addresses": ["192.168.5.255/24"]}, "addresses[0]", "broadcast"),
    ("bridge", {"addresses": ["224.0.0.1/24"]}, "addresses[0]", "not a unicast"),
    ("bridge", {"addresses": ["192.168.5.1/24", "192.168.5.1/24"]}, "addresses[1]", "listed twice"),
    ("bridge", {"addresses": ["10.32.171.202/24"]}, "addresses", "management address"),
    ("veth", {"addresses": ["10.32.171.202/24"]}, "addresses", "management address"),
    ("veth", {"peer_addresses": ["fd00::1"]}, "peer_addresses[0]", "prefix length"),
    (
        "router",
        {"interfaces": [{"name": "rt0", "inside_name": "v0"}]},
        "interfaces[0].address",
        "must have an address",
    ),
    (
        "router",
        {"interfaces": [{"name": "rt0", "inside_name": "v0", "address": "10.32.171.202/24"}]},
        "interfaces[0].address",
        "management address",
    ),
    ("router", {"interfaces": []}, "interfaces", "at least one"),
    (
        "router",
        {"interfaces": [{"name": "rt0", "inside_name": "v0", "address": ""}]},
        "interfaces[0].address",
        "must have an address",
    ),
    (
        "router",
        {"routes": [{"dst": "10.1.0.0/16", "via": "172.16.0.1"}]},
        "routes[0].via",
        "not inside any network",
    ),
    ("router", {"routes": [{"dst": "10.1.0.0/16", "dev": "eth9"}]}, "routes[0].dev", "inside_name"),
    (
        "router",
        {"routes": [{"dst": "10.1.0.5/16", "via": "10.9.0.1"}]},
        "routes[0].dst",
        "host bits",
    ),
    ("route", {"dst": "10.32.171.5/24"}, "dst", "host bits set; the network is 10.32.171.0/24"),
    ("route", {"dst": "somewhere"}, "dst", "not an address or network"),
    ("route", {"dst": None}, "dst", "is required"),
    ("route", {"via": "10.32.171.300"}, "via", "not an IP address"),
    ("route", {"via": "fe80::1"}, "via", "IPv6 but dst 192.168.6.3/32 is IPv4"),
    ("route", {"dst": "0.0.0.0/0", "via": "2001:db8::1"}, "via", "IPv6 but dst default is IPv4"),
    ("route", {"dst": "2001:db8:1::/64", "via": "10.32.171.1"}, "via", "IPv4 but dst"),
    ("route", {"dst": "2001:db8:1::/64", "via": "fe80::1"}, "via", "link-local; give dev"),
    ("route", {"src": "fd00::5"}, "src", "IPv6 but dst"),
    ("route", {"via": None, "dev": None}, "via", "needs via, dev, or both"),
    ("nat", {"source": "2001:db8::/64"}, "source", "IPv6"),
    ("nat", {"destination": "fd00::1"}, "destination", "ip6tables"),
    ("nat", {"source": "192.168.5.0/33"}, "source", "not an address or network"),
    ("firewall", {"source": "fd00::/8"}, "source", "IPv6"),
    ("firewall", {"destination": "!2001:db8::1"}, "destination", "IPv6"),
    ("firewall", {"source": "10.0.0.0/33"}, "source", "not an address or network"),
    # NAT targets.
    (
        "nat",
        {
            "kind": "dnat",
            "out_interface": None,
            "in_interface": "ens32",
            "to": "not-an-address:99999",
        },
        "to",
        "addr[-addr][:port[-port]]",
    ),
    (
        "nat",
        {"kind": "snat", "to": "10.0.0.1:99999", "protocol": "tcp"},
        "to",
        "ports are 1..65535",
    ),
    ("nat", {"kind": "snat", "to": "10.0.0.1:2000-1000", "protocol": "tcp"}, "to", "backwards"),
    ("nat", {"kind": "snat", "to": "10.0.0.1:80"}, "to", "needs protocol tcp, udp or sctp"),
    ("nat", {"kind": "snat", "to": "2001:db8::1"}, "to", "IPv6"),
    ("nat", {"kind": "snat"}, "to", "snat needs to="),
    ("nat", {"to": "10.0.0.1"}, "to", "only snat and dnat"),
    ("nat", {"kind": "dnat", "to": "192.168.5.2"}, "out_interface", "before routing"),
    ("nat", {"in_interface": "ens33"}, "in_interface", "after routing"),
    # Choices: typos name the allowed words.
    ("nat", {"kind": "MASQUERADE"}, "kind", "not one of masquerade, snat, dnat"),
    ("nat", {"kind": "redirect"}, "kind", "not one of"),
    ("nat", {"protocol": "TCP"}, "protocol", "not one of tcp"),
    ("firewall", {"chain": "forward"}, "chain", "not one of FORWARD"),
    ("firewall", {"chain": "PREROUTING"}, "chain", "not one of"),
    ("firewall", {"action": "accept"}, "action", "not one of ACCEPT"),
    ("firewall", {"action": "MASQUERADE"}, "action", "not one of"),
    ("firewall", {"ctstate": ["ESTABLISHED", "GONE"]}, "ctstate", "states are"),
    ("firewall", {"ctstate": []}, "ctstate", "states are"),
    ("firewall", {"protocol": "icmpv6"}, "protocol", "not one of"),
    ("bridge", {"adresses": ["192.168.5.1/24"]}, "adresses", "not an input of this resource"),
    ("veth", {"peer_namespace": "test1.1"}, "peer_namespace", "not an input"),
    ("route", {"gateway": "10.32.171.1"}, "gateway", "not an input"),
    ("sysctl", {"val": "1"}, "val", "not an input"),
    ("vxlan", {"name": "vx:100"}, "name", "holds ':'"),
    ("vxlan", {"vni": 2.0**24}, "vni", "outside"),
    ("vxlan", {"remotes": ["10.32.171.202"]}, "remotes[0]", "own local address"),
    ("vxlan", {"remotes": ["fd00::3"]}, "remotes[0]", "IPv6"),
    ("vxlan", {"remote": ["10.32.171.203"]}, "remote", "not an input"),
    # Ranges.
    ("bridge", {"mtu": 1500.5}, "mtu", "not a whole number"),
    ("bridge", {"mtu": 20.0}, "mtu", "outside 68..65535"),
    ("bridge", {"mtu": 70000.0}, "mtu", "outside 68..65535"),
    ("bridge", {"mtu": "1500"}, "mtu", "not a whole number"),
    ("bridge", {"promisc": "yes"}, "promisc", "not true or false"),
    ("veth", {"up": 1.0}, "up", "not true or false"),
    ("route", {"metric": -1.0}, "metric", "outside"),
    ("route", {"table": 0.0}, "table", "outside"),
    ("route", {"table": 2.0**32}, "table", "outside"),
    ("route", {"onlink": "no"}, "onlink", "not true or false"),
    ("nat", {"dport": 22.0}, "dport", "needs protocol"),
    ("nat", {"protocol": "tcp", "dport": 0.0}, "dport", "outside 1..65535"),
    ("firewall", {"protocol": "udp", "dport": 65536.0}, "dport", "outside 1..65535"),
    ("firewall", {"position": 10000.0}, "position", "outside 0..9999"),
    ("router", {"forwarding": "on"}, "forwarding", "not true or false"),
    # Rule names and ids: lengths and quotes (the mark on the host).
    ("nat", {"name": "n" * 101}, "name", "at most 100"),
    ("nat", {"name": 'my"rule'}, "name", "no spaces or quotes"),
    ("firewall", {"name": "it's"}, "name", "no spaces or quotes"),
    ("firewall", {"name": "a rule"}, "name", "no spaces or quotes"),
    ("firewall", {"name": "x" * 99, "netns": "n" * 120}, "name", "at most 200"),
    # Sysctls.
    ("sysctl", {"key": "net/ipv4/../x"}, "key", "dotted sysctl name"),
    ("sysctl", {"key": "net.ipv4..ip_forward"}, "key", "dotted sysctl name"),
    ("sysctl", {"key": "kernel"}, "key", "dotted sysctl name"),
    ("sysctl", {"key": None}, "key", "is required"),
    ("sysctl", {"value": True}, "value", "string or a number"),
    ("sysctl", {"value": ["1"]}, "value", "string or a number"),
    ("sysctl", {"value": "1\n0"}, "value", "one non-empty line"),
    ("sysctl", {"value": "  "}, "value", "one non-empty line"),
    ("sysctl", {"value": "9" * 5000}, "value", "at most 4096"),
    # Host settings.
    ("bridge", _host(port=70000.0), "host.port", "outside 1..65535"),
    ("bridge", _host(port=0.0), "host.port", "outside 1..65535"),
    ("bridge", _host(port=22.5), "host.port", "not a whole number"),
    ("bridge", _host(python="python3; rm -rf /"), "host.python", "not an interpreter name"),
    ("bridge", _host(python="/bin/sh"), "host.python", "does not name a Python"),
    ("bridge", _host(python="perl"), "host.python", "does not name a Python"),
    ("bridge", _host(host_key="garbage"), "host.host_key", "'<type> <base64>'"),
    ("bridge", _host(host_key="ssh-ed25519 not*base64"), "host.host_key", "cannot parse"),
    ("bridge", _host(known_hosts="/nonexistent/known_hosts"), "host.known_hosts", "cannot be read"),
    ("bridge", _host(key_file="/nonexistent/id_ed25519"), "host.key_file", "cannot be read"),
    ("bridge", _host(user="root;id"), "host.user", "not a user name"),
    ("bridge", _host(address="10.32.171.300"), "host.address", "not an IP address or DNS name"),
    ("bridge", _host(address="-oProxyCommand=id"), "host.address", "not an IP address or DNS name"),
    ("bridge", _host(name="h/1"), "host.name", "not a host name"),
    ("bridge", _host(name=None), "host.name", "is required"),
    ("bridge", _host(address=None), "host.address", "is required"),
    ("bridge", _host(connect_timeout=0.0), "host.connect_timeout", "outside"),
    ("bridge", _host(request_timeout=-1.0), "host.request_timeout", "outside"),
    ("bridge", _host(request_timeout=1e6), "host.request_timeout", "outside"),
    ("bridge", _host(sudo="yes"), "host.sudo", "not true or false"),
    ("bridge", _host(trust_on_first_use="true"), "host.trust_on_first_use", "not true or false"),
    ("bridge", _host(hostname="h1"), "host.hostname", "not a Host setting"),
    (
        "bridge",
        _host(bastion={"address": "10.0.0.1", "port": 70000.0, "trust_on_first_use": True}),
        "host.bastion.port",
        "outside 1..65535",
    ),
    (
        "bridge",
        _host(bastion={"port": 22.0, "trust_on_first_use": True}),
        "host.bastion.address",
        "is required",
    ),
    ("bridge", _host(bastion={"address": "10.0.0.1"}), "host.bastion.known_hosts", "nothing pins"),
    ("bridge", _host(trust_on_first_use=False), "host.known_hosts", "nothing pins the host's key"),
    ("bridge", {"host": None}, "host", "is required"),
    ("bridge", {"host": "h1"}, "host", "must be a Host"),
    ("bridge", {"private_key": "not a key"}, "private_key", "not an OpenSSH"),
]

# Every string field of every kind takes every injection string and refuses it.
STRING_FIELDS = {
    "bridge": ["name", "netns", "uplink"],
    "veth": ["name", "peer_name", "peer_netns", "master"],
    "route": ["dst", "via", "dev", "src", "netns"],
    "nat": ["source", "destination", "out_interface", "name", "netns"],
    "firewall": ["in_interface", "out_interface", "source", "destination", "name", "netns"],
    "netns": ["name"],
    "sysctl": ["key", "netns"],
    "router": ["name"],
    "vxlan": ["name", "local", "group", "dev", "master", "netns"],
}
INJECTIONS = [
    (kind, {field: text}, field, "")
    for kind, fields in STRING_FIELDS.items()
    for field in fields
    for text in INJECT
]


@pytest.fixture(autouse=True)
def _no_host_is_touched(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("check tried to reach a host")

    monkeypatch.setattr(transport, "agent_for", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _inputs(kind: str, change: dict[str, Any]) -> dict[str, Any]:
    merged = {"host": HOST, **VALID[kind], **change}
    return {k: v for k, v in merged.items() if v is not None}


@pytest.mark.parametrize("kind", sorted(VALID))
def test_the_baseline_passes(kind: str) -> None:
    assert KINDS[kind].check(_inputs(kind, {}))[1] == []


def _refused(kind: str, change: dict[str, Any], field: str, reason: str) -> None:
    _, failures = KINDS[kind].check(_inputs(kind, change))
    fields = [f.field for f in failures]
    assert field in fields, failures
    assert any(reason in f.reason for f in failures if f.field == field), failures
    assert all(f.reason for f in failures)


@pytest.mark.parametrize(("kind", "change", "field", "reason"), CORPUS)
def test_a_mistake_is_refused_with_field_and_reason(
    kind: str, change: dict[str, Any], field: str, reason: str
) -> None:
    _refused(kind, change, field, reason)


@pytest.mark.parametrize(("kind", "change", "field", "reason"), INJECTIONS)
def test_injection_strings_are_refused_in_every_string_field(
    kind: str, change: dict[str, Any], field: str, reason: str
) -> None:
    _refused(kind, change, field, reason)


def _key_pair(path: Path, passphrase: bytes = b"") -> Path:
    """An ed25519 key in OpenSSH's format, and its .pub, as ssh-keygen writes them."""
    key = Ed25519PrivateKey.generate()
    lock = serialization.BestAvailableEncryption(passphrase) if passphrase else None
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            lock or serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    path.with_suffix(".pub").write_bytes(public + b"\n")
    return path


def test_files_are_read_and_parsed_on_the_controller(tmp_path: Path) -> None:
    key = _key_pair(tmp_path / "id")
    junk = tmp_path / "junk"
    junk.write_text("not a key\n")
    locked = _key_pair(tmp_path / "locked", b"secret")
    other = tmp_path / "known_hosts"
    pub = key.with_suffix(".pub").read_text().split()
    other.write_text(f"10.9.9.9 {pub[0]} {pub[1]}\n")
    broken = tmp_path / "broken_hosts"
    broken.write_text("10.32.171.202 ssh-ed25519 ***\n")
    no_tofu = {**HOST, "trust_on_first_use": False}
    cases = [
        ({"key_file": str(junk)}, "host.key_file", "not an OpenSSH"),
        ({"key_file": str(locked)}, "host.key_file", "encrypted"),
        ({"key_file": str(tmp_path)}, "host.key_file", "cannot be read"),
        (
            {**no_tofu, "known_hosts": str(other)},
            "host.known_hosts",
            "holds no key for 10.32.171.202",
        ),
        (
            {**no_tofu, "known_hosts": str(other), "port": 2222.0},
            "host.known_hosts",
            "[10.32.171.202]:2222",
        ),
        ({**no_tofu, "known_hosts": str(broken)}, "host.known_hosts", ""),
    ]
    for settings, field, reason in cases:
        _refused("bridge", {"host": {**HOST, **settings}}, field, reason)
    both = {"host": {**HOST, "key_file": str(key)}, "private_key": key.read_text()}
    _refused("bridge", both, "host.key_file", "not both")
    good = {
        "host": {**no_tofu, "key_file": str(key), "known_hosts": str(other), "address": "10.9.9.9"}
    }
    assert KINDS["bridge"].check(_inputs("bridge", good))[1] == []


def test_the_corpus_counts_at_least_108_kinds_of_mistakes() -> None:
    assert len(CORPUS) + 6 >= 108  # + the file cases above
    assert len(CORPUS) + len(INJECTIONS) + 7 > 400
