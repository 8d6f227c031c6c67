"""``hostnet verify``: probe a stack's expected connectivity on its hosts.

The stack exports ``hostnet:claims``, in the format hostnet.claims documents:
who reaches which address and port, whether it must or must not, and how to
reach each host (the older outputs ``matrix`` and ``connections`` are read too;
README, "Verifying a stack", shows an example). Each claim is probed by the
agent on the source's host, inside the source's namespace, and the result
printed as a matrix. Exit status 1 on any mismatch; 0 when every claim holds or
the stack claims nothing; 2 when the stack exports no claims at all (nothing to
verify: most likely the wrong stack) or exports them malformed (the message
names the field).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from hostnet import claims, errors, hosts, transport
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


def connection_for(settings: Mapping[str, Any], *, name: str) -> transport.Connection:
    """A host's ``connections`` entry (its Host settings and keys; the entry's key
    names the host unless it says ``name``), checked as a resource's host is,
    then the transport's Connection."""
    keys = {k: settings.get(k) for k in hosts.SECRET_INPUTS}
    host = {"name": name, **{k: v for k, v in settings.items() if k not in hosts.SECRET_INPUTS}}
    checked, failures = hosts.check_host(host, private_key=keys["private_key"])
    if failures:
        raise errors.InvalidInput(*failures[0])
    return hosts.connection_from({"host": checked, **keys})


def probe(claim: Mapping[str, Any], connections: Mapping[str, Any]) -> Result:
    try:
        if claim["host"] not in connections:
            raise errors.InvalidInput("connections", f"has no entry for host {claim['host']!r}")
        conn = connection_for(connections[claim["host"]], name=claim["host"])
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


def sweep_claims(outputs: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Claims of earlier states the stack exports (``earlier``): those that must
    still hold, and those given up since (each with ``given_up``)."""
    earlier = claims.read(outputs).earlier
    if earlier is None:
        raise SystemExit("hostnet verify --sweep: the stack exports no `earlier` claims")
    hold = [{**c, "sweep": True} for c in earlier if not c.get("given_up")]
    return hold, [c for c in earlier if c.get("given_up")]


def run(outputs: Mapping[str, Any], *, sweep: bool = False) -> list[Result]:
    """Probe the stack's claims (and with ``sweep`` the earlier ones that still hold)."""
    found = claims.read(outputs)
    todo = list(found.claims)
    if sweep:
        todo += sweep_claims(outputs)[0]
    with ThreadPoolExecutor(max_workers=12) as pool:
        return list(pool.map(lambda c: probe(c, found.connections), todo))


def render_sweep(outputs: Mapping[str, Any], results: Sequence[Result]) -> str:
    """What the sweep added, and every claim the write-up gave up, with its fate here."""
    swept = [r for r in results if r.claim.get("sweep")]
    lines = [f"sweep: {len(swept)} claims of earlier milestones probed beyond the matrix"]
    kept = [r for r in results if r.claim.get("write_up_gave_up")]
    for r in kept:
        gave = r.claim["write_up_gave_up"]
        lines.append(
            f"given up by the write-up at milestone {gave['milestone']}, kept here "
            f"({r.status}): [milestone {r.claim['milestone']}] {r.claim['source']} -> "
            f"{_target(r.claim)}: {gave['why']}"
        )
    for c in sweep_claims(outputs)[1]:
        gave = c["given_up"]
        lines.append(
            f"given up by the write-up at milestone {gave['milestone']}: [milestone "
            f"{c['milestone']}] {c['source']} -> {_target(c)} expected {c['expect']}: {gave['why']}"
        )
    return "\n".join(lines)


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
        milestone = "" if c.get("milestone") is None else f" [milestone {c['milestone']}]"
        why = f" ({c['why']})" if c.get("why") else ""
        lines.append(
            f"FAIL{milestone} {c['source']} -> {_target(c)}: expected "
            f"{c['expect']}, {r.detail}{why}"
        )
    return "\n".join(lines)


def stack_outputs(*, stack: str | None, cwd: str | None) -> dict[str, Any]:
    return pulumi_json(
        "stack", "output", "--json", "--show-secrets", stack=stack, cwd=cwd, who="hostnet verify"
    )


def add_verify_command(subparsers: Any) -> None:
    parser = subparsers.add_parser("verify", help="probe a stack's expected connectivity")
    parser.add_argument("--stack", help=f"stack whose outputs hold {claims.OUTPUT}")
    parser.add_argument("--cwd", help="project directory (default: here)")
    parser.add_argument("--outputs", help="read stack outputs from this JSON file instead")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="also probe the claims of earlier milestones that still hold, and list "
        "those the write-up itself gave up",
    )
    parser.set_defaults(handler=_cmd_verify)


NOTHING_TO_VERIFY = 2


def _cmd_verify(args: argparse.Namespace) -> int:
    if args.outputs:
        with open(args.outputs, encoding="utf-8") as handle:
            outputs = json.load(handle)
    else:
        outputs = stack_outputs(stack=args.stack, cwd=args.cwd)
    if not claims.exported(outputs):
        # Most likely the wrong stack or program: say so instead of passing or failing.
        print(
            f"hostnet verify: the stack exports no '{claims.OUTPUT}' (its connectivity "
            f"claims), so there is nothing to verify; check --stack, or export "
            f"'{claims.OUTPUT}' as README's 'Verifying a stack' describes",
            file=sys.stderr,
        )
        return NOTHING_TO_VERIFY
    try:
        found = claims.read(outputs)
    except errors.InvalidInput as exc:
        print(f"hostnet verify: {exc}", file=sys.stderr)
        return NOTHING_TO_VERIFY
    if not found.claims:
        print("hostnet verify: the stack claims nothing; nothing to verify")
        return 0
    try:
        results = run(outputs, sweep=args.sweep)
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
        if args.sweep:
            print(render_sweep(outputs, results))
    sys.stdout.flush()
    return 1 if any(r.status == "FAIL" for r in results) else 0
