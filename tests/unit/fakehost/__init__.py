"""A fake host for unit tests: hostnet's agent protocol over an in-memory Linux host.

``FakeAgent(Host())`` stands where hostnet.agent_client.Agent stands; every
resource kind's lifecycle runs on it without root, SSH or a kernel.
"""

from .agent import FakeAgent, Sent
from .model import OWN, Host, Link, Netns, Route

__all__ = ["OWN", "FakeAgent", "Host", "Link", "Netns", "Route", "Sent"]
