"""Host: how a stack reaches one machine. Passed to every hostnet resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi


@dataclass(frozen=True, kw_only=True)
class Host:
    """Connection settings for one host.

    Attributes:
        name: Short, stable name of the host (``h1``); the first part of every
            resource id. Renaming it replaces every resource on the host.
        address: IP address or DNS name sshd listens on.
        port: sshd's TCP port.
        user: Login user; root, or a user with passwordless sudo (``sudo=True``).
        private_key: OpenSSH private key text. Kept as a Pulumi secret.
        key_file: Path of a private key file on the machine running Pulumi.
        host_key: The host's public key as in known_hosts (``ssh-ed25519 AAAA...``).
        known_hosts: Path of a known_hosts file holding the host's key.
        trust_on_first_use: Accept an unknown host key; off by default.
        sudo: Run the agent through ``sudo -n``.
        python: Interpreter on the host (3.9 or newer).
        guard_timeout: Seconds a change that may cut the management path (an
            uplink or NIC enslaved, a bridge set down, the default route or the
            route to the controller, an INPUT/OUTPUT DROP or REJECT that can
            match sshd's port, rp_filter/disable_ipv6/forwarding) has to be
            confirmed over a new SSH connection before the host reverts it
            itself. 60 s by default, as nmstate: a new connection takes well
            under a second on a LAN and a few through a bastion.
    """

    name: str
    address: pulumi.Input[str]
    port: int = 22
    user: str = "root"
    private_key: pulumi.Input[str] | None = None
    key_file: str | None = None
    host_key: str | None = None
    known_hosts: str | None = None
    trust_on_first_use: bool = False
    sudo: bool = False
    python: str = "python3"
    guard_timeout: float | None = None

    def props(self) -> dict[str, Any]:
        """The resource inputs that carry this host; the key under its own secret key."""
        host = {
            "name": self.name,
            "address": self.address,
            "port": self.port,
            "user": self.user,
            "key_file": self.key_file,
            "host_key": self.host_key,
            "known_hosts": self.known_hosts,
            "trust_on_first_use": self.trust_on_first_use,
            "sudo": self.sudo,
            "python": self.python,
            "guard_timeout": self.guard_timeout,
        }
        props: dict[str, Any] = {"host": {k: v for k, v in host.items() if v is not None}}
        if self.private_key is not None:
            props["private_key"] = pulumi.Output.secret(self.private_key)
        return props
