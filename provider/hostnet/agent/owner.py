"""Who owns an object on a host, and the one rule for claiming it.

Every object hostnet makes carries a mark naming the resource instance that owns
it: ``hostnet:<project>/<stack>/<resource>#<token>`` (each name percent-encoded;
the token is made when the resource is created and kept in the stack's state).
The mark is a link's alias, the alias of a namespace's ``lo``, a rule's comment,
or the ``owner`` of a record under the run dir (routes, sysctls).

Marks written before instance ownership were the object's id
(``hostnet:h1/bridge/bridge0``); they parse as a plain ``id`` and are claimed
only by a request that names that id as its ``legacy`` one, which is how a stack
made then moves to instance marks on its next update.

The claim rule for an ensure op, given the mark found on the object:
- this instance's (same token, or the legacy id): ours; the mark is rewritten if
  the names in it changed;
- another instance of the same stack (a renamed or replaced resource, or a run
  that died after creating it): taken over, so the object never goes away; the
  old instance's delete then finds nothing of its own;
- anything else (another stack, a plain mark, no mark): NotOwned naming the
  owner, unless the request says ``adopt``.
A delete removes only what this instance owns and reports what it left.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from .errors import Invalid, NotOwned

MARK_PREFIX = "hostnet:"
_TOKEN = re.compile(r"^[0-9a-f]{12}$")
_INSTANCE = re.compile(r"^([^/#]+)/([^/#]+)/([^/#]+)#([0-9a-f]{12})$")
# Encoded bytes kept of each name: the token is what identifies, and a rule's
# comment (mark and " prio=N") must fit iptables' 255.
_MAX_NAME = 72
_MAX_PLAIN = 200
_FORBIDDEN = set('"\\\n\r\t\0')
FOREIGN = "another owner (it is not marked as hostnet's)"
ADOPT_REMEDY = "set adopt=True on the resource to take it over (destroy then deletes it)"


def _enc(text: str) -> str:
    encoded = urllib.parse.quote(text, safe="-._~")[:_MAX_NAME]
    cut = encoded.rfind("%", len(encoded) - 2)
    return encoded[:cut] if cut >= 0 else encoded  # no half escape


@dataclass(frozen=True)
class Owner:
    """A resource instance (stack, resource, token), or a plain mark text (id)."""

    token: str | None = None
    stack: str | None = None
    resource: str | None = None
    id: str | None = None

    def body(self) -> str:
        if self.token is None:
            return self.id or ""
        project, _, stack = (self.stack or "").partition("/")
        return f"{_enc(project)}/{_enc(stack)}/{_enc(self.resource or '')}#{self.token}"

    def mark(self) -> str:
        return MARK_PREFIX + self.body()

    def as_dict(self) -> dict[str, Any]:
        if self.token is None:
            return {"id": self.id}
        return {"stack": self.stack, "resource": self.resource, "token": self.token}

    def describe(self) -> str:
        if self.token is None:
            return f"hostnet mark {self.id!r} (no stack recorded: made before instance ownership)"
        return f"stack {self.stack!r}, resource {self.resource!r}"


def parse_mark(text: str | None) -> Owner | None:
    """The owner a mark names; None when the text is not a hostnet mark."""
    if not text or not text.startswith(MARK_PREFIX):
        return None
    body = text[len(MARK_PREFIX) :]
    found = _INSTANCE.match(body)
    if found is None:
        return Owner(id=body)
    project, stack, resource, token = (urllib.parse.unquote(g) for g in found.groups())
    return Owner(token=token, stack=f"{project}/{stack}", resource=resource)


def owner_view(text: str | None) -> dict[str, Any] | None:
    """What read ops report as ``owner``: the parsed mark, None when not hostnet's."""
    owner = parse_mark(text)
    return None if owner is None else owner.as_dict()


def from_arg(op: str, value: Any) -> Owner:
    """An op's ``owner``: a dict {stack, resource, token}, or a plain mark text."""
    if isinstance(value, str):
        if not value or len(value.encode()) > _MAX_PLAIN or _FORBIDDEN & set(value):
            raise Invalid(f"{op}: argument 'owner' must be 1..{_MAX_PLAIN} bytes, no quotes")
        return Owner(id=value)
    if isinstance(value, dict):
        token, stack, resource = (value.get(k) for k in ("token", "stack", "resource"))
        if (
            isinstance(token, str)
            and _TOKEN.match(token)
            and isinstance(stack, str)
            and stack.count("/") == 1
            and isinstance(resource, str)
            and resource
        ):
            return Owner(token=token, stack=stack, resource=resource)
    raise Invalid(f"{op}: argument 'owner' must be a mark text or {{stack, resource, token}}")


@dataclass(frozen=True)
class Claim:
    """Who asks, and what else it may take: its legacy id, or anything (adopt)."""

    me: Owner
    legacy: str | None = None
    adopt: bool = False

    def mine(self, found: Owner | None) -> bool:
        if found is None:
            return False
        if self.legacy is not None and found.token is None and found.id == self.legacy:
            return True
        return found.token == self.me.token and found.id == self.me.id

    def same_resource(self, found: Owner | None) -> bool:
        """This instance, or another instance of the same resource (a replacement)."""
        return self.mine(found) or (
            found is not None
            and found.token is not None
            and (found.stack, found.resource) == (self.me.stack, self.me.resource)
        )

    def takes_over(self, found: Owner | None) -> bool:
        """This instance, or another instance of the same stack (a replacement, a
        renamed resource): what the claim rule takes without ``adopt``."""
        return self.mine(found) or (
            self.me.token is not None and found is not None and found.stack == self.me.stack
        )

    def check(self, found_mark: str | None, *, what: str) -> bool:
        """Apply the claim rule; True when the object's mark must be (re)written."""
        found = parse_mark(found_mark)
        if self.mine(found):
            return found_mark != self.me.mark()
        if self.takes_over(found) or self.adopt:
            return True
        owner = found.describe() if found else FOREIGN
        raise NotOwned(f"{what} exists and belongs to {owner}; {ADOPT_REMEDY}")

    def kept(self, found_mark: str | None) -> str:
        """Why a delete left the object: whose it is now."""
        found = parse_mark(found_mark)
        if found is None:
            return FOREIGN
        if found.token is not None and (found.stack, found.resource) == (
            self.me.stack,
            self.me.resource,
        ):
            return f"its replacement (another instance of {found.describe()})"
        return found.describe()
