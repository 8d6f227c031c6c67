"""Errors hostnet raises, each with the one-line remedy a user needs.

Every message is built from host names, field names and the host's own words;
never from a private key, a passphrase or any other secret.
"""

from __future__ import annotations


class HostnetError(Exception):
    """Root of every hostnet error."""

    remedy = ""

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} ({self.remedy})" if self.remedy else text


class InvalidInput(HostnetError, ValueError):
    """A resource input is wrong; raised before any host is touched."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class TransportError(HostnetError):
    """Reaching or starting the agent on a host failed; nothing was changed."""

    never_retry = False


class Unreachable(TransportError):
    remedy = "check the address and port, that sshd runs there, and the route to it"


class AuthFailed(TransportError):
    remedy = "check the user and that its authorized_keys holds the public half of the key"
    never_retry = True


class HostKeyUnknown(TransportError):
    remedy = (
        "pin the key with host_key= or known_hosts=, or set trust_on_first_use=True "
        "if you accept any key the first time"
    )
    never_retry = True


class HostKeyMismatch(TransportError):
    remedy = (
        "the host presented a different key than the pinned one; verify the host before re-pinning"
    )
    never_retry = True


class NoSuitablePython(TransportError):
    remedy = "install python3 >= 3.9 on the host, or set python= to an interpreter that is"
    never_retry = True


class NotRoot(TransportError):
    remedy = "log in as root, or set sudo=True for a user with passwordless sudo"
    never_retry = True


class Timeout(HostnetError):
    remedy = "the host did not answer in time; raise timeout= or check the host's load"


class AgentError(HostnetError):
    """An operation failed on the host; carries the host's own message."""

    def __init__(
        self,
        *,
        host: str,
        op: str,
        kind: str,
        message: str,
        index: int | None = None,
        errno: int | None = None,
    ) -> None:
        where = f"{host}: {op}" if index is None else f"{host}: {op} (step {index + 1})"
        super().__init__(f"{where}: {kind}: {message}")
        self.host = host
        self.op = op
        self.kind = kind
        self.message = message
        self.index = index
        self.errno = errno


class NotOwned(AgentError):
    """The object exists on the host and belongs to someone else; left untouched.
    The host's message names the owner and the remedy (the adopt setting)."""


class OpTimeout(AgentError, Timeout):
    """An op ran past its request's time limit on the host."""

    remedy = Timeout.remedy


class Conflict(AgentError):
    """An object of that name exists with another kind or configuration."""

    remedy = "choose another name, or remove the existing object by hand"


class VerifyFailed(HostnetError):
    """After applying, the host does not show what was asked for."""


class GuardReverted(HostnetError):
    """A change that may cut the management path was not confirmed over a new SSH
    connection in time, and the host put back what it had before."""

    remedy = "fix the change so the host stays reachable over SSH, then run pulumi up again"
