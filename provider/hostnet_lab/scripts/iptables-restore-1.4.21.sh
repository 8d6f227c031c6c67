#!/bin/sh
# iptables-restore as CentOS 7's 1.4.21 behaves, installed as iptables-restore,
# iptables-legacy-restore and iptables-nft-restore (hostnet_lab.hosts): it knows
# no -w/--wait (getopt says so, exit 2; the option came in 1.6.2) and takes no
# xtables lock. The real tool of the same name here would take /run/xtables.lock
# itself, so it is pointed at a lock file of its own.
name=$(basename "$0")
for a in "$@"; do
    case $a in
        -w | --wait | -w* | --wait=*)
            echo "$name: invalid option -- 'w'" >&2
            exit 2
            ;;
    esac
done
XTABLES_LOCKFILE=/run/hostnet-lab-restore-1.4.21.lock exec "/usr/sbin/$name" "$@"
