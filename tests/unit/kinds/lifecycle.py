"""How the kind tables reach the kinds: the registry and the lifecycle, in one place.

Everything goes through ``registry()`` and the lifecycle calls below (check,
make_id, create, read, update, delete), so a change of the registry's shape is a
change here only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from hostnet import ownership
from hostnet.agent_client import Agent
from hostnet.resources import KINDS, Kind
from tests.unit.fakehost import FakeAgent

HOST = {"name": "h1", "address": "10.32.171.202", "trust_on_first_use": True}
STACK = "proj/dev"
TOKEN = "0123456789ab"
OTHER_TOKEN = "abcdef012345"
OTHER_MARK = "hostnet:other/prod/thing#fedcba987654"
AnyAgent = Agent | FakeAgent


def _agent(agent: AnyAgent) -> Agent:
    """The kinds are typed for the real client; the fake speaks its protocol
    (call and batch, the same replies and errors)."""
    return cast(Agent, agent)


def registry() -> Mapping[str, Kind]:
    """Kind name -> kind (name, policy, check, make_id, create, read, update, delete)."""
    return KINDS


def update_fields(kind: str) -> frozenset[str]:
    return frozenset(registry()[kind].policy.update)


def checked(
    kind: str,
    fields: Mapping[str, Any],
    *,
    adopt: bool = False,
    token: str | None = TOKEN,
    resource: str | None = None,
    legacy: str | None = None,
) -> dict[str, Any]:
    """The inputs as the provider hands them to create or update: checked, the owner
    with its token (None: state from before instance ownership), once ``legacy``."""
    owner = {"stack": STACK, "resource": resource or f"my-{kind}"}
    news = {**fields, "host": HOST, "owner": owner}
    if adopt:
        news["adopt"] = True
    inputs, failures = registry()[kind].check(news)
    assert failures == [], failures
    return ownership.with_token(inputs, token=token, legacy=legacy)


def create(kind: str, agent: AnyAgent, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return dict(ownership.settled(registry()[kind].create(_agent(agent), inputs)))


def read(kind: str, agent: AnyAgent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
    return registry()[kind].read(_agent(agent), outputs)


def update(
    kind: str, agent: AnyAgent, olds: Mapping[str, Any], news: Mapping[str, Any]
) -> dict[str, Any]:
    return dict(ownership.settled(registry()[kind].update(_agent(agent), olds, news)))


def delete(kind: str, agent: AnyAgent, outputs: Mapping[str, Any]) -> None:
    registry()[kind].delete(_agent(agent), outputs)


def make_id(kind: str, inputs: Mapping[str, Any]) -> str:
    return str(registry()[kind].make_id(inputs))
