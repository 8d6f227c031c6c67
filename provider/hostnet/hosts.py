"""From a resource's ``host`` input (and its secret key) to a transport Connection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hostnet.transport import Connection


def connection_from(inputs: Mapping[str, Any]) -> Connection:
    host = inputs["host"]
    return Connection(
        address=str(host["address"]),
        port=int(host.get("port", 22)),
        user=str(host.get("user", "root")),
        private_key=inputs.get("private_key"),
        key_file=host.get("key_file"),
        host_key=host.get("host_key"),
        known_hosts=host.get("known_hosts"),
        trust_on_first_use=bool(host.get("trust_on_first_use", False)),
        sudo=bool(host.get("sudo", False)),
        python=host.get("python"),
        connect_timeout=float(host.get("connect_timeout", 10.0)),
        request_timeout=float(host.get("request_timeout", 120.0)),
    )
