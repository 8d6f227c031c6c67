"""Applying a change that may cut the management path: armed, applied, confirmed.

1. The agent arms a guard (``guard_arm``): it saves what the change touches and
   starts a detached process on the host that reverts it at the deadline.
2. The change is applied over the pooled connection; no request of it may be
   answered later than half the deadline (a cut path would hold it forever).
3. A NEW SSH connection proves the host still lets the controller in
   (transport.confirm); then ``guard_disarm`` stops the guard and the change stays.
4. Not confirmed: the host reverts by itself at the deadline. The controller
   waits for that, reconnects, collects what was reverted, and fails the
   resource with it (errors.GuardReverted).

The deadline is the Host's ``guard_timeout``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from hostnet import errors, mgmt, transport
from hostnet.agent_client import Agent, answered_by
from hostnet.transport import Connection

log = logging.getLogger("hostnet")
# 60 s, as nmstate's checkpoints: a new SSH connection costs well under a second
# on a LAN, up to a few seconds through a bastion or a loaded sshd, and a bridge
# with STP on forwards after 2 x 15 s; a host cut off for a minute is still short.
DEFAULT_TIMEOUT = 60.0
# How long after the deadline the host may take to revert and answer again.
AFTER_DEADLINE = 30.0
# Fault injection for tests: seconds to stop between applying and confirming, so
# a test can kill the controller while a change is applied and its guard armed.
PAUSE_ENV = "HOSTNET_GUARD_PAUSE"


def timeout_of(inputs: Mapping[str, Any]) -> float:
    return float(inputs.get("host", {}).get("guard_timeout") or DEFAULT_TIMEOUT)


def run(
    *,
    kind: str,
    conn: Connection,
    key: str,
    inputs: Mapping[str, Any],
    olds: Mapping[str, Any] | None,
    apply: Callable[[Agent], dict[str, Any]],
) -> dict[str, Any]:
    """``apply(agent)``, under a guard when the change may cut the management path."""
    agent = transport.agent_for(conn)
    path = agent.info.get("management") or {}
    cut = mgmt.classify(kind=kind, inputs=inputs, olds=olds, peer=path.get("peer"))
    if mgmt.only_links(cut):
        # Which links the path rides on now, as the host says (an earlier change
        # of this run may have moved it): a change that touches none of them
        # needs no guard, nor the new login that confirms one.
        path = agent.call("info").get("management") or path
        cut = mgmt.refine(cut, mgmt.path_devices(path))
    if cut is None:
        return apply(agent)
    timeout = timeout_of(inputs)
    what = mgmt.describe(inputs["host"], cut.reason, dev=path.get("dev"))
    start = time.monotonic()
    agent.call(
        "guard_arm", key=key, timeout=max(1, round(timeout)), touches=list(cut.touches),
        reason=cut.reason,
    )  # fmt: skip
    outs: dict[str, Any] = {}
    failure: errors.HostnetError | None = None
    try:
        with answered_by(start + timeout / 2):
            outs = apply(agent)
    except errors.HostnetError as exc:
        failure = exc
    pause = float(os.environ.get(PAUSE_ENV) or 0)
    if pause > 0:
        time.sleep(pause)
    problem = transport.confirm(conn, until=start + timeout - min(5.0, timeout / 4))
    if problem is not None:
        transport.forget(conn)
        time.sleep(max(0.0, start + timeout - time.monotonic()))
    state = _disarm(conn, key=key, until=start + timeout + AFTER_DEADLINE, what=what)
    if state.get("state") == "reverted":
        raise errors.GuardReverted(
            _reverted(
                key, what=what, timeout=timeout, state=state, problem=problem, failure=failure
            )
        )
    if failure is not None:
        raise failure
    log.info(
        "%s: %s; confirmed over a new SSH connection after %.1f s, guard disarmed",
        key, what, time.monotonic() - start,
    )  # fmt: skip
    return outs


def _disarm(conn: Connection, *, key: str, until: float, what: str) -> dict[str, Any]:
    """Stop the guard (or collect what it reverted), over a new connection if the
    pooled one no longer answers."""
    last: errors.HostnetError | None = None
    while time.monotonic() < until:
        try:
            with answered_by(min(until, time.monotonic() + 10.0)):
                state: dict[str, Any] = transport.agent_for(conn).call("guard_disarm", key=key)
            return state
        except (errors.TransportError, errors.Timeout) as exc:
            last = exc
            transport.forget(conn)
            time.sleep(1.0)
    raise errors.Unreachable(
        f"{key}: {what}; the host did not answer within {AFTER_DEADLINE:.0f} s after its "
        f"guard's deadline, so whether it reverted is not known ({last})"
    )


def _reverted(
    key: str,
    *,
    what: str,
    timeout: float,
    state: Mapping[str, Any],
    problem: str | None,
    failure: errors.HostnetError | None,
) -> str:
    text = (
        f"{key}: {what}; not confirmed over a new SSH connection within {timeout:.0f} s "
        f"({problem or 'confirmed too late'}), so the host reverted it: "
        + "; ".join(state.get("what") or [])
    )
    if state.get("failed"):
        text += f"; revert steps that failed: {state['failed']}"
    if failure is not None:
        text += f"; the change itself reported: {failure}"
    return text
