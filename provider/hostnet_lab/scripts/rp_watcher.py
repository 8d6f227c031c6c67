"""Runs on a lab host of the centos7 profile (its net and mount namespaces): each
namespace named in /run/netns gets the host's rp_filter once, when it first
appears, as a CentOS 7 kernel copies the host's values into a new namespace.
Run as `python3 -c`."""

import os
import subprocess
import time


def value(key: str) -> str:
    with open(f"/proc/sys/net/ipv4/conf/{key}/rp_filter") as f:
        return f.read().strip()


want = [f"net.ipv4.conf.{k}.rp_filter={value(k)}" for k in ("all", "default")]
nsfs = os.stat("/proc/self/ns/net").st_dev
seen: set[int] = set()
while True:
    try:
        names = os.listdir("/run/netns")
    except OSError:
        names = []
    for name in names:
        path = "/run/netns/" + name
        try:
            st = os.stat(path)
        except OSError:
            continue
        if st.st_dev != nsfs or st.st_ino in seen:
            continue
        seen.add(st.st_ino)
        subprocess.run(["nsenter", "--net=" + path, "sysctl", "-q", "-w", *want], check=False)  # noqa: S603, S607 -- fixed argv, the host's own tools
    time.sleep(0.02)
