"""A program's final wait (Pulumi SDK's wait_for_rpcs) with hostnet's resources:
it must go by the register RPCs, one await each, not by re-waiting on every
pending Output whenever one resolves (a cost that grows with the stack's size
squared). Pulumi's own wait_for_rpcs runs here on a real event loop, with
Outputs and RPCs made the way register_resource makes them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings
from pulumi.runtime.rpc_manager import RPCManager
from pulumi.runtime.stack import wait_for_rpcs

from pulumi_hostnet import _resource

RESOURCES, OUTPUTS_EACH = 200, 10


def _program(nudge: bool) -> Callable[[], Coroutine[Any, Any, None]]:
    """Resources whose registrations finish one after another, each resolving
    its Outputs, declared at module level as a program does (nothing has run
    when the final wait starts)."""

    async def run() -> None:
        manager = settings._get_rpc_manager()
        previous: asyncio.Future[None] | None = None
        registrations = []
        for _ in range(RESOURCES):
            if nudge:
                _resource._wait_by_rpcs()
            values = [asyncio.get_running_loop().create_future() for _ in range(OUTPUTS_EACH)]
            for value in values:
                known: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
                known.set_result(True)
                pulumi.Output(set(), value, known)
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            async def register(
                after: asyncio.Future[None] | None = previous,
                values: list[asyncio.Future[Any]] = values,
                done: asyncio.Future[None] = done,
            ) -> None:
                if after is not None:
                    await after
                await asyncio.sleep(0)
                for value in values:
                    value.set_result("x")
                done.set_result(None)

            registrations.append(
                asyncio.ensure_future(manager.do_rpc("register resource", register)())
            )
            previous = done
        await wait_for_rpcs()

    return run


def _waits(monkeypatch: pytest.MonkeyPatch, *, nudge: bool) -> int:
    """How many times the final wait called asyncio.wait over pending Outputs."""
    calls = 0
    real = asyncio.wait

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)

    # A fresh RPC list and Output set of the SDK's own kinds; the rest of its
    # settings (another test's mocks) stay as they are.
    monkeypatch.setattr(settings.SETTINGS, "rpc_manager", RPCManager())
    monkeypatch.setattr(settings.SETTINGS, "outputs", set())
    monkeypatch.setattr(asyncio, "wait", counting)
    # A loop of its own, never made the thread's current one: asyncio.run would
    # leave none behind for the tests whose mocks hold on to it.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_program(nudge)())
    finally:
        loop.close()
        monkeypatch.undo()
    return calls


def test_the_final_wait_goes_by_the_rpcs_not_by_every_pending_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _waits(monkeypatch, nudge=True) <= 2


def test_without_it_the_sdk_waits_on_the_pending_outputs_again_and_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What the first test guards against, shown on the same SDK: if this stops
    # holding, the SDK has changed and _wait_by_rpcs may no longer be needed.
    assert _waits(monkeypatch, nudge=False) >= RESOURCES // 2
