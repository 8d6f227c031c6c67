"""Changes on lab host h3 (10.32.171.204, reached over ens32 from the control
namespace at 10.32.171.250) that may cut the path hostnet itself uses.

Config ``case`` picks one (``none``: only the anchor, a bridge nothing depends on):
  enslave-wrong  ens32 enslaved to a new bridge with a wrong address (path cut)
  uplink         br-ens32 takes ens32 over, addresses and routes included (path kept)
  uplink-down    the same bridge set down (path cut)
  other-nic      ens34 (no address, no route back) enslaved to a new bridge (no guard)
  route-wrong    the route to the controller into a black hole (path cut)
  route-right    the route to the controller on-link through ens32 (path kept)
  drop-ssh       INPUT DROP of tcp/22 from anywhere (path cut)
  drop-other     INPUT DROP of tcp/22 from 192.0.2.0/24 only (path kept)
``guard_timeout`` is the Host's guard_timeout.
"""

import pulumi

import pulumi_hostnet as hn

config = pulumi.Config()
case = config.get("case") or "none"
host = hn.Host(
    name="h3",
    address="10.32.171.204",
    key_file="/run/hostnet-lab/id_ed25519",
    known_hosts="/run/hostnet-lab/known_hosts",
    guard_timeout=config.get_float("guard_timeout"),
)
hn.Bridge("anchor", hn.BridgeArgs(host=host, name="hnanchor"))
if case == "enslave-wrong":
    hn.Bridge(
        "mgmt",
        hn.BridgeArgs(host=host, name="br-ens32", ports=["ens32"], addresses=["10.32.171.99/24"]),
    )
elif case in ("uplink", "uplink-down"):
    hn.Bridge(
        "mgmt", hn.BridgeArgs(host=host, name="br-ens32", uplink="ens32", up=case == "uplink")
    )
elif case == "other-nic":
    hn.Bridge("flat", hn.BridgeArgs(host=host, name="br-ens34", ports=["ens34"]))
elif case == "route-wrong":
    hn.Route("to-ctl", hn.RouteArgs(host=host, dst="10.32.171.250/32", via="10.32.171.99"))
elif case == "route-right":
    hn.Route("to-ctl", hn.RouteArgs(host=host, dst="10.32.171.250/32", dev="ens32"))
elif case in ("drop-ssh", "drop-other"):
    hn.FirewallRule(
        "no-ssh",
        hn.FirewallRuleArgs(
            host=host,
            chain="INPUT",
            protocol="tcp",
            dport=22,
            action="DROP",
            source="192.0.2.0/24" if case == "drop-other" else None,
        ),
    )
