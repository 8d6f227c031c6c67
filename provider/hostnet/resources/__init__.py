"""Resource kinds: one module each, registering itself
(``KIND = register(Kind.of(sys.modules[__name__]))``).

``KINDS`` maps a kind's name, or a name it had before, to its ``Kind``: what the
provider and the SDK dispatch on (``name``, ``policy``, ``check``, ``make_id``,
``create``, ``read``, ``update``, ``delete``). The names here are what the SDK and
the tools outside the engine use; ``_base`` is the kinds' own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from hostnet.agent_client import Agent
from hostnet.protocol import Op
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
from hostnet.resources._base import (
    REGISTRY,
    Diff,
    FieldPolicy,
    Kind,
    Plan,
    Registry,
    Spec,
    Step,
    diff,
)
from hostnet.validate import Failure

__all__ = ["KINDS", "Diff", "FieldPolicy", "Kind", "Plan", "Registry", "Step", "diff"]


class _Declared(Protocol):
    NAME: str
    POLICY: FieldPolicy
    WHAT: str

    def check(self, news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]: ...
    def make_id_for(self, inputs: Mapping[str, Any]) -> str: ...


class KindModule(_Declared, Protocol):
    """What ``Kind.of`` reads from a kind module; mypy checks every module here."""

    def observe(self, agent: Agent, spec: Spec) -> Any: ...
    def plan(self, spec: Spec, observed: Any, olds: Spec) -> Plan: ...
    def read(self, agent: Agent, outputs: Mapping[str, Any]) -> dict[str, Any] | None: ...
    def retire(self, spec: Spec) -> list[Op]: ...


class RuleKindModule(_Declared, Protocol):
    """An iptables kind: the shared lifecycle of ``_iptables.rule_kind`` around
    where its rule goes and how its inputs become tokens."""

    def placement(self, inputs: Mapping[str, Any]) -> Any: ...
    def render(self, inputs: Mapping[str, Any]) -> list[str]: ...


# Each module registers its kind on import (a kind's name is its module's name);
# these lines make mypy check every module against what ``Kind.of`` reads.
_DECLARED: tuple[KindModule, ...] = (
    bridge,
    veth,
    netns,
    netns_router,
    vxlan,
    route,
    routing_rule,
    sysctl,
)
_DECLARED_RULES: tuple[RuleKindModule, ...] = (nat_rule, firewall_rule)
KINDS: Registry = REGISTRY
