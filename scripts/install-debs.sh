#!/bin/sh
# Install the Debian packages the lab and the on-host agent need, Graphviz for
# `hostnet graph` and PostgreSQL for the team-state tests, only those missing.
# Installing openssh-server or postgresql must not start a system service on
# this machine: the lab runs its own sshd per namespace (a machine-wide one would
# listen on every address) and the tests start their own PostgreSQL cluster on
# the lab's loopback. A policy-rc.d that denies service starts is put in place
# for the install (unless one exists) and removed afterwards.
set -eu

# gcc, libc6-dev: the lab compiles its old-kernel shim (hostnet_lab.hosts).
# ShellCheck: make lint runs it on the shell scripts (the lab's and scripts/).
PACKAGES="iproute2 iptables openssh-server openssh-client iputils-ping procps util-linux psmisc python3 mount graphviz postgresql gcc libc6-dev shellcheck"
POLICY=/usr/sbin/policy-rc.d

if [ "$(id -u)" -ne 0 ]; then
    echo "install-debs: run as root" >&2
    exit 1
fi

missing=""
for pkg in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
        "install ok installed") ;;
        *) missing="$missing $pkg" ;;
    esac
done

if [ -z "$missing" ]; then
    echo "install-debs: all present ($PACKAGES)"
    exit 0
fi

sshd_before=$(pgrep -x sshd || true)
postgres_before=$(pgrep -x postgres || true)
own_policy=no
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# hostnet install-debs: no service starts during the install\nexit 101\n' >"$POLICY"
    chmod 0755 "$POLICY"
    own_policy=yes
fi
cleanup() {
    if [ "$own_policy" = yes ]; then rm -f "$POLICY"; fi
}
trap cleanup EXIT INT TERM

echo "install-debs: installing$missing"
apt-get update
# shellcheck disable=SC2086 # word splitting of the package list is intended
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing

sshd_after=$(pgrep -x sshd || true)
if [ "$sshd_after" != "$sshd_before" ]; then
    echo "install-debs: an sshd started during the install (pids: $sshd_after);" \
        "the lab does not want a machine-wide sshd: stop it" >&2
    exit 1
fi
if [ "$(pgrep -x postgres || true)" != "$postgres_before" ]; then
    echo "install-debs: a postgres server started during the install;" \
        "the tests run their own cluster: stop it (pg_ctlcluster ... stop)" >&2
    exit 1
fi
case "$missing" in
    *openssh-server*)
        if [ -d /run/systemd/system ] && systemctl is-enabled --quiet ssh.service 2>/dev/null; then
            echo "install-debs: note: ssh.service is enabled for the next boot;" \
                "'systemctl disable ssh.service' if this machine should not run sshd"
        fi
        ;;
esac
echo "install-debs: done"
