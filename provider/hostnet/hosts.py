"""From a resource's ``host`` input (and its secret key) to a transport Connection."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from hostnet import transport
from hostnet.transport import Connection

# Keys pinned by trust on first use, learned from any resource's state this
# process has seen: a new resource on a host another resource already pinned
# gets that key, not a second first use.
_pins: dict[tuple[str, int], str] = {}
_pins_lock = threading.Lock()


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


def _tofu(host: Mapping[str, Any]) -> bool:
    return bool(host.get("trust_on_first_use")) and not host.get("host_key")


def _machine(host: Mapping[str, Any]) -> tuple[str, int]:
    return str(host.get("address")), int(host.get("port", 22))


def learn_pin(props: Mapping[str, Any]) -> None:
    """Remember the key a resource's state pinned for its host."""
    host = props.get("host")
    if isinstance(host, Mapping) and host.get("trust_on_first_use") and host.get("host_key"):
        with _pins_lock:
            _pins.setdefault(_machine(host), str(host["host_key"]))


def with_pin(props: Mapping[str, Any], olds: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``props`` whose trust-on-first-use host carries the key pinned before, if any:
    from the resource's own state (same machine), else from another resource's."""
    host = props.get("host")
    if not isinstance(host, Mapping) or not _tofu(host):
        return dict(props)
    old_host = (olds or {}).get("host")
    key = None
    if isinstance(old_host, Mapping) and _machine(old_host) == _machine(host):
        key = old_host.get("host_key")
    if key is None:
        with _pins_lock:
            key = _pins.get(_machine(host))
    return {**props, "host": {**host, "host_key": key}} if key else dict(props)


def pin_seen(outputs: Mapping[str, Any], conn: Connection) -> dict[str, Any]:
    """Outputs that record the key the host showed on first use, so every later
    operation of this resource refuses another key."""
    host = outputs.get("host")
    if not isinstance(host, Mapping) or not _tofu(host):
        return dict(outputs)
    key = transport.host_key_seen(conn)
    pinned = {**outputs, "host": {**host, "host_key": key}} if key else dict(outputs)
    learn_pin(pinned)
    return pinned
