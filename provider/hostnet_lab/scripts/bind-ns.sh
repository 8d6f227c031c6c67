#!/bin/sh
# Names a namespace: binds the namespace file NSFILE onto NAME (a new empty file),
# in the caller's mount namespace. How the seed's container is named on its host.
#   usage: bind-ns.sh NSFILE NAME
set -eu
: >"$2"
mount -n --bind "$1" "$2"
