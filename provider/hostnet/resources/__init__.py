"""Resource kinds: one module each, registered here under the provider's kind name."""

from __future__ import annotations

from types import ModuleType

from hostnet.resources import (
    bridge,
    firewall_rule,
    nat_rule,
    netns,
    netns_router,
    route,
    sysctl,
    veth,
    vxlan,
)

KINDS: dict[str, ModuleType] = {
    module.KIND: module
    for module in (bridge, veth, netns_router, route, nat_rule, firewall_rule, netns, sysctl, vxlan)
}
