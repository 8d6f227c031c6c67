"""Resource kinds: one module each, registering itself (``KIND = register(Kind(...))``).

``KINDS`` maps a kind's name, or a name it had before, to its ``Kind``: what the
provider and the SDK dispatch on (``name``, ``policy``, ``check``, ``make_id``,
``create``, ``read``, ``update``, ``delete``). The names here are what the SDK and
the tools outside the engine use; ``_base`` is the kinds' own.
"""

from __future__ import annotations

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
from hostnet.resources._base import REGISTRY, Diff, FieldPolicy, Kind, Plan, Registry, Step, diff

__all__ = ["KINDS", "MODULES", "Diff", "FieldPolicy", "Kind", "Plan", "Registry", "Step", "diff"]

# Each module registers its kind on import; a kind's name is its module's name.
MODULES = (
    bridge,
    veth,
    netns,
    netns_router,
    vxlan,
    route,
    routing_rule,
    nat_rule,
    firewall_rule,
    sysctl,
)
KINDS: Registry = REGISTRY
