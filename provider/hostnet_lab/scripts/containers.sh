#!/bin/sh
# A lab host's containers beyond the seed's: runs in the host's network and mount
# namespaces. Containers PREFIX.2 .. PREFIX.COUNT become network namespaces named
# in the host's /run/netns with lo up (and the given sysctls set in each, e.g. the
# centos7 profile's strict rp_filter); PREFIX.(COUNT+1) .. PREFIX.MADE, made by an
# earlier `lab up`, lose their names (their processes are gone by then). PREFIX.1
# is the seed's container with its own sshd: never touched here. A container that
# exists already is left as it is, so running this again is cheap.
#   usage: containers.sh PREFIX COUNT MADE [SYSCTL=VALUE...]
set -eu
prefix="$1"
count="$2"
made="$3"
shift 3

i=$((count + 1))
while [ "$i" -le "$made" ]; do
    if [ -e "/run/netns/$prefix.$i" ]; then
        ip netns delete "$prefix.$i"
    fi
    i=$((i + 1))
done

i=2
while [ "$i" -le "$count" ]; do
    name="$prefix.$i"
    if [ ! -e "/run/netns/$name" ]; then
        ip netns add "$name"
        ip -n "$name" link set lo up
        if [ $# -gt 0 ]; then
            nsenter "--net=/run/netns/$name" sysctl -q -w "$@"
        fi
    fi
    i=$((i + 1))
done
