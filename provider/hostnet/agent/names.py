"""Interface names: the one rule set, used by the agent on the host and by check.

Linux refuses a name that is empty, longer than 15 bytes, "." or "..", or that
holds '/', ':' or whitespace. hostnet is stricter: letters, digits and ``. _ -
@ +`` only, so no name ever means something else to a shell, to iptables
(``!`` negates) or to iproute2 (``:`` is an address label).

Stdlib only and no annotations newer than Python 3.6: it runs on hosts too.
"""

import re

IFNAMSIZ = 16  # the kernel's buffer, NUL included: 15 bytes of name
_ALLOWED = re.compile(r"[A-Za-z0-9_.@+-]+")


def ifname_problem(value: object) -> str:
    """Why ``value`` is not a usable interface name; the empty string when it is."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    size = len(value.encode("utf-8"))
    if size >= IFNAMSIZ:
        return f"{value!r} is {size} bytes; Linux allows at most {IFNAMSIZ - 1}"
    if value in (".", ".."):
        return f"{value!r} is not a name Linux accepts"
    if ":" in value:
        return f"{value!r} holds ':'; Linux refuses it in interface names (iproute2 reads a label)"
    if not _ALLOWED.fullmatch(value):
        return f"{value!r} holds characters refused in interface names (use letters, digits, ._-@+)"
    return ""
