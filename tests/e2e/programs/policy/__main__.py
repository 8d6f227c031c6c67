"""A policy routing rule and the route in its table on lab host h3.

Config: ``suffix`` (appended to both logical names: a rename), ``priority`` (of
the rule: a replacement).
"""

import pulumi

import pulumi_hostnet as hn

config = pulumi.Config()
suffix = config.get("suffix") or ""
host = hn.Host(
    name="h3",
    address="10.32.171.204",
    key_file="/run/hostnet-lab/id_ed25519",
    known_hosts="/run/hostnet-lab/known_hosts",
)
rule = hn.RoutingRule(
    "from-spare" + suffix,
    hn.RoutingRuleArgs(
        host=host, priority=config.get_int("priority") or 1041, src="198.18.41.0/24", table=141
    ),
)
hn.Route(
    "table-141" + suffix,
    hn.RouteArgs(host=host, dst="default", via="10.32.171.1", table=141),
    opts=pulumi.ResourceOptions(depends_on=[rule]),
)
