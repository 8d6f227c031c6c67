"""Every module of the engine's top level imports on its own, as the first hostnet
module of an interpreter: an import cycle (validate <-> resources was one) fails
here with the module's name. The import-linter layers contract (pyproject) keeps
the next one from being written. The on-host agent is left out: it imports nothing
of the controller, and the payload tests import it under every Python."""

from __future__ import annotations

import json
import subprocess
import sys

# In one interpreter: forget every hostnet module, then import one; for each module.
_PROBE = """
import importlib, json, pkgutil, sys, traceback
import hostnet
names = sorted(
    info.name
    for info in pkgutil.iter_modules(hostnet.__path__, "hostnet.")
    if info.name != "hostnet.agent"
)
failed = {}
for name in names:
    for loaded in [m for m in sys.modules if m.split(".")[0] == "hostnet"]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed[name] = traceback.format_exc(limit=-3)
print(json.dumps({"names": names, "failed": failed}))
"""


def test_every_module_imports_first() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    found = json.loads(done.stdout.splitlines()[-1])
    assert {"hostnet.validate", "hostnet.resources", "hostnet.hosts"} <= set(found["names"])
    assert found["failed"] == {}
