"""Host: how a stack reaches one machine. Passed to every hostnet resource.

Its settings are the engine's Host schema (``hostnet.hosts.FIELDS``), one for
one, so the SDK, check, the transport and ``hostnet verify`` read the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from hostnet import hosts


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
        use_ssh_agent: Also offer the keys of the local ssh agent (``SSH_AUTH_SOCK``).
        host_key: The host's public key as in known_hosts (``ssh-ed25519 AAAA...``).
        known_hosts: Path of a known_hosts file holding the host's key.
        trust_on_first_use: Accept an unknown host key; off by default.
        sudo: Run the agent through ``sudo -n``.
        python: Interpreter on the host (3.6 or newer). Unset: the first of python3,
            /usr/libexec/platform-python, python3.13 ... python3.6, python that is.
        connect_timeout: Seconds to connect and start the agent.
        auth_timeout: Seconds SSH authentication may take.
        request_timeout: Seconds one request to the host may take (raise it for
            slow hosts or very large changes).
        guard_timeout: Seconds a change that may cut the management path (an
            uplink or NIC enslaved, a bridge set down, the default route or the
            route to the controller, an INPUT/OUTPUT DROP or REJECT that can
            match sshd's port, rp_filter/disable_ipv6/forwarding) has to be
            confirmed over a new SSH connection before the host reverts it
            itself. 60 s by default, as nmstate: a new connection takes well
            under a second on a LAN and a few through a bastion.
        bastion: A Host to jump through (``ssh -J``): the connection to this host
            is tunnelled through an SSH session to the bastion. Its own
            ``private_key`` is kept as a secret too; a bastion's ``name`` is optional.
    """

    name: str | None = None
    address: pulumi.Input[str]
    port: int = 22
    user: str = "root"
    private_key: pulumi.Input[str] | None = None
    key_file: str | None = None
    use_ssh_agent: bool = False
    host_key: str | None = None
    known_hosts: str | None = None
    trust_on_first_use: bool = False
    sudo: bool = False
    python: str | None = None
    connect_timeout: float = 10.0
    auth_timeout: float = 15.0
    request_timeout: float = 120.0
    guard_timeout: float = 60.0
    bastion: Host | None = None

    def settings(self) -> dict[str, Any]:
        """The Host schema's settings that differ from its defaults (the bastion
        nested), without keys: a setting added to the schema later changes no state."""
        out: dict[str, Any] = {}
        for name in hosts.NAMES:
            value = getattr(self, name)
            if isinstance(value, Host):
                out[name] = value.settings()
            elif value is not None and value != hosts.DEFAULTS[name]:
                out[name] = value
        return out

    def props(self) -> dict[str, Any]:
        """The resource inputs that carry this host; keys under their own secret inputs."""
        props: dict[str, Any] = {"host": self.settings()}
        keys = (self.private_key, self.bastion.private_key if self.bastion else None)
        for name, key in zip(hosts.SECRET_INPUTS, keys, strict=True):
            if key is not None:
                props[name] = pulumi.Output.secret(key)
        return props

    def connection(self) -> dict[str, Any]:
        """What ``hostnet verify`` needs to reach this host, for a stack output
        (``pulumi.export("connections", {"h1": h1.connection()})``); keys stay secret."""
        props = self.props()
        return {**props["host"], **{k: v for k, v in props.items() if k != "host"}}
