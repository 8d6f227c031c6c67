#!/bin/sh
# Replaces a lab host's session bin directory (hostnet_lab.hosts) with the given
# files, each executable.
#   usage: install-bin.sh DIR [NAME CONTENTS]...
set -eu
dir="$1"
shift
rm -rf "$dir"
mkdir -p "$dir"
while [ $# -ge 2 ]; do
    printf %s "$2" >"$dir/$1"
    chmod 755 "$dir/$1"
    shift 2
done
