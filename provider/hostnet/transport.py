"""SSH to hosts: one pooled connection and one agent per host and process.

The only module that imports paramiko. ``agent_for(conn)`` returns a running
agent for a host, starting it on first use; every later call from any thread
reuses it. An agent round trip costs about 0.3 ms where a new ``ssh`` per
command costs about 230 ms, so resource code may call it freely.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import dataclasses
import io
import json
import logging
import os
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import paramiko

from hostnet import errors, stats
from hostnet.agent_client import Agent
from hostnet.payload import DISCOVERY, PayloadError, build_payload, launcher

log = logging.getLogger("hostnet")
# Whether agents started from now on answer reads from snapshots (agent_client):
# on in the Pulumi provider host, whose reads are a refresh's or a create's.
_serve_reads = threading.Event()
_PYTHON_NAME = re.compile(r"^[A-Za-z0-9_./+-]{1,200}$")


@dataclass(frozen=True, kw_only=True)
class Connection:
    """How to reach one host. ``private_key`` is secret and never printed."""

    address: str
    port: int = 22
    user: str = "root"
    private_key: str | None = field(default=None, repr=False)
    key_file: str | None = None
    use_ssh_agent: bool = False
    host_key: str | None = None
    known_hosts: str | None = None
    trust_on_first_use: bool = False
    sudo: bool = False
    bastion: Connection | None = None
    connect_timeout: float = 10.0
    auth_timeout: float = 15.0
    request_timeout: float = 120.0
    # How long a change that may cut this connection's path waits for a new
    # connection before the host reverts it (hostnet.guard).
    guard_timeout: float = 60.0
    # None: the first of payload.DISCOVERY that is Python 3.6 or newer.
    python: str | None = None

    @property
    def label(self) -> str:
        return f"{self.user}@{self.address}:{self.port}"

    def validate(self) -> None:
        if not self.address:
            raise errors.InvalidInput("address", "is empty")
        if not 0 < self.port < 65536:
            raise errors.InvalidInput("port", f"{self.port} is not a TCP port")
        if self.python is not None and not _PYTHON_NAME.match(self.python):
            raise errors.InvalidInput("python", "must be an interpreter name or path")
        if self.private_key and self.key_file:
            raise errors.InvalidInput("private_key", "give private_key or key_file, not both")


class _PinnedKeys(paramiko.MissingHostKeyPolicy):
    """Refuse unknown host keys unless trust-on-first-use was asked for."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        if not self.conn.trust_on_first_use:
            raise errors.HostKeyUnknown(
                f"{self.conn.label}: host key {key.get_name()} {key.fingerprint} is not pinned"
            )
        client.get_host_keys().add(hostname, key.get_name(), key)


def parse_private_key(text: str) -> paramiko.PKey:
    """An OpenSSH private key from its text; the error never quotes the key."""
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text))
        except paramiko.PasswordRequiredException:
            raise errors.InvalidInput(
                "private_key", "is encrypted; hostnet takes keys without a passphrase"
            ) from None
        except (paramiko.SSHException, ValueError):
            continue
    raise errors.InvalidInput("private_key", "is not an OpenSSH ed25519, ecdsa or rsa private key")


# Parsed key and known_hosts files by path, while their content stays the same:
# every resource's check names them, and parsing known_hosts costs about 1 ms per
# resource for a few lines and grows with the file; reading it back is cheap.
_PARSED: dict[tuple[str, str], tuple[bytes, Any]] = {}


def _parsed_file(path: str, parse: Callable[[str], Any]) -> Any:
    """parse(path), reused while the file holds the same bytes. Callers must not
    change what it returns."""
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except OSError:
        return parse(path)  # parse says why, in its own words
    key = (parse.__name__, path)
    hit = _PARSED.get(key)
    if hit is not None and hit[0] == content:
        return hit[1]
    value = parse(path)
    _PARSED[key] = (content, value)
    return value


def read_private_key(path: str) -> paramiko.PKey:
    """The key in a key file, read on this machine."""
    key: paramiko.PKey = _parsed_file(path, _read_private_key)
    return key


def _read_private_key(path: str) -> paramiko.PKey:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise errors.InvalidInput("key_file", f"cannot be read: {reason}") from None
    try:
        return parse_private_key(text)
    except errors.InvalidInput as exc:
        raise errors.InvalidInput("key_file", exc.reason) from None


def parse_host_key(text: object) -> paramiko.PKey:
    """A host key written as in known_hosts: ``<type> <base64>``."""
    parts = text.split() if isinstance(text, str) else []
    if len(parts) < 2:
        raise errors.InvalidInput("host_key", "expected '<type> <base64>' as in known_hosts")
    try:
        return paramiko.PKey.from_type_string(parts[0], base64.b64decode(parts[1], validate=True))
    except Exception:
        raise errors.InvalidInput("host_key", f"cannot parse a {parts[0]!r} key") from None


def read_known_hosts(path: str) -> paramiko.HostKeys:
    """A known_hosts file, read and parsed on this machine (shared: do not change it)."""
    keys: paramiko.HostKeys = _parsed_file(path, _read_known_hosts)
    return keys


def _read_known_hosts(path: str) -> paramiko.HostKeys:
    keys = paramiko.HostKeys()
    try:
        keys.load(path)
    except OSError as exc:
        raise errors.InvalidInput("known_hosts", f"cannot be read: {exc.strerror}") from None
    except Exception as exc:
        raise errors.InvalidInput("known_hosts", f"does not parse: {exc}") from None
    return keys


def host_key_name(address: str, port: int) -> str:
    """How known_hosts names a host: ``addr`` on port 22, ``[addr]:port`` otherwise."""
    return address if port == 22 else f"[{address}]:{port}"


def _pin(client: paramiko.SSHClient, conn: Connection) -> None:
    if conn.known_hosts:
        known = read_known_hosts(os.path.expanduser(conn.known_hosts))
        for name, entry in known.items():
            for kind, key in entry.items():
                client.get_host_keys().add(name, kind, key)
    if conn.host_key:
        key = parse_host_key(conn.host_key)
        client.get_host_keys().add(host_key_name(conn.address, conn.port), key.get_name(), key)
    client.set_missing_host_key_policy(_PinnedKeys(conn))


class _Client(paramiko.SSHClient):
    """An SSH client that owns the client of its bastion, if any: closing it
    closes the session it was tunnelled through as well."""

    jump: paramiko.SSHClient | None = None

    def close(self) -> None:
        super().close()
        if self.jump is not None:
            self.jump.close()
            self.jump = None


def _socket(conn: Connection, client: _Client) -> socket.socket | paramiko.Channel:
    if conn.bastion is not None:
        client.jump = _client(conn.bastion)
        transport = client.jump.get_transport()
        assert transport is not None
        try:
            return transport.open_channel(
                "direct-tcpip",
                (conn.address, conn.port),
                ("127.0.0.1", 0),
                timeout=conn.connect_timeout,
            )
        except (paramiko.SSHException, OSError) as exc:
            client.close()
            raise errors.Unreachable(f"{conn.label} via {conn.bastion.label}: {exc}") from None
    try:
        sock = socket.create_connection((conn.address, conn.port), timeout=conn.connect_timeout)
    except OSError as exc:
        raise errors.Unreachable(f"{conn.label}: {exc.strerror or exc}") from None
    # Without it every exec and the login wait ~45 ms on Nagle and delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if not _TCP_QUICKACK:
        return sock
    timeout = sock.gettimeout()
    quick = _QuickAckSocket(fileno=sock.detach())
    quick.settimeout(timeout)
    return quick


_TCP_QUICKACK: int = getattr(socket, "TCP_QUICKACK", 0)  # Linux only


class _QuickAckSocket(socket.socket):
    """A TCP socket that acknowledges what it receives at once.

    sshd leaves Nagle on for a session without a terminal, so a small packet it
    sends while its last one is unacknowledged waits for our ACK, which Linux
    delays up to 40 ms while we have nothing to send. After every login
    OpenSSH's host-key notice and the confirmation of the agent's channel meet
    just that: each agent start waited 40 ms for it (45 of 120 ms in the lab).
    The kernel leaves quick-ACK mode by itself, hence once per read.
    """

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        with contextlib.suppress(OSError):
            self.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
        return data


def _login_key(conn: Connection) -> paramiko.PKey | None:
    if conn.private_key:
        return parse_private_key(conn.private_key)
    if conn.key_file:
        return read_private_key(os.path.expanduser(conn.key_file))
    return None


def _client(conn: Connection) -> paramiko.SSHClient:
    conn.validate()
    client = _Client()
    _pin(client, conn)
    sock = _socket(conn, client)
    try:
        client.connect(
            conn.address,
            port=conn.port,
            username=conn.user,
            pkey=_login_key(conn),
            allow_agent=conn.use_ssh_agent,
            look_for_keys=False,
            sock=sock,
            timeout=conn.connect_timeout,
            banner_timeout=conn.connect_timeout,
            auth_timeout=conn.auth_timeout,
        )
    except errors.HostnetError:
        client.close()
        raise
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise errors.HostKeyMismatch(
            f"{conn.label}: the host key changed: the host shows {exc.key.get_name()} "
            f"{exc.key.fingerprint}, pinned {exc.expected_key.fingerprint}"
        ) from None
    except paramiko.AuthenticationException:
        client.close()
        raise errors.AuthFailed(f"{conn.label}: the host refused the key") from None
    except (paramiko.SSHException, OSError, EOFError) as exc:
        client.close()
        raise errors.Unreachable(f"{conn.label}: {exc}") from None
    stats.ssh_opened(conn.address)
    transport = client.get_transport()
    assert transport is not None
    transport.set_keepalive(15)
    return client


def _start_agent(conn: Connection, client: paramiko.SSHClient) -> Agent:
    """Start the agent over a new channel; every failure is one of hostnet's errors."""
    try:
        return _bootstrap(conn, client)
    except errors.HostnetError:
        raise
    except TimeoutError:
        raise errors.Timeout(f"{conn.label}: no answer from the agent bootstrap") from None
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise errors.Unreachable(
            f"{conn.label}: connection failed starting the agent: {exc}"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise errors.AgentStartFailed(
            f"{conn.label}: the agent's start-up answer was not hostnet's ({type(exc).__name__}: "
            f"{str(exc)[:120]})"
        ) from None


def _bootstrap(conn: Connection, client: paramiko.SSHClient) -> Agent:
    command = launcher(conn.python)
    if conn.sudo:
        command = f"sudo -n -- {command}"
    transport = client.get_transport()
    if transport is None or not transport.is_active():
        raise errors.Unreachable(
            f"{conn.label}: the SSH connection closed before the agent started"
        )
    channel = transport.open_session(timeout=conn.connect_timeout)
    channel.settimeout(conn.connect_timeout)
    channel.exec_command(command)
    stdout = channel.makefile("rb")
    hello = _hello(conn, channel, stdout)
    version = tuple(hello["python"][:2])
    try:
        payload = build_payload((int(version[0]), int(version[1])))
    except PayloadError as exc:
        raise errors.NoSuitablePython(f"{conn.label}: {hello['interpreter']}: {exc}") from None
    channel.sendall(str(len(payload)).encode() + b"\n" + payload)
    ready = _first_line(conn, channel, stdout)
    if not ready.get("ready"):
        raise errors.AgentStartFailed(f"{conn.label}: agent did not start: {str(ready)[:200]}")
    channel.settimeout(None)
    for guard in ready.get("guards") or []:
        log.warning(
            "%s: guard %s found on the host: %s (%s): %s",
            conn.label,
            guard.get("key"),
            guard.get("state"),
            guard.get("reason"),
            "; ".join(guard.get("what") or []),
        )
    return Agent(
        host=conn.address,
        channel=channel,
        stdout=stdout,
        info={**ready, "interpreter": hello.get("interpreter")},
        default_timeout=conn.request_timeout,
        serve_reads=_serve_reads.is_set(),
    )


def _hello(conn: Connection, channel: paramiko.Channel, stdout: Any) -> dict[str, Any]:
    """The bootstrap's hello, after the launcher's word on each interpreter it passed over."""
    tried: list[str] = []
    while True:
        data = _first_line(conn, channel, stdout)
        if "tried" in data:
            answer = data.get("answer") or f"Python {data.get('python')}, older than 3.6"
            tried.append(f"{data['tried']}: {answer}")
        elif data.get("error") == "NoSuitablePython":
            names = conn.python or ", ".join(DISCOVERY)
            raise errors.NoSuitablePython(
                f"{conn.label}: no Python 3.6 or newer among {names} ({'; '.join(tried)})"
            )
        else:
            return data


def _first_line(conn: Connection, channel: paramiko.Channel, stdout: Any) -> dict[str, Any]:
    try:
        line = stdout.readline()
    except TimeoutError:
        raise errors.Timeout(f"{conn.label}: no answer from the agent bootstrap") from None
    if not line:
        err = channel.recv_stderr(4096).decode(errors="replace").strip()
        status = channel.recv_exit_status()
        if conn.sudo and (
            "password" in err or "sudo: not found" in err or "sudo: command not found" in err
        ):
            raise errors.NotRoot(f"{conn.label}: sudo -n failed: {err[-200:]}") from None
        if status == 127:
            raise errors.NoSuitablePython(f"{conn.label}: {conn.python!r} not found") from None
        raise errors.AgentStartFailed(
            f"{conn.label}: agent bootstrap exited {status}: {err[-300:] or 'no message'}"
        )
    try:
        data = json.loads(line)
    except ValueError:
        text = line.decode(errors="replace").strip()[:80]
        raise errors.AgentStartFailed(
            f"{conn.label}: the host printed {text!r} where the agent's first line belongs"
        ) from None
    if not isinstance(data, dict):
        raise errors.AgentStartFailed(f"{conn.label}: the agent's first line is not an object")
    if data.get("error") == "NotRoot":
        raise errors.NotRoot(f"{conn.label}: agent runs as uid {data.get('uid')}")
    return data


def _where(conn: Connection) -> tuple[str, int, str | None]:
    """The machine a connection reaches (whatever the user, key or settings)."""
    via = None if conn.bastion is None else conn.bastion.label
    return conn.address, conn.port, via


def _discard_unsent(client: paramiko.SSHClient) -> None:
    """Close with a reset, dropping what the kernel still holds to send.

    Requests sent over a path that a change cut sit in the socket's send queue;
    a plain close keeps retransmitting them, so once the host reverts the change
    they arrive late and run, possibly on what a later run made. With SO_LINGER 0
    the close that follows discards them."""
    transport = client.get_transport()
    sock = None if transport is None else transport.sock
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class _Pool:
    """One SSH client and one agent per host and connection settings in this process.

    Keyed by the whole Connection, not only (address, port, user): a connection
    opened under one pinned host key must never serve a caller pinning another.
    A host that could not be reached, or refused us, is not tried again by this
    process: its other resources fail at once with the same error, rather than
    each waiting out the connect timeout in turn.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._host_locks: dict[tuple[str, int, str | None], threading.Lock] = {}
        self._entries: dict[Connection, tuple[paramiko.SSHClient, Agent]] = {}
        self._failed: dict[Connection | tuple[str, int, str | None], errors.HostnetError] = {}

    def agent(self, conn: Connection) -> Agent:
        where = _where(conn)
        with self._lock:
            host_lock = self._host_locks.setdefault(where, threading.Lock())
        # Connect to different hosts in parallel, to one host once.
        with host_lock:
            entry = self._entries.get(conn)
            if entry is not None:
                client, agent = entry
                transport = client.get_transport()
                if agent.alive and transport is not None and transport.is_active():
                    return agent
                self._drop(conn)
            failed = self._failed.get(where) or self._failed.get(conn)
            if failed is not None:
                raise failed.with_traceback(None)
            try:
                client = _client(conn)
            except errors.Unreachable as exc:
                self._failed[where] = exc  # whatever the settings
                raise
            except errors.TransportError as exc:
                self._failed[conn] = exc  # a refusal of these settings (key, user)
                raise
            try:
                agent = _start_agent(conn, client)
            except BaseException:
                client.close()
                raise
            self._entries[conn] = (client, agent)
            return agent

    def host_key(self, conn: Connection) -> str | None:
        """The key the host showed on the live connection, as known_hosts writes it."""
        entry = self._entries.get(conn)
        transport = entry[0].get_transport() if entry else None
        if transport is None:
            return None
        key = transport.get_remote_server_key()
        return f"{key.get_name()} {key.get_base64()}"

    def _drop(self, key: Connection, *, abort: bool = False) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        if abort:
            _discard_unsent(entry[0])
        entry[1].close()
        entry[0].close()

    def forget(self, conn: Connection) -> None:
        """Close this host's connection and forget that it failed: the next call
        connects afresh (a guard reverted a change that had cut the path)."""
        with self._lock:
            host_lock = self._host_locks.setdefault(_where(conn), threading.Lock())
        with host_lock:
            self._drop(conn, abort=True)
            self._failed.pop(_where(conn), None)
            self._failed.pop(conn, None)

    def close_all(self) -> None:
        with self._lock:
            keys = list(self._entries)
        for key in keys:
            self._drop(key)


_POOL = _Pool()


def _at_exit() -> None:
    stats.write()
    _POOL.close_all()


atexit.register(_at_exit)


def serve_reads_from_snapshots(on: bool = True) -> None:
    """Agents started from now on answer reads from per-namespace snapshots until
    this process first changes their host (see hostnet.agent_client)."""
    if on:
        _serve_reads.set()
    else:
        _serve_reads.clear()


def agent_for(conn: Connection) -> Agent:
    """The running agent for this host, started on first use."""
    return _POOL.agent(conn)


def host_key_seen(conn: Connection) -> str | None:
    """The host key of this host's live connection (what trust-on-first-use pins)."""
    return _POOL.host_key(conn)


def forget(conn: Connection) -> None:
    """Drop the pooled connection to this host and its remembered failure."""
    _POOL.forget(conn)


def confirm(conn: Connection, *, until: float) -> str | None:
    """Prove the host still takes a NEW SSH connection: fresh TCP, key exchange,
    host key check and authentication, then closed. The pooled connection is never
    used: it may have survived a change that locks out everyone else. Retried
    until ``until`` (time.monotonic()); None when it succeeded, else the last error.
    """
    problem = "no time left to try"
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return problem
        # A bastion is reached afresh too: _client opens its own connection to it.
        attempt = dataclasses.replace(
            conn, connect_timeout=min(conn.connect_timeout, max(left, 1.0)),
            auth_timeout=min(conn.auth_timeout, max(left, 1.0)),
        )  # fmt: skip
        try:
            _client(attempt).close()
            return None
        except errors.HostnetError as exc:
            problem = str(exc)
        time.sleep(min(1.0, max(0.0, until - time.monotonic())))


def close_all() -> None:
    """Stop every agent and close every connection of this process (it is ending:
    its counts go to $HOSTNET_STATS)."""
    stats.write()
    _POOL.close_all()


@contextmanager
def session(conn: Connection) -> Iterator[Agent]:
    """An agent for the duration of a block (tools and tests)."""
    yield agent_for(conn)


_WARMING: set[Connection] = set()
_WARMING_LOCK = threading.Lock()


def prewarm(conn: Connection) -> None:
    """Start this host's connection and agent in the background, once per process:
    a later agent_for(conn) finds it running (or waits for it, or gets the same
    error). What fails here is only remembered by the pool."""
    with _WARMING_LOCK:
        if conn in _WARMING:
            return
        _WARMING.add(conn)

    def start() -> None:
        with contextlib.suppress(errors.HostnetError):
            agent_for(conn)

    threading.Thread(target=start, name=f"hostnet-prewarm-{conn.address}", daemon=True).start()
