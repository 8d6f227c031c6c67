#!/usr/bin/env bash
# `make demo`: build the lab, `pulumi up` the seed stack (refreshing first, so a
# state left by KEEP=1 and a removed lab is brought in line), prove it with
# `hostnet verify`, draw it with `hostnet graph`, then tear everything down
# (KEEP=1 keeps the lab and stack). The matrix and the picture are written to
# build/demo/ and their paths printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pulumi-env.sh

HOSTNET=.venv/bin/hostnet
IN_LAB=("$HOSTNET" lab exec --)
OUT=build/demo
timings=()

step() {  # step LABEL COMMAND...
    local label=$1; shift
    local start=$SECONDS
    echo
    echo "== $label"
    "$@"
    timings+=("$(printf '%-38s %4d s' "$label" $((SECONDS - start)))")
}

teardown() {
    local rc=$?
    if [ -z "${KEEP:-}" ]; then
        step "pulumi destroy" "${IN_LAB[@]}" pulumi destroy --yes --skip-preview --stack lab || rc=1
        step "lab down" "$HOSTNET" lab down || rc=1
    else
        echo
        echo "KEEP=1: the lab and the stack stay. Explore with:"
        echo "  $HOSTNET lab exec -- ssh -F /run/hostnet-lab/ssh_config root@10.32.171.202"
        echo "  $HOSTNET lab exec -- pulumi stack --stack lab"
        echo "Remove them with: make lab-down (after pulumi destroy)"
    fi
    echo
    echo "== times"
    printf '%s\n' "${timings[@]}"
    if [ -s "$OUT/network.svg" ]; then
        echo
        echo "== the seed network, as read from the hosts"
        echo "matrix:  $PWD/$OUT/matrix.txt"
        echo "picture: $PWD/$OUT/network.svg (and network.png)"
    fi
    exit $rc
}

step "lab up" "$HOSTNET" lab up
trap teardown EXIT
if ! "${IN_LAB[@]}" pulumi stack select lab >/dev/null 2>&1; then
    "${IN_LAB[@]}" pulumi stack init lab >/dev/null
fi
step "pulumi preview (no host changes)" "${IN_LAB[@]}" pulumi preview --refresh --stack lab --suppress-outputs
step "pulumi up (the seed network)" "${IN_LAB[@]}" pulumi up --refresh --yes --skip-preview --stack lab --suppress-outputs
step "what was built" "${IN_LAB[@]}" pulumi stack output hosts --stack lab
mkdir -p "$OUT"
rm -f "$OUT/matrix.txt" "$OUT/network.svg" "$OUT/network.png"
verify_to() { "${IN_LAB[@]}" "$HOSTNET" verify --stack lab | tee "$1"; }
step "hostnet verify (connectivity matrix)" verify_to "$OUT/matrix.txt"
step "hostnet graph (the picture)" "${IN_LAB[@]}" "$HOSTNET" graph --stack lab \
    -o "$OUT/network.svg" -o "$OUT/network.png"
