"""Errors an op raises; each becomes the ``error`` object of a response."""

from __future__ import annotations

import errno as _errno
import os
from typing import Any


class AgentError(Exception):
    """Base: ``kind`` is the protocol's error type, ``errno`` the host's errno if any."""

    kind = "Failed"

    def __init__(self, message: str, *, errno: int | None = None) -> None:
        super().__init__(message)
        self.message = " ".join(message.split()) or self.kind
        self.errno = errno


class Invalid(AgentError):
    kind = "Invalid"


class NotFound(AgentError):
    kind = "NotFound"


class Exists(AgentError):
    kind = "Exists"


class NotOwned(AgentError):
    kind = "NotOwned"


class Timeout(AgentError):
    kind = "Timeout"


class Busy(AgentError):
    kind = "Busy"


class Failed(AgentError):
    kind = "Failed"


def netlink_code(exc: BaseException) -> int | None:
    """The errno of a pyroute2 NetlinkError (or OSError), else None."""
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    if isinstance(exc, OSError) and isinstance(exc.errno, int):
        return exc.errno
    return None


def from_exception(exc: BaseException, *, what: str) -> AgentError:
    """Wrap an unexpected exception; keeps the host's errno and wording."""
    if isinstance(exc, AgentError):
        return exc
    code = netlink_code(exc)
    if code is not None:
        said = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], str) else ""
        text = said or os.strerror(code)
        if code in (_errno.EPERM, _errno.EACCES):
            return Failed(f"{what}: {text} (is the agent root?)", errno=code)
        return Failed(f"{what}: {text}", errno=code)
    return Failed(f"{what}: {type(exc).__name__}: {exc}")


def describe(exc: AgentError, *, index: int | None, op: str | None) -> dict[str, Any]:
    """The ``error`` object of a response."""
    return {
        "index": index,
        "op": op,
        "type": exc.kind,
        "message": exc.message,
        "errno": exc.errno,
    }
