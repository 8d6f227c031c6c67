"""One resource on lab host h2, with host settings from config: the e2e error
table runs it once per failure class and reads what ``pulumi up`` prints."""

import json

import pulumi

import pulumi_hostnet as hn

config = pulumi.Config()
settings = {
    "name": "h2",
    "address": "10.32.171.203",
    "key_file": config.require("keyFile"),
    "known_hosts": config.require("knownHosts"),
    **json.loads(config.get("host") or "{}"),
}
host = hn.Host(**settings)
if config.get("resource") == "route":
    hn.Route("fail-route", hn.RouteArgs(host=host, dst="198.18.77.0/24", via="10.99.0.1"))
else:
    hn.Bridge("fail-bridge", hn.BridgeArgs(host=host, name="hnfail0", addresses=["198.18.78.1/24"]))
