"""The stand-in Pulumi language host (tools/pulumi_language_python.py), loaded as a module
by the unit tests of its functions and the integration tests that run it for real."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = REPO / "tools" / "pulumi-language-python"
PULUMI_BIN = REPO / ".tools" / "pulumi" / "bin"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "pulumi_language_python", REPO / "tools" / "pulumi_language_python.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lh = _load()


def fake_distribution(
    site: Path, name: str, version: str, plugin: dict[str, object] | None
) -> None:
    """An installed distribution as pip sees it: a dist-info and its module."""
    module = name.replace("-", "_")
    info = site / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text("")
    (site / module).mkdir()
    (site / module / "__init__.py").write_text("")
    if plugin is not None:
        (site / module / "pulumi-plugin.json").write_text(json.dumps(plugin))
