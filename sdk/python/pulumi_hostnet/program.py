"""What the example programs share: hosts from stack config, and how
``hostnet verify`` reaches them (the stack's ``connections`` output)."""

from __future__ import annotations

import pulumi

from pulumi_hostnet.host import Host


def host_from_config(config: pulumi.Config, *, name: str, address: str) -> Host:
    """A Host logged into as the config says: ``user`` (root), ``keyFile``,
    ``knownHosts``, ``privateKey`` (secret), ``sudo``, ``python``."""
    return Host(
        name=name,
        address=address,
        user=config.get("user") or "root",
        key_file=config.get("keyFile"),
        known_hosts=config.get("knownHosts"),
        private_key=config.get_secret("privateKey"),
        sudo=config.get_bool("sudo") or False,
        python=config.get("python") or "python3",
    )


def verify_connection(host: Host) -> dict[str, object]:
    """How ``hostnet verify`` reaches ``host``; the key stays a secret."""
    return {
        k: v
        for k, v in {
            "address": host.address,
            "user": host.user,
            "key_file": host.key_file,
            "known_hosts": host.known_hosts,
            "sudo": host.sudo,
            "private_key": host.private_key,
        }.items()
        if v is not None
    }
