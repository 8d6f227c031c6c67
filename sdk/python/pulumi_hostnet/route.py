"""Route: a route on a host or inside a namespace."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi.dynamic

from hostnet.resources import route
from pulumi_hostnet._resource import HostnetResource
from pulumi_hostnet.host import Host


@dataclass(frozen=True, kw_only=True)
class RouteArgs:
    """Inputs of a Route.

    Attributes:
        host: The host. Changing its name replaces the route.
        dst: ``default`` or a network (``10.32.171.0/24``); a bare address is a /32.
            Replaces on change.
        via: Gateway address; must lie in a network connected in that namespace.
        dev: Outgoing interface.
        src: Preferred source address.
        metric: Route metric (priority). Replaces on change.
        table: Routing table number; main (254) when unset. Replaces on change.
        onlink: Treat the gateway as on-link even without a connected route.
        netns: Namespace of the route (name, ``pid:N``, path, ``container:NAME``);
            the host's own when unset. Replaces on change.
    """

    host: Host
    dst: pulumi.Input[str]
    via: pulumi.Input[str] | None = None
    dev: pulumi.Input[str] | None = None
    src: pulumi.Input[str] | None = None
    metric: pulumi.Input[int] | None = None
    table: pulumi.Input[int] | None = None
    onlink: bool | None = None
    netns: pulumi.Input[str] | None = None


class Route(HostnetResource, module="hostnet", name="Route"):
    """A route, marked as hostnet's by its protocol (77); foreign routes are left alone."""

    kind_name = route.NAME

    resource_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: RouteArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        adopt: bool = False,
    ) -> None:
        super().__init__(resource_name, args, opts, adopt=adopt)
