"""Values Pulumi does not know yet (during preview), as the engine sees them.

The SDK adapter turns Pulumi's own unknowns into ``UNKNOWN`` and back, so the
engine imports no Pulumi. An unknown is never checked, never rewritten and
never turned into text: it passes through check as it came.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class _Unknown:
    """The one unknown value; its text is never meant to reach a host or a user."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown until applied>"


UNKNOWN: Any = _Unknown()


def is_unknown(value: object) -> bool:
    """True when the value, or anything inside it, is not known yet."""
    return holds(value, lambda item: item is UNKNOWN)


def holds(value: object, test: Callable[[object], bool]) -> bool:
    """True when ``test`` holds for the value or for anything inside its mappings,
    lists and tuples."""
    if test(value):
        return True
    if isinstance(value, Mapping):
        return any(holds(v, test) for v in value.values())
    if isinstance(value, list | tuple):
        return any(holds(v, test) for v in value)
    return False
