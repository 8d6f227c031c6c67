#!/usr/bin/env bash
# The test part of `make test`: one pytest session over tests/ started from the
# machine's namespace. The lab fixture builds the lab, moves the test process into
# the lab's control namespace (so nothing a test opens can reach past the lab) and
# removes the lab at the end. Prints one closing line with the totals; fails on any
# failure or error, on a skip (a skipped test hides a missing prerequisite), and on
# a run that collected nothing.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
source scripts/pulumi-env.sh

report=$(mktemp)
trap 'rm -f "$report"; [ -n "${HOSTNET_KEEP_LAB:-}" ] || .venv/bin/hostnet lab down >/dev/null 2>&1 || true' EXIT

start=$SECONDS
.venv/bin/python -m pytest -p no:cacheprovider -q -ra --junitxml="$report" tests
rc=$?
echo "pytest exit $rc after $((SECONDS - start)) s"
[ $rc -ne 5 ] || echo "!! pytest collected no tests"

.venv/bin/python - "$report" <<'PYEOF' || rc=1
import sys, xml.etree.ElementTree as ET
totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for suite in ET.parse(sys.argv[1]).getroot().iter("testsuite"):
    for key in totals:
        totals[key] += int(suite.get(key, 0))
failed = totals["failures"] + totals["errors"]
passed = totals["tests"] - failed - totals["skipped"]
print(f"hostnet: {passed} passed, {failed} failed, {totals['skipped']} skipped")
sys.exit(1 if failed or totals["skipped"] or not totals["tests"] else 0)
PYEOF
exit $rc
