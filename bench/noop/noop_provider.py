"""A dynamic provider that does nothing, and its one resource kind.

Lives in an importable module beside __main__.py so Pulumi pickles the
provider by reference, as it does hostnet's: both stacks then pay the same
(un)pickling per call, and what differs is only the work the provider does.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CreateResult, ResourceProvider


class NoopProvider(ResourceProvider):
    """Creates by echoing the inputs back; deletes nothing."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(str(props["key"]), props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class Noop(pulumi.dynamic.Resource, module="bench", name="Noop"):
    """A resource with the inputs of the resource it stands for, and its key."""

    def __init__(
        self,
        resource_name: str,
        *,
        inputs: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {**inputs, "key": resource_name}
        super().__init__(NoopProvider(), resource_name, props, opts)
