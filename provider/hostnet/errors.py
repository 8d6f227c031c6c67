"""Errors hostnet raises, each with the remedy a user needs.

Every message is built from host names, field names and the host's own words;
never from a private key, a passphrase or any other secret. ``describe`` turns
any of them into the one paragraph ``pulumi up`` shows: the resource, the host,
the field at fault, what was found and what to do, naming a setting that exists.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any


class HostnetError(Exception):
    """Root of every hostnet error. ``remedy`` says what to do and may name the
    field at fault as ``{field}``; ``values`` shows the host settings it names,
    filled by ``describe`` from the host in use."""

    remedy = ""
    values = ""

    @property
    def detail(self) -> str:
        """What was found, without the remedy."""
        return super().__str__()

    def __str__(self) -> str:
        text = super().__str__()
        remedy = fill(self.remedy, {"field": field_of(self) or "the input"})
        return f"{text} ({remedy})" if remedy else text


class InvalidInput(HostnetError, ValueError):
    """A resource input is wrong; raised before the host is changed."""

    remedy = "change {field} in the program and run pulumi up again"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    @property
    def detail(self) -> str:
        return self.reason


class TransportError(HostnetError):
    """Reaching or starting the agent on a host failed; nothing was changed."""

    never_retry = False


class Unreachable(TransportError):
    remedy = (
        "check host.address and host.port, that sshd runs there and that this machine has a "
        "route to it"
    )
    values = "{address} port {port}, host.connect_timeout {connect_timeout:g} s"


class AuthFailed(TransportError):
    remedy = (
        "check host.user and that its ~/.ssh/authorized_keys on the host holds the public half "
        "of host.key_file or private_key"
    )
    values = "host.user {user}"
    never_retry = True


class HostKeyUnknown(TransportError):
    remedy = (
        "pin the key with host.host_key or host.known_hosts (ssh-keyscan shows it), or set "
        "host.trust_on_first_use=True if you accept any key the first time"
    )
    values = "ssh-keyscan -p {port} {address}"
    never_retry = True


class HostKeyMismatch(TransportError):
    remedy = (
        "the host presented another key than the one pinned in host.host_key or "
        "host.known_hosts; make sure it is the right machine, then update the pin"
    )
    never_retry = True


class NoSuitablePython(TransportError):
    remedy = "install Python 3.6 or newer on the host, or set host.python to the path of one"
    never_retry = True


class NotRoot(TransportError):
    remedy = "log in as root, or set host.sudo=True for a user with passwordless sudo"
    values = "host.user {user}, host.sudo {sudo}"
    never_retry = True


class AgentStartFailed(TransportError):
    """The agent did not start or spoke garbage at start-up (framing)."""

    remedy = (
        "run host.python on the host by hand over ssh; the login must print nothing to stdout "
        "(check the shell's rc files) and the interpreter must start"
    )
    values = "host.python {python}"


class AgentLost(TransportError):
    """The connection to a running agent went away mid-run."""

    remedy = (
        "the host rebooted, the agent was killed or the network dropped; run pulumi up again "
        "(hostnet's steps are idempotent), after pulumi refresh if the host was reset"
    )


class Timeout(HostnetError):
    remedy = "raise host.request_timeout or check the host's load"
    values = "host.request_timeout {request_timeout:g} s"


class AgentError(HostnetError):
    """An operation failed on the host; carries the host's own message."""

    remedy = (
        "the host refused the change in the words above; fix the input or the host, then run "
        "pulumi up again"
    )

    def __init__(
        self,
        *,
        host: str,
        op: str,
        kind: str,
        message: str,
        index: int | None = None,
        errno: int | None = None,
        failed_at: int | None = None,
        results: list[Any] | None = None,
    ) -> None:
        where = f"{host}: {op}" if index is None else f"{host}: {op} (step {index + 1})"
        super().__init__(f"{where}: {kind}: {message}")
        self.host = host
        self.op = op
        self.kind = kind
        self.message = message
        self.index = index
        self.errno = errno
        # Where the batch stopped and what the ops before it returned: what a
        # plan's undo needs (``index`` is only set for batches of several ops).
        self.failed_at = failed_at
        self.results = list(results or [])

    @property
    def detail(self) -> str:
        return f"{self.message} (the host's answer to {self.op})"


class NotOwned(AgentError):
    """The object exists on the host and belongs to someone else; left untouched.
    The host's message names the owner and how to take it over (adopt)."""

    remedy = (
        "hostnet never changes what is not this resource's: set adopt=True on the resource "
        "to take the object over, or give {field} another value"
    )

    @property
    def detail(self) -> str:
        # The agent words it "<what> belongs to <owner>; <how to adopt>": the
        # remedy below says the latter, once.
        return f"{self.message.split('; ')[0]} (the host's answer to {self.op})"


class OpTimeout(AgentError, Timeout):
    """An op ran past its request's time limit on the host."""

    remedy = Timeout.remedy
    values = Timeout.values


class Conflict(AgentError):
    """An object of that name exists with another kind or configuration."""

    remedy = "give {field} another value, or remove the existing object on the host by hand"


class Busy(AgentError):
    """Another hostnet run holds the host lock."""

    remedy = (
        "another hostnet run (another stack or pulumi process) is changing this host; wait for "
        "it to finish and run pulumi up again"
    )


class NotFound(AgentError):
    """Something the operation needs is not on the host."""

    remedy = (
        "create it first: if another resource makes it, pass that resource's output to "
        "{field} or add depends_on, so pulumi orders them"
    )


class VerifyFailed(HostnetError):
    """After applying, the host does not show what was asked for."""

    remedy = (
        "something on the host changed it right back (a network daemon, for one); check the "
        "host, then run pulumi refresh and pulumi up"
    )


class Internal(HostnetError):
    """An error hostnet did not foresee."""

    remedy = "this is a bug in hostnet; report it with the text above"


# The input an agent op acts on, for messages that name a field.
OP_FIELDS = {
    "link_ensure_bridge": "name",
    "link_ensure_veth": "name",
    "link_set": "name",
    "link_delete": "name",
    "addr_replace": "addresses",
    "uplink_takeover": "uplink",
    "uplink_release": "uplink",
    "route_ensure": "dst",
    "route_delete": "dst",
    "netns_ensure": "name",
    "netns_delete": "name",
    "ipt_ensure_rule": "name",
    "ipt_ensure_chain": "netns",
    "sysctl_write": "key",
    "sysctl_restore": "key",
}


class _Fill(string.Formatter):
    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        return (
            kwargs.get(key, "?") if isinstance(key, str) else super().get_value(key, args, kwargs)
        )

    def format_field(self, value: Any, format_spec: str) -> str:
        try:
            return str(super().format_field(value, format_spec))
        except (TypeError, ValueError):
            return str(value)


def fill(template: str, context: Mapping[str, Any]) -> str:
    """A remedy with host settings filled in ("?" for one not known here)."""
    return _Fill().format(template, **context)


def field_of(exc: HostnetError) -> str | None:
    """The input at fault, when one is."""
    if isinstance(exc, InvalidInput):
        return exc.field
    if isinstance(exc, AgentError) and not isinstance(exc, Busy | Timeout):
        return OP_FIELDS.get(exc.op)
    return None


def describe(
    exc: HostnetError,
    *,
    kind: str,
    resource: str,
    host: Mapping[str, Any],
    defaults: Mapping[str, Any],
) -> str:
    """The paragraph a user reads: resource, host, field, what was found, the remedy."""
    settings = {**defaults, **{k: v for k, v in host.items() if v is not None}}
    field = field_of(exc)
    where = f'{kind} "{resource}" on host {settings.get("name")} ({settings.get("address")})'
    what = f"{field}: {exc.detail}" if field else exc.detail
    remedy = fill(exc.remedy, {"field": field or "the input"})
    values = fill(exc.values, settings)
    return f"{where}: {what.rstrip('.')}. To fix: {remedy}" + (f" ({values})." if values else ".")


class GuardReverted(HostnetError):
    """A change that may cut the management path was not confirmed over a new SSH
    connection in time, and the host put back what it had before."""

    remedy = "fix the change so the host stays reachable over SSH, then run pulumi up again"
