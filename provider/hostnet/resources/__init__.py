"""Resource kinds: one module each, registering itself (``_base.register``).

``KINDS`` maps a kind's name to what the provider and the SDK dispatch on:
``name``, ``policy``, ``check``, ``make_id``, ``create``, ``read``, ``update``,
``delete``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from hostnet.agent_client import Agent
from hostnet.resources import (
    bridge,
    firewall_rule,
    nat_rule,
    netns,
    netns_router,
    route,
    routing_rule,
    sysctl,
    veth,
    vxlan,
)
from hostnet.resources._base import REGISTRY, FieldPolicy
from hostnet.validate import Failure


class KindLike(Protocol):
    """What the provider and the SDK use of a kind."""

    @property
    def name(self) -> str: ...
    @property
    def policy(self) -> FieldPolicy: ...
    @property
    def check(self) -> Callable[[Mapping[str, Any]], tuple[dict[str, Any], list[Failure]]]: ...
    @property
    def make_id(self) -> Callable[[Mapping[str, Any]], str]: ...
    def create(self, agent: Agent, inputs: Mapping[str, Any]) -> dict[str, Any]: ...
    def read(self, agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None: ...
    def update(
        self, agent: Agent, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]: ...
    def delete(self, agent: Agent, outputs: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class _Legacy:
    """Transition: a kind module not yet moved to ``Kind``."""

    module: ModuleType

    @property
    def name(self) -> str:
        return str(self.module.KIND)

    @property
    def policy(self) -> FieldPolicy:
        policy: FieldPolicy = self.module.POLICY
        return policy

    @property
    def check(self) -> Callable[[Mapping[str, Any]], tuple[dict[str, Any], list[Failure]]]:
        return self.module.check  # type: ignore[no-any-return]

    @property
    def make_id(self) -> Callable[[Mapping[str, Any]], str]:
        return self.module.make_id_for  # type: ignore[no-any-return]

    def create(self, agent: Agent, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return self.module.create(agent, inputs)  # type: ignore[no-any-return]

    def read(self, agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None:
        return self.module.read(agent, outputs)  # type: ignore[no-any-return]

    def update(
        self, agent: Agent, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        return self.module.update(agent, olds, news)  # type: ignore[no-any-return]

    def delete(self, agent: Agent, outputs: Mapping[str, Any]) -> None:
        self.module.delete(agent, outputs)


_LEGACY = (bridge, veth, netns_router, route, routing_rule, nat_rule, firewall_rule, sysctl, vxlan)
KINDS: dict[str, KindLike] = {
    **REGISTRY,
    **{module.KIND: _Legacy(module) for module in _LEGACY if isinstance(module.KIND, str)},
}
assert netns.KIND.name in KINDS
