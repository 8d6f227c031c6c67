"""Every SDK class constructs under Pulumi's mocks: its provider pickles by reference,
its outputs are declared, and the private key stays a secret."""

from __future__ import annotations

import base64
from typing import Any

import dill
import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc

import pulumi_hostnet as hn
from pulumi_hostnet._provider import HostnetProvider
from pulumi_hostnet._resource import _register

REGISTERED: list[Any] = []


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        REGISTERED.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


pulumi.runtime.set_mocks(_Mocks(), preview=False)

H1 = hn.Host(name="h1", address="10.32.171.202", private_key="KEY-TEXT")


def _build() -> list[pulumi.Resource]:
    bridge = hn.Bridge("b", hn.BridgeArgs(host=H1, name="bridge0", addresses=["192.168.5.1/24"]))
    return [
        bridge,
        hn.Veth("v", hn.VethArgs(host=H1, name="t.eth0", peer_name="veth0", peer_netns="test1.1")),
        hn.Route("r", hn.RouteArgs(host=H1, dst="default", via="192.168.5.1", netns="test1.1")),
        hn.RoutingRule(
            "rr", hn.RoutingRuleArgs(host=H1, priority=1002, src="192.168.6.2", table=106)
        ),
        hn.NatRule("n", hn.NatRuleArgs(host=H1, kind="masquerade", source="192.168.5.0/24")),
        hn.FirewallRule("f", hn.FirewallRuleArgs(host=H1, in_interface="bridge0")),
        hn.Netns("ns", hn.NetnsArgs(host=H1, name="blue")),
        hn.Sysctl("s", hn.SysctlArgs(host=H1, key="net.ipv4.ip_forward", value=1)),
        hn.Vxlan("vx", hn.VxlanArgs(host=H1, name="vx0", vni=42, remotes=["10.32.171.203"])),
        hn.NetnsRouter(
            "rt",
            hn.NetnsRouterArgs(
                host=H1,
                name="testrt3",
                interfaces=[
                    hn.RouterInterface(
                        name="testrt3.eth1", inside_name="veth1", address="192.168.7.100/24"
                    )
                ],
            ),
        ),
    ]


@pulumi.runtime.test
def test_every_class_registers_with_its_type_token_and_provider() -> Any:
    resources = _build()

    def verify(_: Any) -> None:
        tokens = sorted(args.typ for args in REGISTERED)
        assert tokens == sorted(
            f"pulumi-python:dynamic/hostnet:{kind}"
            for kind in (
                "Bridge",
                "Veth",
                "Route",
                "RoutingRule",
                "NatRule",
                "FirewallRule",
                "Netns",
                "Sysctl",
                "NetnsRouter",
                "Vxlan",
            )
        )
        for args in REGISTERED:
            pickled = rpc.unwrap_rpc_secret(args.inputs["__provider"])
            provider = dill.loads(base64.b64decode(pickled))
            # By reference: the provider host imports the installed module.
            assert len(pickled) < 400, "provider pickled by value"
            assert type(provider).__module__ == "pulumi_hostnet._provider"
            assert "KEY-TEXT" not in base64.b64decode(pickled).decode("latin-1")
            assert rpc.is_rpc_secret(args.inputs["private_key"])

    return pulumi.Output.all(*[r.urn for r in resources]).apply(verify)


@pytest.mark.parametrize(
    "kind",
    ["bridge", "veth", "router", "route", "rule", "nat", "firewall", "netns", "sysctl", "vxlan"],
)
def test_provider_is_deterministic(kind: str) -> None:
    assert dill.dumps(HostnetProvider(kind)) == dill.dumps(HostnetProvider(kind))


@pulumi.runtime.test
def test_every_resource_carries_its_owner_and_adopt() -> Any:
    bridge = hn.Bridge("owned", hn.BridgeArgs(host=H1, name="br9"), adopt=True)

    def verify(_: Any) -> None:
        [args] = [a for a in REGISTERED if a.name == "owned"]
        stack = f"{pulumi.get_project()}/{pulumi.get_stack()}"
        assert args.inputs["owner"] == {"stack": stack, "resource": "owned"}
        assert args.inputs["adopt"] is True

    return bridge.urn.apply(verify)


def test_import_is_refused_with_the_way_to_adopt() -> None:
    with pytest.raises(ValueError, match=r"cannot be imported.*adopt=True"):
        hn.Bridge(
            "imported",
            hn.BridgeArgs(host=H1, name="br8"),
            opts=pulumi.ResourceOptions(import_="h1/bridge/br8"),
        )


def test_one_object_declared_twice_is_refused() -> None:
    props = {
        "host": {"name": "h1", "address": "10.32.171.202", "trust_on_first_use": True},
        "name": "br7",
    }
    _register("bridge", "first", props)
    _register("bridge", "first", props)  # the same resource again (a second preview pass)
    with pytest.raises(ValueError, match=r"second: h1/bridge/br7 is already declared by .*first"):
        _register("bridge", "second", props)


@pulumi.runtime.test
def test_a_resource_pickles_its_provider_after_thousands_of_others() -> Any:
    # Pulumi's serialize_provider leaves one more wrapper of pickle's _batch_setitems
    # behind at every call; 1,500 of them are deeper than the recursion limit. (It is
    # given a number here, which pickles without a dict, so these calls themselves pass.)
    for _ in range(1500):
        serialize_provider(0)
    many = hn.Route("after-many", hn.RouteArgs(host=H1, dst="198.51.100.0/24", via="192.168.5.1"))
    return many.id.apply(lambda id_: assert_equal(id_, "after-many-id"))


def assert_equal(value: Any, expected: Any) -> None:
    assert value == expected
