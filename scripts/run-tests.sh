#!/usr/bin/env bash
# The test part of `make test`, in two runs:
# 1. tests/unit as an ordinary user (scripts/unit-as-nobody.sh): they need nothing
#    but the venv;
# 2. everything else (tests/e2e, tests/integration, tests/lab) as root, one pytest
#    session started from the machine's namespace. The lab fixture builds the lab,
#    moves the test process into the lab's control namespace (so nothing a test
#    opens can reach past the lab) and removes the lab at the end.
# Prints each run's count and time, then one closing line with the totals of both;
# fails on any failure or error, on a skip (a skipped test hides a missing
# prerequisite), and on a run that collected nothing.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
source scripts/pulumi-env.sh

reports=$(mktemp -d)
trap 'rm -rf "$reports"; [ -n "${HOSTNET_KEEP_LAB:-}" ] || .venv/bin/hostnet lab down >/dev/null 2>&1 || true' EXIT
# The unit run writes its report as nobody.
[ "$(id -u)" != 0 ] || chown 65534:65534 "$reports"
rc=0

start=$SECONDS
bash scripts/unit-as-nobody.sh -q -ra --junitxml="$reports/unit.xml"
unit_rc=$?
as=$(id -un)
[ "$(id -u)" != 0 ] || as=nobody
echo "unit tests (as $as): pytest exit $unit_rc after $((SECONDS - start)) s"
[ $unit_rc -eq 0 ] || rc=$unit_rc

start=$SECONDS
.venv/bin/python -m pytest -p no:cacheprovider -q -ra --junitxml="$reports/rest.xml" \
    tests --ignore=tests/unit
rest_rc=$?
echo "lab, e2e and integration tests (as $(id -un)): pytest exit $rest_rc after $((SECONDS - start)) s"
[ $rest_rc -eq 0 ] || rc=$rest_rc

for run in unit rest; do
    [ -s "$reports/$run.xml" ] || echo "!! the $run run wrote no report"
done

.venv/bin/python - "$reports"/unit.xml "$reports"/rest.xml <<'PYEOF' || rc=1
import os, sys, xml.etree.ElementTree as ET
totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
empty = False
for path in sys.argv[1:]:
    if not os.path.exists(path) or not os.path.getsize(path):
        empty = True
        continue
    tests = 0
    for suite in ET.parse(path).getroot().iter("testsuite"):
        tests += int(suite.get("tests", 0))
        for key in totals:
            totals[key] += int(suite.get(key, 0))
    if not tests:
        print(f"!! {os.path.basename(path)}: pytest collected no tests")
        empty = True
failed = totals["failures"] + totals["errors"]
passed = totals["tests"] - failed - totals["skipped"]
print(f"hostnet: {passed} passed, {failed} failed, {totals['skipped']} skipped")
sys.exit(1 if failed or totals["skipped"] or empty else 0)
PYEOF
exit $rc
