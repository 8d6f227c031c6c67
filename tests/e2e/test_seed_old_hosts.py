"""The seed network on hosts as old as the write-up's, through the real CLI.

h1 (which carries the router testrt3 and the uplink takeover of ens32) runs
Python 3.6 in the lab's old-kernel mode (netlink options and memfd_create
refused as by a 3.10 kernel, iptables-restore without -w as in 1.4.21), h2
runs Python 3.8, h3 the machine's python3 (hostnet_lab.hosts). The tests are
test_seed's, run again here: milestone by milestone with every claim probed,
drift repaired, the failed milestones refused, and destroy leaving every host
as it was. The stack names no interpreter: each host's is discovered.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import hostnet_lab
from hostnet import transport
from hostnet_lab import LabInfo
from hostnet_lab import hosts as labhosts
from tests.e2e import test_seed as seed_tests
from tests.e2e.conftest import Stack, copy_root_project
from tests.e2e.test_seed import SeedRun

pytestmark = pytest.mark.e2e

PYTHONS = {"h1": "3.6", "h2": "3.8"}
OLD_KERNEL = {"h1"}


@pytest.fixture(scope="module")
def old_hosts(lab: LabInfo) -> Iterator[LabInfo]:
    """The lab's hosts made old for this module, and given back their python3 after it."""
    transport.close_all()  # agents started earlier in this process run the old interpreters
    # The plain profile (the centos7 one is test_seed's), then old interpreters.
    assert hostnet_lab.up(profile="plain").profile == "plain"
    labhosts.configure(host_python=PYTHONS, old_kernel=OLD_KERNEL)
    yield lab
    transport.close_all()
    labhosts.configure()


@pytest.fixture(scope="module")
def seed(
    old_hosts: LabInfo,
    pulumi_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SeedRun]:
    workdir = copy_root_project(tmp_path_factory.mktemp("seed-old-hosts"))
    # A backend of its own: test_seed's stack of the same name lives in the session's.
    backend = tmp_path_factory.mktemp("pulumi-backend-old-hosts")
    env = {**pulumi_env, "PULUMI_BACKEND_URL": f"file://{backend}"}
    stack = Stack(workdir=workdir, name="lab", env=env)
    stack.pulumi("stack", "init", "lab")
    run = SeedRun(stack, "plain")
    yield run
    stack.pulumi("destroy", "--yes", "--skip-preview", check=False)


def test_the_hosts_are_as_old_as_asked(old_hosts: LabInfo) -> None:
    found = {}
    for name, address in old_hosts.hosts.items():
        conn = transport.Connection(
            address=address,
            key_file=str(old_hosts.key_path),
            known_hosts=str(old_hosts.known_hosts_path),
        )
        info = transport.agent_for(conn).info
        found[name] = (
            info["python"].rsplit(".", 1)[0],
            info["pyroute2"],
            info["netlink"]["ext_ack"] and info["netlink"]["strict_check"],
            info["iptables_restore_wait"],
        )
    assert found["h1"] == ("3.6", "0.8.1", False, False)
    assert found["h2"] == ("3.8", "0.8.1", True, True)
    assert found["h3"][1:] == ("0.9.7", True, True)


# test_seed's tests, in test_seed's order, on this module's seed.
test_preview_changes_no_host = seed_tests.test_preview_changes_no_host
test_milestones_one_by_one = seed_tests.test_milestones_one_by_one
test_up_and_refresh_find_nothing_to_do = seed_tests.test_up_and_refresh_find_nothing_to_do
test_drift_is_reported_and_repaired = seed_tests.test_drift_is_reported_and_repaired
test_destroy_leaves_hosts_as_before = seed_tests.test_destroy_leaves_hosts_as_before
test_failed_milestones_are_refused_at_preview = (
    seed_tests.test_failed_milestones_are_refused_at_preview
)
