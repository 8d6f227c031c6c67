"""Every failure class reads as one paragraph naming the resource, the host, the
field at fault, what was found and a remedy whose settings exist."""

from __future__ import annotations

import re

import pytest

from hostnet import errors, hosts
from pulumi_hostnet._provider import HostnetFailure, HostnetProvider, failure_text

HOST = {"name": "h1", "address": "10.32.171.202", "request_timeout": 30.0}
PROPS = {"host": HOST, "name": "bridge0", "owner": {"resource": "h1-bridge0"}}


def _agent(cls: type[errors.AgentError], op: str, kind: str, message: str) -> errors.AgentError:
    return cls(host="10.32.171.202", op=op, kind=kind, message=message)


FAILURES: list[tuple[errors.HostnetError, str | None, str]] = [
    (
        errors.InvalidInput("via", "10.9.0.1 is not inside any network connected"),
        "via",
        "change via",
    ),
    (errors.Unreachable("root@10.32.171.202:22: Connection refused"), None, "host.port"),
    (errors.AuthFailed("the host refused the key"), None, "host.user"),
    (errors.HostKeyUnknown("host key not pinned"), None, "host.known_hosts"),
    (errors.HostKeyMismatch("got another key"), None, "host.known_hosts"),
    (errors.NoSuitablePython("python3 is 3.6.8"), None, "host.python"),
    (errors.NotRoot("agent runs as uid 1000"), None, "host.sudo"),
    (errors.AgentStartFailed("the host printed 'hello'"), None, "host.python"),
    (errors.AgentLost("agent connection closed: agent exited"), None, "pulumi up again"),
    (errors.Timeout("no answer within 30 s"), None, "host.request_timeout 30 s"),
    (_agent(errors.OpTimeout, "link_set", "Timeout", "deadline"), None, "host.request_timeout"),
    (
        _agent(errors.NotOwned, "link_ensure_bridge", "NotOwned", "bridge0 is not marked"),
        "name",
        "give name another value",
    ),
    (
        _agent(errors.Conflict, "link_ensure_bridge", "Exists", "bridge0 is a veth"),
        "name",
        "give name another value",
    ),
    (
        _agent(errors.Busy, "link_ensure_bridge", "Busy", "another agent holds the lock"),
        None,
        "wait",
    ),
    (
        _agent(errors.NotFound, "link_set", "NotFound", "bridge9 does not exist"),
        "name",
        "depends_on",
    ),
    (
        _agent(errors.AgentError, "addr_replace", "Failed", "File exists"),
        "addresses",
        "fix the input",
    ),
    (errors.VerifyFailed("host differs after apply in mtu"), None, "pulumi refresh"),
    (errors.Internal("KeyError: 'x'"), None, "bug in hostnet"),
]


@pytest.mark.parametrize(("exc", "field", "remedy"), FAILURES, ids=lambda v: type(v).__name__)
def test_each_failure_is_one_paragraph_naming_what_to_do(
    exc: errors.HostnetError, field: str | None, remedy: str
) -> None:
    text = failure_text("bridge", PROPS, exc)
    assert "\n" not in text
    assert text.startswith('Bridge "h1-bridge0" on host h1 (10.32.171.202): ')
    if field:
        assert f": {field}: " in text
    assert remedy in text
    assert "?" not in text.split("To fix:")[1]  # every setting the remedy names was filled


def test_remedies_name_only_host_settings_that_exist() -> None:
    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.HostnetError)
    ]
    named = {m for c in classes for m in re.findall(r"host\.(\w+)", c.remedy + c.values)}
    assert named, "remedies name host settings"
    assert named <= set(hosts.NAMES)


def test_the_provider_raises_the_paragraph_for_an_unreachable_host() -> None:
    provider = HostnetProvider("bridge")
    props = {
        "host": {"name": "h9", "address": "127.0.0.1", "port": 9, "trust_on_first_use": True},
        "name": "bridge0",
        "resource_id": "h9/bridge/bridge0",
    }
    with pytest.raises(HostnetFailure) as failed:
        provider.delete("h9/bridge/bridge0", props)
    text = str(failed.value)
    assert text.startswith('Bridge "h9/bridge/bridge0" on host h9 (127.0.0.1): ')
    assert "host.address and host.port" in text and "(127.0.0.1 port 9," in text
