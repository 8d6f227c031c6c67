"""Resource kinds: one module each, registered here by type token name."""

from __future__ import annotations

from types import ModuleType

from hostnet.resources import bridge

KINDS: dict[str, ModuleType] = {
    "bridge": bridge,
}
