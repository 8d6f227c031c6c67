"""Fixtures shared by lab and e2e tests: the local lab (root; see hostnet_lab).

The lab is built once per session and removed at the end of it, unless
HOSTNET_KEEP_LAB=1 (then it stays up for the next run, which reuses it).
A lab test never skips: without root, or if the lab cannot be built, it fails.

Start pytest from the machine's namespace (not under `hostnet lab exec`): the
fixture builds the lab there, then moves the test process's network namespace
into hn-ctl, so every socket a test opens in-process (paramiko included) can
reach only the lab. Subprocesses inherit hn-ctl too; hostnet_lab.machine_argv
runs a command in the machine's namespace when a test must look at it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import hostnet_lab
from hostnet_lab import LabError, LabInfo

LAST = "lab_last"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{LAST}: run after every other test (e.g. it takes the lab down and up)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move tests marked lab_last to the end of the session, keeping their order.

    HOSTNET_TEST_ORDER=reverse runs the tests in reverse order first: no test may
    rely on what an earlier one left (each sets up the state it starts from).
    """
    order = os.environ.get("HOSTNET_TEST_ORDER", "")
    if order not in ("", "reverse"):
        raise pytest.UsageError(f"HOSTNET_TEST_ORDER={order!r}: only 'reverse' is known")
    if order == "reverse":
        items.reverse()
    items.sort(key=lambda item: item.get_closest_marker(LAST) is not None)


@pytest.fixture(scope="session")
def lab() -> Iterator[LabInfo]:
    """Name: lab
    Scope: session
    Depends: root, iproute2, util-linux (nsenter/unshare), openssh-server/-client
             (scripts/install-debs.sh)

    Runs `lab up` (idempotent: an already running lab is verified and reused),
    enters hn-ctl (hostnet_lab.enter_ctl) and yields the LabInfo. At session end
    returns to the machine's namespace and runs `lab down`, unless
    HOSTNET_KEEP_LAB=1.
    """
    if os.geteuid() != 0:
        pytest.fail("lab tests need root (network namespaces, mounts, sshd)", pytrace=False)
    if os.environ.get("HOSTNET_LAB") == "1":
        pytest.fail(
            "run lab tests from the machine's namespace, not under `hostnet lab exec`: "
            "the lab fixture enters hn-ctl itself",
            pytrace=False,
        )
    try:
        info = hostnet_lab.up()
        hostnet_lab.enter_ctl()
    except LabError as err:
        pytest.fail(f"cannot build the lab: {err}", pytrace=False)
    yield info
    hostnet_lab.leave_ctl()
    if os.environ.get("HOSTNET_KEEP_LAB") != "1":
        hostnet_lab.down()
