#!/usr/bin/env bash
# The test part of `make test`: unit tests, then lab and e2e tests inside the lab's
# control namespace, then the lab's own lifecycle tests. Prints one closing line
# with the totals; fails on any failure, error, skip, or a suite that found no tests.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/pulumi-env.sh

PY=.venv/bin/python
reports=$(mktemp -d)
status=0
keep_lab=${HOSTNET_KEEP_LAB:-}

suite() {  # suite NAME [--in-lab] PYTEST-ARGS...
    local name=$1; shift
    local prefix=()
    if [ "${1:-}" = --in-lab ]; then prefix=(.venv/bin/hostnet lab exec --); shift; fi
    echo "== $name"
    local start=$SECONDS
    "${prefix[@]}" "$PY" -m pytest -p no:cacheprovider -q --junitxml="$reports/$name.xml" "$@"
    local rc=$?
    echo "== $name: exit $rc in $((SECONDS - start)) s"
    if [ $rc -eq 5 ]; then echo "!! $name collected no tests"; fi
    [ $rc -eq 0 ] || status=1
}

teardown() {
    if [ -z "$keep_lab" ]; then .venv/bin/hostnet lab down >/dev/null 2>&1 || true; fi
}
trap teardown EXIT

suite unit tests/unit
if .venv/bin/hostnet lab up; then
    suite lab --in-lab tests/lab tests/e2e -m "not lab_lifecycle"
else
    echo "!! lab up failed"; status=1
fi
suite lab-lifecycle tests/lab -m lab_lifecycle

"$PY" - "$reports" <<'PYEOF' || status=1
import sys, pathlib, xml.etree.ElementTree as ET
totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for report in sorted(pathlib.Path(sys.argv[1]).glob("*.xml")):
    for suite in ET.parse(report).getroot().iter("testsuite"):
        for key in totals:
            totals[key] += int(suite.get(key, 0))
failed = totals["failures"] + totals["errors"]
passed = totals["tests"] - failed - totals["skipped"]
print(f"hostnet: {passed} passed, {failed} failed, {totals['skipped']} skipped")
# A skipped test hides a missing prerequisite; it is not a pass.
sys.exit(1 if failed or totals["skipped"] or not totals["tests"] else 0)
PYEOF
exit $status
