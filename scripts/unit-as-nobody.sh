#!/usr/bin/env bash
# The unit suite (tests/unit) as an ordinary user: uid/gid 65534 (nobody), no
# supplementary groups, no capabilities, a fresh HOME and TMPDIR of its own. It
# shows that unit tests need nothing but the venv: no root, no namespaces, no
# Pulumi CLI, no downloaded wheels, no other interpreters, no network.
#
# Run as root, as `make test` does. When the venv's base interpreter lives under
# a directory nobody cannot enter (pyenv under /root), that interpreter's own
# directory, and nothing else there, is shown to nobody at the same path in a
# private mount namespace. Run as any other user, the suite simply runs as that
# user. Arguments go to pytest.
#   usage: scripts/unit-as-nobody.sh [PYTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTEST=(.venv/bin/python -m pytest -p no:cacheprovider tests/unit)
if [ "$(id -u)" != 0 ]; then
    exec "${PYTEST[@]}" "$@"
fi
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
if ! "${NOBODY[@]}" test -r pyproject.toml; then
    echo "unit-as-nobody: $PWD is not readable by nobody; use a checkout it can read" >&2
    exit 1
fi
work=$(mktemp -d /tmp/hostnet-unit.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
mkdir "$work/home" "$work/tmp" "$work/python"
chown 65534:65534 "$work/home" "$work/tmp"
prefix=$(.venv/bin/python -c 'import sys; print(sys.base_prefix)')

# The outermost directory on the way to the interpreter that nobody cannot enter.
hidden=""
path=""
IFS=/ read -ra parts <<<"${prefix#/}"
for part in "${parts[@]}"; do
    path="$path/$part"
    if ! "${NOBODY[@]}" test -x "$path"; then
        hidden=$path
        break
    fi
done

# Inside: the interpreter is bind-mounted aside, a tmpfs covers the hidden
# directory, and the interpreter comes back at its own path; the mounts end with
# the namespace.
# shellcheck disable=SC2016  # the inner bash expands its own arguments
unshare --mount --propagation private bash -c '
    set -euo pipefail
    hidden=$1 prefix=$2 work=$3
    shift 3
    if [ -n "$hidden" ]; then
        mount --bind "$prefix" "$work/python"
        mount -t tmpfs -o mode=0755 hostnet-unit "$hidden"
        mkdir -p "$prefix"
        mount --bind "$work/python" "$prefix"
    fi
    exec "$@"
' unit-as-nobody "$hidden" "$prefix" "$work" \
    "${NOBODY[@]}" env HOME="$work/home" TMPDIR="$work/tmp" PYTHONDONTWRITEBYTECODE=1 \
    HYPOTHESIS_STORAGE_DIRECTORY="$work/tmp/hypothesis" \
    "${PYTEST[@]}" "$@"
