"""Pulumi resources for Linux host networks, applied over SSH by hostnet."""

from pulumi_hostnet.bridge import Bridge, BridgeArgs
from pulumi_hostnet.host import Host

__all__ = ["Bridge", "BridgeArgs", "Host"]
