"""RoutingRule ownership on kernels that keep no protocol on rules (before 4.17).

The agent runs as a local process in a scratch namespace under `setarch
--uname-2.6`, so it sees a kernel release older than 4.17 and marks its rules
with a priority band and a record instead of the protocol. The real kernel
underneath still stores the rules; they carry no protocol 77 here, as on an old
kernel. Needs root; never skips.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.lab
PROVIDER = Path(__file__).resolve().parents[2] / "provider"
OWNER = {"stack": "seed/lab", "resource": "rule", "token": "000000000001"}


def _sh(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{argv} -> {done.returncode}: {done.stderr}"
    return done.stdout


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if os.geteuid() != 0 or shutil.which("setarch") is None:
        pytest.fail("needs root and setarch (util-linux)", pytrace=False)
    ns = f"hn-rule-{secrets.token_hex(3)}"
    _sh("ip", "netns", "add", ns)
    try:
        yield ns, tmp_path / "run"
    finally:
        _sh("ip", "netns", "del", ns)


def _agent(ns: str, run_dir: Path, ops: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One agent under an old kernel release; one request per op, replies in order."""
    env = dict(os.environ, HOSTNET_RUN_DIR=str(run_dir), PYTHONPATH=str(PROVIDER))
    argv = ["nsenter", f"--net=/run/netns/{ns}", "setarch", "--uname-2.6"]
    argv += [sys.executable, "-m", "hostnet.agent"]
    replies = []
    with subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["kernel"].startswith("2.6."), ready
        for i, (op, args) in enumerate(ops):
            # Reads name no owner; changes do.
            sent = args if op == "rule_read" else {**args, "owner": OWNER}
            request = {"id": i, "ops": [{"op": op, "args": sent}]}
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
            replies.append(json.loads(proc.stdout.readline()))
        proc.stdin.close()
    return replies


def _rules(ns: str) -> list[str]:
    return [line.strip() for line in _sh("ip", "-n", ns, "rule", "show").splitlines()]


def test_rules_are_kept_in_a_band_and_recorded(scratch: tuple[str, Path]) -> None:
    ns, run_dir = scratch
    rule = {"priority": 1500, "src": "198.18.0.0/24", "action": "table", "table": 150}
    before = _rules(ns)
    # A foreign rule in the band, and one like hostnet's at another priority.
    _sh("ip", "-n", ns, "rule", "add", "priority", "1501", "from", "198.18.0.0/24", "lookup", "150")
    replies = _agent(
        ns,
        run_dir,
        [
            ("rule_ensure", {**rule, "priority": 30000}),
            ("rule_ensure", rule),
            ("rule_ensure", rule),
            ("rule_read", {"priority": 1501, "family": 4}),
            ("rule_delete", {"priority": 1501, "family": 4}),
        ],
    )
    outside, made, again, foreign, untouched = replies
    assert not outside["ok"] and "priorities 1000-1999" in outside["error"]["message"]
    assert made["ok"] and made["results"][0]["protocol"] != 77, made
    assert made["results"][0].pop("created") is True
    assert again["ok"] and again["results"][0].pop("created") is False
    assert again["results"] == made["results"]
    assert made["results"][0]["owner"] == OWNER
    assert foreign["ok"] and foreign["results"] == [None]
    assert untouched["ok"] and untouched["results"] == [{"deleted": False}]
    assert "1500:\tfrom 198.18.0.0/24 lookup 150" in _rules(ns)
    records = list((run_dir / "rules").glob("*/4-1500"))
    assert len(records) == 1 and json.loads(records[0].read_text())["rule"]["table"] == 150

    # Changed by hand: no longer matches its record, so no longer hostnet's.
    _sh("ip", "-n", ns, "rule", "del", "priority", "1500")
    _sh("ip", "-n", ns, "rule", "add", "priority", "1500", "from", "198.18.0.0/24", "lookup", "9")
    gone, kept = _agent(
        ns,
        run_dir,
        [("rule_read", {"priority": 1500, "family": 4}), ("rule_delete", {"priority": 1500})],
    )
    assert gone["results"] == [None] and kept["results"] == [{"deleted": False}]
    assert "1500:\tfrom 198.18.0.0/24 lookup 9" in _rules(ns)
    _sh("ip", "-n", ns, "rule", "del", "priority", "1500")

    # Made by hostnet again, then deleted: the record goes with it.
    made, deleted = _agent(
        ns, run_dir, [("rule_ensure", rule), ("rule_delete", {"priority": 1500})]
    )
    assert made["ok"] and deleted["results"] == [{"deleted": True}]
    assert not list((run_dir / "rules").glob("*/4-1500"))
    _sh("ip", "-n", ns, "rule", "del", "priority", "1501")
    assert _rules(ns) == before
