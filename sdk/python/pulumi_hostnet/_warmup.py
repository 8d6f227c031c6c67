"""Every host of a run connected at once, not one after the other.

The engine runs at most --parallel steps at once, in the order the program
registered them: with the seed's hosts one after the other, the first steps are
all for the first host, and the next host's first step (which waits for its
SSH login and its agent to start, about half a second) comes only when they are
done. The provider learns every host earlier, from the checks of their
resources. Once a call of this process talks to a host (create, update,
delete, read: so never in a preview), every host it learned, and every host it
learns afterwards, is connected in the background (hostnet.transport.prewarm).

Hosts that trust the key on first use are left alone: their pinned key comes
with the call that needs them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from hostnet import transport
from hostnet.hosts import connection_from
from hostnet.transport import Connection
from hostnet.unknown import UNKNOWN

_LOCK = threading.Lock()
_SEEN: dict[Connection, None] = {}  # in the order learned
_TALKING = threading.Event()


def _connection(props: Mapping[str, Any]) -> Connection | None:
    host = props.get("host")
    if not isinstance(host, Mapping) or host.get("trust_on_first_use"):
        return None
    if any(value is UNKNOWN for value in host.values()):
        return None
    try:
        return connection_from(props)
    except (KeyError, TypeError, ValueError):
        return None


def learned(props: Mapping[str, Any]) -> None:
    """A resource of this host is in the run (its check, or its state)."""
    conn = _connection(props)
    if conn is None:
        return
    with _LOCK:
        new = conn not in _SEEN
        _SEEN[conn] = None
    if new and _TALKING.is_set():
        transport.prewarm(conn)


def talking(props: Mapping[str, Any]) -> None:
    """This call talks to its host: from now on every host learned is connected."""
    learned(props)
    if _TALKING.is_set():
        return
    _TALKING.set()
    with _LOCK:
        every = list(_SEEN)
    for conn in every:
        transport.prewarm(conn)
