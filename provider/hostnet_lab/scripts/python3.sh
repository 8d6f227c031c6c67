#!/bin/sh
# The python3 a lab host's sessions find first on PATH (hostnet_lab.hosts): the
# interpreter named in python3.env next to this file, with the old-kernel shim
# preloaded when python3.env names one.
set -eu
interpreter=/usr/bin/python3
shim=
# shellcheck source=/dev/null
. "${0%/*}/python3.env"
if [ -n "$shim" ]; then
    LD_PRELOAD="$shim" exec "$interpreter" "$@"
fi
exec "$interpreter" "$@"
