"""Deleting links: one op at a time (``link_delete``), or the link deletes of
several requests at once (``delete_together``, the writer's).

The kernel deletes a veth pair in about 16 ms, most of it waiting for the
network stack to let go of the device; it waits once for every link deleted in
one go. The links of one namespace that are deleted together are first put in a
group of their own and then deleted as that group (`ip link del group N`):
100 pairs in 34 ms against 1.6 s one by one. A kernel that refuses a group
delete gets them one by one.
"""

from __future__ import annotations

import errno
import random
from typing import TYPE_CHECKING, Any

from .args import Args
from .context import Context, Net
from .errors import describe, from_exception
from .owner import parse_mark

if TYPE_CHECKING:  # hosts run Python 3.6: no subscripted builtins at run time
    # (request, the namespace's socket, ifindex) of a link found ours
    Pending = tuple[int, Net, int]
    # (result, error): what the request's one op answered
    Answer = tuple[Any, dict[str, Any] | None]

_GROUPS = random.SystemRandom()


def _find(ctx: Context, args: Args) -> dict[str, Any] | tuple[Net, int]:
    """The link to delete, or the answer when there is none to delete."""
    ifname, claim = args.ifname(), args.claim()
    ns = ctx.netns(args.ref())
    if not ns.exists():
        return {"deleted": False}
    net = ctx.net_at(ns)
    msg = net.rt.get(ifname=ifname)
    if msg is None:
        return {"deleted": False}
    if not claim.mine(parse_mark(msg.alias)):
        # Taken over by a renamed or replacement resource, or never ours: left.
        return {"deleted": False, "kept": claim.kept(msg.alias)}
    return net, msg.index


def _gone(net: Net, index: int) -> bool:
    """Delete one link; False when it was gone already."""
    try:
        net.rt.delete(index)
    except OSError as exc:
        if exc.errno == errno.ENODEV:
            return False
        raise
    return True


def link_delete(ctx: Context, args: Args) -> Any:
    found = _find(ctx, args)
    if isinstance(found, dict):
        return found
    ctx.link_index.clear()
    return {"deleted": _gone(*found)}


def delete_together(ctx: Context, requests: list[Args]) -> list[Answer]:
    """The ``link_delete`` ops of several requests of one op each: each one's
    answer (result, or error with None) as if it had run alone; the links found
    ours deleted together, a group per namespace."""
    answers: list[Answer] = []
    pending: dict[int, list[Pending]] = {}  # by namespace socket
    for number, args in enumerate(requests):
        try:
            found = _find(ctx, args)
        except Exception as exc:  # as the request alone would answer it
            answers.append((None, describe(from_exception(exc, what=args.op), index=0, op=args.op)))
            continue
        answers.append((found, None) if isinstance(found, dict) else (None, None))
        if not isinstance(found, dict):
            pending.setdefault(id(found[0]), []).append((number, found[0], found[1]))
    ctx.link_index.clear()
    for entries in pending.values():
        _delete_in_one_namespace(entries, answers)
    return answers


def _delete_in_one_namespace(entries: list[Pending], answers: list[Answer]) -> None:
    net = entries[0][1]
    indexes = [ifindex for _, _, ifindex in entries]
    try:
        deleted = _as_group(net, indexes) if len(indexes) > 1 else None
        if deleted is None:
            deleted = {i: _gone(net, i) for i in indexes}
    except Exception as exc:
        failure = describe(from_exception(exc, what="link_delete"), index=0, op="link_delete")
        for number, _, _ in entries:
            answers[number] = (None, failure)
        return
    for number, _, ifindex in entries:
        answers[number] = ({"deleted": deleted[ifindex]}, None)


def _as_group(net: Net, indexes: list[int]) -> dict[int, bool] | None:
    """Delete the links as one group; None when the kernel will not (then one by
    one). The group is one no link of the namespace has."""
    taken = {msg.group for msg in net.rt.dump()}
    group = _GROUPS.randrange(1 << 24, 1 << 31)
    while group in taken:
        group = _GROUPS.randrange(1 << 24, 1 << 31)
    present: dict[int, bool] = {}
    for index in indexes:
        try:
            net.rt.set_group(index, group)
            present[index] = True
        except OSError as exc:
            if exc.errno != errno.ENODEV:
                raise
            present[index] = False  # gone meanwhile
    try:
        net.rt.delete_group(group)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENODEV):
            raise
        return None
    return present
