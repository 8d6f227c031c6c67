"""Read the stack's hosts as they are, through their agents, with read ops only.

For each host: one ``dump_all`` (links, routes, rules, sysctls of the host and of
every named namespace), a ``dump`` of each other namespace the stack refers to
(``container:NAME``, ``pid:N``), and each resource's own ``read`` (what
``pulumi refresh`` runs) to tell whether the object still matches the state.
Nothing here changes a host.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hostnet import errors, transport
from hostnet.agent_client import Agent
from hostnet.graph.model import HostView, Status
from hostnet.graph.stack import Declared
from hostnet.resources import KINDS

# Keys that are not the object's configuration: where to log in, and bookkeeping.
_NOT_COMPARED = {
    "host",
    "private_key",
    "resource_id",
    "owner",
    "adopt",
    "ifindex",
    "mac",
    "peer_ifindex",
}


def netns_refs(resources: Iterable[Declared]) -> set[str]:
    """Every namespace a resource lives in or points into."""
    refs: set[str] = set()
    for res in resources:
        out = res.outputs
        for key in ("netns", "peer_netns"):
            if out.get(key):
                refs.add(str(out[key]))
        if res.kind in ("netns_router", "netns"):
            refs.add(str(out["name"]))
    return refs


def status_of(res: Declared, observed: Mapping[str, Any] | None) -> Status:
    """ok, drift (naming the fields that differ) or missing: refresh's verdict."""
    if observed is None:
        return Status(rid=res.rid, name=res.name, state="missing")
    module = KINDS[res.kind]
    keys = (module.policy.replace | module.policy.update) - _NOT_COMPARED
    fields = tuple(
        sorted(k for k in keys if k in res.outputs and observed.get(k) != res.outputs[k])
    )
    return Status(rid=res.rid, name=res.name, state="drift" if fields else "ok", fields=fields)


def _read(agent: Agent, res: Declared) -> Status:
    try:
        observed = KINDS[res.kind].read(agent, res.outputs)
    except errors.AgentError as exc:
        return Status(rid=res.rid, name=res.name, state="missing", fields=(str(exc),))
    return status_of(res, observed)


def _dumps(agent: Agent, refs: set[str]) -> dict[str | None, Mapping[str, Any]]:
    everything = agent.call("dump_all")
    found: dict[str | None, Mapping[str, Any]] = {None: everything["host"]}
    found.update(everything["netns"])
    for ref in sorted(refs - set(found)):
        try:
            found[ref] = agent.call("dump", netns=ref)
        except errors.AgentError as exc:
            if exc.kind != "NotFound":
                raise
    return found


def read_host(
    *, name: str, address: str, conn: transport.Connection, resources: list[Declared]
) -> tuple[HostView, list[Status]]:
    """The host's dumps and the status of each of its resources; a host that
    cannot be read comes back with its error and every resource unknown."""
    try:
        agent = transport.agent_for(conn)
        namespaces = _dumps(agent, netns_refs(resources))
        statuses = [_read(agent, res) for res in resources]
    except errors.HostnetError as exc:
        unknown = [
            Status(rid=r.rid, name=r.name, state="unknown", fields=(str(exc),)) for r in resources
        ]
        return HostView(name=name, address=address, error=str(exc)), unknown
    return HostView(name=name, address=address, namespaces=namespaces), statuses


def read_hosts(
    resources: list[Declared],
    *,
    connections: Mapping[str, transport.Connection],
    addresses: Mapping[str, str],
) -> tuple[list[HostView], dict[str, Status]]:
    """Every host of the stack, read in parallel; statuses by resource id."""
    names = sorted(connections)

    def one(name: str) -> tuple[HostView, list[Status]]:
        mine = [r for r in resources if r.host == name]
        return read_host(
            name=name, address=addresses.get(name, ""), conn=connections[name], resources=mine
        )

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(names)))) as pool:
        results = list(pool.map(one, names))
    statuses = {s.rid: s for _, found in results for s in found}
    return [view for view, _ in results], statuses
