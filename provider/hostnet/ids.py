"""Resource ids: readable, stable paths ``<host>/<kind>/<name>[/<more>]``.

A namespace, when there is one, comes right after the kind as ``ns:<ref>``, e.g.
``h1/route/ns:test1.1/10.32.171.0/24``. Ids are built and parsed only here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ResourceId:
    host: str
    kind: str
    name: str
    netns: str | None = None

    def __str__(self) -> str:
        parts = [self.host, self.kind]
        if self.netns:
            parts.append("ns:" + self.netns.replace("%", "%25").replace("/", "%2F"))
        parts.append(self.name)
        return "/".join(parts)


def make_id(*, host: str, kind: str, name: str, netns: str | None = None) -> str:
    return str(ResourceId(host=host, kind=kind, name=name, netns=netns))


def parse_id(text: str) -> ResourceId:
    """Inverse of make_id; raises ValueError for anything else."""
    host, sep, rest = text.partition("/")
    kind, sep2, rest = rest.partition("/")
    if not (host and sep and kind and sep2 and rest):
        raise ValueError(f"not a hostnet id: {text!r}")
    netns = None
    if rest.startswith("ns:"):
        ref, sep3, rest = rest[3:].partition("/")
        if not (ref and sep3 and rest):
            raise ValueError(f"not a hostnet id: {text!r}")
        # Path references (/proc/1/ns/net) are escaped so the id stays one path.
        netns = ref.replace("%2F", "/").replace("%25", "%")
    return ResourceId(host=host, kind=kind, name=rest, netns=netns)
