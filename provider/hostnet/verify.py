"""``hostnet verify``: probe a stack's expected connectivity on its hosts.

The stack exports ``matrix`` (claims: who reaches which address and port, and
whether it must or must not) and ``connections`` (how to reach each host). Each
claim is probed by the agent on the source's host, inside the source's
namespace, and the result printed as a matrix. Exit status 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from hostnet import errors, transport
from hostnet.hosts import connection_from
from hostnet.stackjson import pulumi_json

PROBE_TIMEOUT = 2.0


@dataclass(frozen=True, kw_only=True)
class Result:
    claim: Mapping[str, Any]
    reached: bool
    detail: str

    @property
    def status(self) -> str:
        expect_ok = self.claim["expect"] == "ok"
        if expect_ok and self.reached:
            return "OK"
        if not expect_ok and not self.reached:
            return "expected-blocked"
        return "FAIL"


def _reached(claim: Mapping[str, Any], answer: Mapping[str, Any]) -> tuple[bool, str]:
    banner = (answer.get("banner") or "").strip()
    if not answer.get("ok"):
        return False, str(answer.get("detail") or "no answer")
    if claim.get("banner"):
        # The far end reports the source address it saw: proves (or disproves) NAT.
        return banner == claim["banner"], f"seen as {banner or '?'}"
    if claim.get("port") == 22:
        return banner.startswith("SSH-"), banner or "no ssh banner"
    return True, str(answer.get("detail") or "ok")


def probe(claim: Mapping[str, Any], connections: Mapping[str, Any]) -> Result:
    try:
        settings = connections[claim["host"]]
        conn = connection_from({"host": settings, "private_key": settings.get("private_key")})
        agent = transport.agent_for(conn)
        answer = agent.call(
            "probe",
            netns=claim.get("netns"),
            kind=claim["kind"],
            address=claim["address"],
            port=claim.get("port"),
            size=claim.get("size"),
            timeout=PROBE_TIMEOUT,
        )
    except errors.HostnetError as exc:
        return Result(claim=claim, reached=False, detail=f"probe failed: {exc}")
    reached, detail = _reached(claim, answer)
    return Result(claim=claim, reached=reached, detail=detail)


def run(outputs: Mapping[str, Any]) -> list[Result]:
    claims = list(outputs.get("matrix") or [])
    connections = outputs.get("connections") or {}
    with ThreadPoolExecutor(max_workers=12) as pool:
        return list(pool.map(lambda c: probe(c, connections), claims))


def _target(claim: Mapping[str, Any]) -> str:
    port, size = claim.get("port"), claim.get("size")
    if port:
        return f"{claim['address']}:{port}"
    return f"{claim['address']} ping" + (f" {size}B" if size is not None else "")


def render(results: Sequence[Result]) -> str:
    """Sources down, destinations across; every failure listed with its reason."""
    sources = sorted({r.claim["source"] for r in results})
    targets = sorted({_target(r.claim) for r in results}, key=lambda t: (t.split()[0], t))
    cells = {(r.claim["source"], _target(r.claim)): r.status for r in results}
    short = {"OK": "OK", "expected-blocked": "blocked", "FAIL": "FAIL"}
    width = max(len(t) for t in targets) if targets else 10
    lines = ["destination".ljust(width) + "  " + "  ".join(s.ljust(8) for s in sources)]
    for target in targets:
        row = [short.get(cells.get((s, target), ""), "-").ljust(8) for s in sources]
        lines.append(target.ljust(width) + "  " + "  ".join(row))
    failed = [r for r in results if r.status == "FAIL"]
    counts = {s: sum(r.status == s for r in results) for s in ("OK", "expected-blocked", "FAIL")}
    lines.append(
        f"\n{counts['OK']} reached as claimed, {counts['expected-blocked']} blocked as claimed, "
        f"{counts['FAIL']} FAIL"
    )
    for r in failed:
        c = r.claim
        lines.append(
            f"FAIL [milestone {c['milestone']}] {c['source']} -> {_target(c)}: expected "
            f"{c['expect']}, {r.detail} ({c['why']})"
        )
    return "\n".join(lines)


def stack_outputs(*, stack: str | None, cwd: str | None) -> dict[str, Any]:
    return pulumi_json(
        "stack", "output", "--json", "--show-secrets", stack=stack, cwd=cwd, who="hostnet verify"
    )


def add_verify_command(subparsers: Any) -> None:
    parser = subparsers.add_parser("verify", help="probe a stack's expected connectivity")
    parser.add_argument("--stack", help="stack whose outputs hold the matrix")
    parser.add_argument("--cwd", help="project directory (default: here)")
    parser.add_argument("--outputs", help="read stack outputs from this JSON file instead")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.set_defaults(handler=_cmd_verify)


def _cmd_verify(args: argparse.Namespace) -> int:
    if args.outputs:
        with open(args.outputs, encoding="utf-8") as handle:
            outputs = json.load(handle)
    else:
        outputs = stack_outputs(stack=args.stack, cwd=args.cwd)
    try:
        results = run(outputs)
    finally:
        transport.close_all()
    if args.json:
        print(
            json.dumps(
                [{**r.claim, "status": r.status, "detail": r.detail} for r in results], indent=1
            )
        )
    else:
        print(render(results))
    sys.stdout.flush()
    return 1 if any(r.status == "FAIL" for r in results) or not results else 0
