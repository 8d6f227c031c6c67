#!/bin/sh
# A lab node's first process (a host or the seed's container), run as `sh -c`
# already inside the node's new mount and UTS namespaces; every step execs, so the
# PID recorded for the node stays the sshd's.
#   usage: node-init.sh NAME STAGING
# NAME is the node's hostname; STAGING its directory in the machine's /run
# (STAGING/files: keys and configs). The staging tmpfs is filled first and then
# moved over /run, because once /run is covered the staged files are out of reach.
# `mount -n`: libmount's table lives in /run/mount, which the move replaces. The
# copied namespace mounts (the machine's /run/netns) are dropped so a node never
# holds a namespace someone else deletes; propagation is private, so the machine
# keeps them.
set -eu
name="$1"
src="$2"
run="$src/run"
hostname "$name"
awk '$0 ~ / - nsfs / { print $5 }' /proc/self/mountinfo | while read -r ns; do
    umount -n -l "$ns" || true
done
mount -n -t tmpfs -o mode=0755,nosuid,nodev,size=64m hostnet-run "$run"
mkdir -p "$run/netns" "$run/sshd" "$run/lock" "$run/hostnet-lab/bin"
chmod 0700 "$run/hostnet-lab"
cp -p "$src"/files/* "$run/hostnet-lab/"
mount -n --move "$run" /run
umount -n -l /sys
mount -n -t sysfs -o nosuid,nodev,noexec hostnet-sysfs /sys
if [ -e /etc/hostname ]; then mount -n --bind /run/hostnet-lab/hostname /etc/hostname; fi
if [ -e /root/.bashrc ]; then mount -n --bind /run/hostnet-lab/bashrc /root/.bashrc; fi
ip link set lo up
exec /usr/sbin/sshd -D -e -f /run/hostnet-lab/sshd_config
