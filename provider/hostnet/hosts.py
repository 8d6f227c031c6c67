"""The Host schema: how hostnet reaches one machine.

One list of settings (``FIELDS``) serves the SDK's ``hn.Host``, every resource's
check, the transport's ``Connection`` and ``hostnet verify``. Everything that can
be known without logging in is checked here, at preview: ranges, names, and the
key and known_hosts files, which must be readable and parse on this machine.
"""

from __future__ import annotations

import ipaddress
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hostnet import transport
from hostnet.errors import InvalidInput
from hostnet.transport import Connection
from hostnet.unknown import is_unknown


@dataclass(frozen=True, kw_only=True)
class Field:
    """One host setting: its name, its default and how check reads it."""

    name: str
    default: Any
    doc: str


FIELDS: tuple[Field, ...] = (
    Field(name="name", default=None, doc="short stable name, first part of every id"),
    Field(name="address", default=None, doc="IP address or DNS name sshd listens on"),
    Field(name="port", default=22, doc="sshd's TCP port"),
    Field(name="user", default="root", doc="login user"),
    Field(name="key_file", default=None, doc="private key file on the controller"),
    Field(name="use_ssh_agent", default=False, doc="offer the keys of the local ssh agent"),
    Field(name="host_key", default=None, doc="the host's public key, as in known_hosts"),
    Field(name="known_hosts", default=None, doc="known_hosts file holding the host's key"),
    Field(name="trust_on_first_use", default=False, doc="accept an unknown host key"),
    Field(name="sudo", default=False, doc="run the agent through sudo -n"),
    Field(name="python", default=None, doc="interpreter on the host (unset: found there)"),
    Field(name="connect_timeout", default=10.0, doc="seconds to connect and start the agent"),
    Field(name="auth_timeout", default=15.0, doc="seconds for SSH authentication"),
    Field(name="request_timeout", default=120.0, doc="seconds one request may take"),
    Field(
        name="guard_timeout",
        default=60.0,
        doc="seconds a change that may cut the management path has to be confirmed",
    ),
    Field(name="bastion", default=None, doc="a Host to jump through"),
)
NAMES = tuple(f.name for f in FIELDS)
DEFAULTS = {f.name: f.default for f in FIELDS}
# The secret inputs beside ``host``: the host's login key and its bastion's.
SECRET_INPUTS = ("private_key", "bastion_private_key")

_HOST_NAME = re.compile(r"[A-Za-z0-9_.-]{1,63}")
_DNS_NAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
_PYTHON = re.compile(r"[A-Za-z0-9_./+-]{1,200}")
_PYTHON_BASENAME = re.compile(r"(python|pypy|platform-python)[0-9.]*")
MAX_TIMEOUT = 3600.0

# Keys pinned by trust on first use, learned from any resource's state this
# process has seen: a new resource on a host another resource already pinned
# gets that key, not a second first use.
_pins: dict[tuple[str, int], str] = {}
_pins_lock = threading.Lock()


def _text(regex: re.Pattern[str], what: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not regex.fullmatch(value):
            return f"{value!r} is not {what}"
        return ""

    return check


def _address(value: Any) -> str:
    if isinstance(value, str):
        try:
            ipaddress.ip_address(value)
            return ""
        except ValueError:
            if _DNS_NAME.fullmatch(value) and not value.replace(".", "").isdigit():
                return ""
    return f"{value!r} is not an IP address or DNS name"


def _port(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        return f"{value!r} is not a whole number"
    return "" if 1 <= int(value) <= 65535 else f"{int(value)} is outside 1..65535"


def _flag(value: Any) -> str:
    return "" if isinstance(value, bool) else f"{value!r} is not true or false"


def _seconds(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{value!r} is not a number of seconds"
    return "" if 0 < value <= MAX_TIMEOUT else f"{value} is outside (0, {MAX_TIMEOUT:.0f}] seconds"


def _guard_seconds(value: Any) -> str:
    problem = _seconds(value)
    return problem or ("" if 5 <= value <= 3600 else f"{value} is outside 5..3600 seconds")


def _python(value: Any) -> str:
    if not isinstance(value, str) or not _PYTHON.fullmatch(value):
        return f"{value!r} is not an interpreter name or path"
    if not _PYTHON_BASENAME.fullmatch(os.path.basename(value)):
        return f"{value!r} does not name a Python interpreter (python3, /usr/bin/python3.11, ...)"
    return ""


def _file(read: Callable[[str], Any]) -> Callable[[Any], str]:
    """A setting naming a file on this machine that ``read`` must read and parse."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or not value or "\n" in value:
            return f"{value!r} is not a file path"
        try:
            read(os.path.expanduser(value))
        except InvalidInput as exc:
            return f"{value}: {exc.reason}"
        return ""

    return check


def _host_key(value: Any) -> str:
    try:
        transport.parse_host_key(value)
    except InvalidInput as exc:
        return exc.reason
    return ""


_CHECKS: dict[str, Callable[[Any], str]] = {
    "name": _text(_HOST_NAME, "a host name (letters, digits, . _ -; at most 63)"),
    "address": _address,
    "port": _port,
    "user": _text(_USER, "a user name"),
    "key_file": _file(transport.read_private_key),
    "use_ssh_agent": _flag,
    "host_key": _host_key,
    "known_hosts": _file(transport.read_known_hosts),
    "trust_on_first_use": _flag,
    "sudo": _flag,
    "python": _python,
    "connect_timeout": _seconds,
    "auth_timeout": _seconds,
    "request_timeout": _seconds,
    "guard_timeout": _guard_seconds,
}
_NUMBERS = {
    "port": int,
    "connect_timeout": float,
    "auth_timeout": float,
    "request_timeout": float,
    "guard_timeout": float,
}


def check_host(
    value: Any, *, field: str = "host", private_key: Any = None, depth: int = 0
) -> tuple[Any, list[tuple[str, str]]]:
    """(normalised host, [(field, reason)]); unknown settings pass through untouched."""
    if is_unknown(value) and not isinstance(value, Mapping):
        return value, []
    if not isinstance(value, Mapping):
        return None, [(field, "must be a Host (name, address and how to log in)")]
    failures: list[tuple[str, str]] = []
    out: dict[str, Any] = {}
    for key, setting in value.items():
        if setting is None:
            continue
        if key not in NAMES:
            failures.append((f"{field}.{key}", f"is not a Host setting ({', '.join(NAMES)})"))
        elif is_unknown(setting) and key != "bastion":
            out[key] = setting
        elif key == "bastion":
            if depth >= 2:
                failures.append((f"{field}.bastion", "bastions nest at most two deep"))
                continue
            out[key], more = check_host(setting, field=f"{field}.bastion", depth=depth + 1)
            failures += more
        elif problem := _CHECKS[key](setting):
            failures.append((f"{field}.{key}", problem))
        else:
            out[key] = _NUMBERS[key](setting) if key in _NUMBERS else setting
    required = ("name", "address") if depth == 0 else ("address",)
    failures += [(f"{field}.{k}", "is required") for k in required if value.get(k) is None]
    failures += _key_rules(out, field=field, private_key=private_key)
    return out, failures


def _key_rules(host: Mapping[str, Any], *, field: str, private_key: Any) -> list[tuple[str, str]]:
    """Rules across settings: one source of the login key, a way to trust the host's key."""
    failures: list[tuple[str, str]] = []
    if private_key is not None and host.get("key_file") is not None:
        failures.append((f"{field}.key_file", "give private_key or key_file, not both"))
    if private_key is not None and not is_unknown(private_key):
        try:
            transport.parse_private_key(private_key)
        except InvalidInput as exc:
            failures.append(("private_key", exc.reason))  # the reason never quotes the key
    if not any(host.get(k) for k in ("host_key", "known_hosts", "trust_on_first_use")):
        failures.append(
            (
                f"{field}.known_hosts",
                "nothing pins the host's key: give host_key or known_hosts, "
                "or set trust_on_first_use=True",
            )
        )
        return failures
    known, address = host.get("known_hosts"), host.get("address")
    if isinstance(known, str) and isinstance(address, str) and not host.get("host_key"):
        keys = transport.read_known_hosts(os.path.expanduser(known))
        name = transport.host_key_name(address, int(host.get("port", 22)))
        if keys.lookup(name) is None and not host.get("trust_on_first_use"):
            failures.append(
                (f"{field}.known_hosts", f"{known} holds no key for {name}; add it (ssh-keyscan)")
            )
    return failures


def connection_from(inputs: Mapping[str, Any]) -> Connection:
    """The transport's Connection for a resource's ``host`` input and its secret keys."""
    return _connection(inputs["host"], inputs.get("private_key"), inputs.get("bastion_private_key"))


def _connection(host: Mapping[str, Any], key: str | None, bastion_key: str | None) -> Connection:
    settings = {**DEFAULTS, **{k: v for k, v in host.items() if v is not None}}
    jump = settings["bastion"]
    return Connection(
        address=str(settings["address"]),
        port=int(settings["port"]),
        user=str(settings["user"]),
        private_key=key,
        key_file=settings["key_file"],
        use_ssh_agent=bool(settings["use_ssh_agent"]),
        host_key=settings["host_key"],
        known_hosts=settings["known_hosts"],
        trust_on_first_use=bool(settings["trust_on_first_use"]),
        sudo=bool(settings["sudo"]),
        python=settings["python"],
        connect_timeout=float(settings["connect_timeout"]),
        auth_timeout=float(settings["auth_timeout"]),
        request_timeout=float(settings["request_timeout"]),
        guard_timeout=float(settings["guard_timeout"]),
        bastion=_connection(jump, bastion_key, None) if jump else None,
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
