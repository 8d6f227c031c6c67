#!/usr/bin/env bash
# Runs a command with a private /run (its own /run/netns and /run/hostnet-lab), so
# a lab built inside it is invisible to, and independent of, any other lab on the
# machine: two test suites can each build and remove their own lab at once.
# Everything the command starts shares the private mount namespace; the lab's
# network namespaces live as long as the processes (sshd) that hold them, and
# `hostnet lab down` inside removes those.
#   usage: scripts/isolated.sh CMD [ARGS...]
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "isolated.sh: needs root (mount namespaces)" >&2; exit 1; }
exec unshare --mount --propagation private bash -c \
    'mount -t tmpfs -o mode=0755 hostnet-run /run && mkdir -p /run/netns /run/lock && exec "$@"' \
    isolated "$@"
