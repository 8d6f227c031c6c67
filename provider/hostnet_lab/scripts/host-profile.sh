#!/bin/sh
# A lab host's foreign state from its profile (hostnet_lab.profiles), run in the
# host's namespace at build time.
#   usage: host-profile.sh BRIDGE_NF_OFF RULES   (each 0 or 1)
# BRIDGE_NF_OFF=1: bridged frames bypass iptables, where br_netfilter is loaded
# (without the file they never reach iptables anyway). RULES=1: stdin is
# iptables-restore input (firewalld's and docker's rules).
set -eu
bridge_nf=/proc/sys/net/bridge/bridge-nf-call-iptables
if [ "$1" = 1 ] && [ -e "$bridge_nf" ]; then
    echo 0 >"$bridge_nf"
fi
if [ "$2" = 1 ]; then
    iptables-restore
fi
