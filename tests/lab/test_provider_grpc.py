"""The real Pulumi dynamic provider host, driven over gRPC as the engine drives it.

`python -m pulumi.dynamic` runs here inside hn-ctl (inherited from this test
process), un-dills hostnet's provider from ``__provider`` and reaches h2 over
SSH. Every value crosses the wire as protobuf, so numbers are floats and
None-valued keys vanish, exactly as under `pulumi up`.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from hostnet_lab import LabInfo
from pulumi_hostnet._provider import HostnetProvider
from tests.lab import resourcelib as rl

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
URN = "urn:pulumi:lab::hostnet::pulumi-python:dynamic/hostnet:Veth::grpc"
PROVIDER = serialize_provider(HostnetProvider("veth"))
Stub = provider_pb2_grpc.ResourceProviderStub


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    # A private loop, as the provider host uses: asyncio.run would leave this
    # thread without an event loop, which Pulumi's runtime in later tests needs.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def _plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    props: dict[str, Any] = rpc.deserialize_properties(struct)
    return props


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_host(log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The provider host as the engine starts it: argv[1] is the engine's address,
    which it ignores; the first line it prints is its port."""
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic", "x"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=stderr,
            # As the engine starts it. A shell without job control starts its
            # background commands with SIGINT ignored, which a child inherits;
            # Python then never turns SIGINT into KeyboardInterrupt.
            preexec_fn=_default_sigint,  # noqa: PLW1509 -- one syscall, no lock taken
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        proc.kill()
        proc.wait(10)
        raise AssertionError(f"provider host did not print its port: {log.read_text()}")
    return proc, int(line)


@contextmanager
def _provider_host(log: Path) -> Iterator[tuple[subprocess.Popen[bytes], Stub]]:
    proc, port = _start_host(log)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            stub.Configure(provider_pb2.ConfigureRequest(args=_struct({})))
            yield proc, stub
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def stub(lab: LabInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stub]:
    """One provider host for the module, as the engine keeps one per deployment."""
    with _provider_host(tmp_path_factory.mktemp("grpc") / "host.stderr") as (_, stub):
        yield stub


@pytest.fixture
def netns(lab: LabInfo) -> Iterator[tuple[str, rl.Cleanup]]:
    """A stem, with a namespace ``<stem>ns`` on h2 for the peer."""
    stem = rl.uid()
    with rl.cleaning() as cleanup:
        rl.run("h2", "ip", "netns", "add", stem + "ns")
        cleanup.delete_netns("h2", stem + "ns")
        cleanup.delete_link("h2", stem + "v")
        yield stem, cleanup


def _news(lab: LabInfo, stem: str, **fields: Any) -> dict[str, Any]:
    return {
        "host": rl.host_input(lab, "h2"),
        "name": stem + "v",
        "peer_name": stem + "vp",
        "peer_netns": stem + "ns",
        "mtu": 1400,
        "peer_addresses": [f"{rl.SPARE_NET}.{rl.spare_octet(stem)}.2/24"],
        "__provider": PROVIDER,
        **fields,
    }


def _check(stub: Stub, news: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    response = stub.Check(provider_pb2.CheckRequest(urn=URN, olds=_struct({}), news=_struct(news)))
    return _plain(response.inputs), {f.property: f.reason for f in response.failures}


def _diff(stub: Stub, rid: str, olds: struct_pb2.Struct, news: Mapping[str, Any]) -> Any:
    return stub.Diff(provider_pb2.DiffRequest(id=rid, urn=URN, olds=olds, news=_struct(news)))


def test_check_names_bad_fields_and_numbers_cross_as_floats(
    lab: LabInfo, stub: Stub, netns: tuple[str, rl.Cleanup]
) -> None:
    stem, _ = netns
    _, failures = _check(stub, _news(lab, stem, name="x" * 16, mtu=1400.5))
    assert set(failures) == {"name", "mtu"}, failures
    assert "15" in failures["name"] and "whole number" in failures["mtu"]
    inputs, failures = _check(stub, _news(lab, stem))
    assert failures == {}
    assert inputs["mtu"] == 1400 and isinstance(inputs["mtu"], float)
    assert inputs["__provider"] == PROVIDER
    assert rl.link("h2", stem + "v") is None  # check touches no host


def test_veth_lifecycle(lab: LabInfo, stub: Stub, netns: tuple[str, rl.Cleanup]) -> None:
    stem, _ = netns
    ns, name = stem + "ns", stem + "v"
    inputs, _ = _check(stub, _news(lab, stem))
    created = stub.Create(provider_pb2.CreateRequest(urn=URN, properties=_struct(inputs)))
    outputs = _plain(created.properties)
    host_end, peer = rl.link("h2", name), rl.link("h2", stem + "vp", ns)
    assert host_end is not None and peer is not None
    assert created.id == outputs["resource_id"] == f"h2/veth/{name}"
    assert (outputs["ifindex"], outputs["peer_ifindex"]) == (host_end["ifindex"], peer["ifindex"])
    assert outputs["mac"] == host_end["address"]
    assert outputs["mtu"] == host_end["mtu"] == peer["mtu"] == 1400
    assert outputs["peer_addresses"] == inputs["peer_addresses"]
    assert outputs["up"] is True and outputs.get("master") is None
    assert {"host", "name", "peer_name", "peer_netns", "addresses"} <= set(outputs)

    # An address is an update in place; a new peer name replaces the pair.
    changed = {**inputs, "peer_addresses": [f"{rl.SPARE_NET}.{rl.spare_octet(stem)}.3/24"]}
    diff = _diff(stub, created.id, created.properties, changed)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME and list(diff.replaces) == []
    diff = _diff(stub, created.id, created.properties, {**inputs, "peer_name": stem + "vq"})
    assert list(diff.replaces) == ["peer_name"] and diff.deleteBeforeReplace
    diff = _diff(stub, created.id, created.properties, inputs)
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE

    updated = stub.Update(
        provider_pb2.UpdateRequest(
            id=created.id, urn=URN, olds=created.properties, news=_struct(changed)
        )
    )
    after = _plain(updated.properties)
    assert after["peer_addresses"] == changed["peer_addresses"]
    assert after["ifindex"] == outputs["ifindex"]
    assert rl.addresses("h2", stem + "vp", ns) == changed["peer_addresses"]

    _read_and_delete(stub, created.id, updated.properties, after)
    assert rl.link("h2", name) is None and rl.link("h2", stem + "vp", ns) is None


def _read_and_delete(stub: Stub, rid: str, props: struct_pb2.Struct, outputs: Any) -> None:
    read = stub.Read(provider_pb2.ReadRequest(id=rid, urn=URN, properties=props))
    assert read.id == rid
    assert _plain(read.properties) == outputs
    assert _plain(read.inputs)["peer_addresses"] == outputs["peer_addresses"]
    stub.Delete(provider_pb2.DeleteRequest(id=rid, urn=URN, properties=props))
    gone = stub.Read(provider_pb2.ReadRequest(id=rid, urn=URN, properties=props))
    assert gone.id == ""
    # Deleting what is gone succeeds.
    stub.Delete(provider_pb2.DeleteRequest(id=rid, urn=URN, properties=props))


def test_failed_create_is_an_error_and_leaves_nothing(
    lab: LabInfo, stub: Stub, netns: tuple[str, rl.Cleanup]
) -> None:
    stem, _ = netns
    before = rl.snapshot("h2")
    # The pair is made, then joining a bridge that does not exist fails.
    inputs, _ = _check(stub, _news(lab, stem, master=stem + "nobr"))
    with pytest.raises(grpc.RpcError) as failed:
        stub.Create(provider_pb2.CreateRequest(urn=URN, properties=_struct(inputs)))
    assert failed.value.code() == grpc.StatusCode.UNKNOWN
    assert f"{stem}nobr does not exist" in str(failed.value.details())
    rl.assert_same(before, rl.snapshot("h2"))


def test_host_exits_cleanly_on_sigint(lab: LabInfo, tmp_path: Path) -> None:
    """The engine stops the host with SIGINT; it must exit at once, with its SSH
    connection (opened by a read) closed on the way out."""
    with _provider_host(tmp_path / "host.stderr") as (proc, stub):
        props = _struct({**_news(lab, rl.uid()), "resource_id": "h2/veth/none"})
        assert stub.Read(provider_pb2.ReadRequest(id="x", urn=URN, properties=props)).id == ""
        proc.send_signal(signal.SIGINT)
        # A bound against hanging, not a speed test: a loaded machine is slow.
        assert proc.wait(timeout=90) == 0, (tmp_path / "host.stderr").read_text()
