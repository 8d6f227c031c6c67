"""The lab hosts as the transport benchmark uses them: a new ssh per command, an
exec channel on one open connection, the hostnet agent; and the typical op."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Any

import paramiko

from _common import wall
from hostnet import transport
from hostnet.protocol import Op
from hostnet.transport import Connection
from hostnet_lab import load_lab

OWNER = "bench"
BRIDGE = "hnbench0"  # scratch bridge on every host, for the typical op
ADDRESS = "198.18.0.1/32"  # RFC 2544 benchmarking range, only ever on BRIDGE
TYPICAL = f"ip addr add {ADDRESS} dev {BRIDGE} && ip addr del {ADDRESS} dev {BRIDGE}"


@dataclass(frozen=True, kw_only=True)
class Host:
    name: str
    address: str
    ssh_config: str
    client: paramiko.SSHClient
    agent: Any  # hostnet.agent_client.Agent

    def ssh(self, command: str) -> None:
        """A new ssh process (and connection) for one command."""
        argv = ["ssh", "-F", self.ssh_config, f"root@{self.address}", command]
        subprocess.run(argv, check=True, capture_output=True)

    def exec(self, command: str, stdin: bytes | None = None) -> bytes:
        """One exec channel on the open connection; raises unless the command exits 0."""
        ssh_transport = self.client.get_transport()
        assert ssh_transport is not None
        channel = ssh_transport.open_session()
        try:
            channel.exec_command(command)
            if stdin is not None:
                channel.sendall(stdin)
                channel.shutdown_write()
            out = channel.makefile("rb").read()
            err = channel.makefile_stderr("rb").read()
            status = channel.recv_exit_status()
        finally:
            channel.close()
        if status != 0:
            raise RuntimeError(f"{self.name}: {command[:60]!r} exited {status}: {err[-300:]!r}")
        return bytes(out)

    def addr(self, op: str) -> None:
        result = self.agent.call(op, ifname=BRIDGE, address=ADDRESS)
        if not result["changed"]:
            raise RuntimeError(f"{self.name}: {op} changed nothing")

    def typical_single(self) -> None:
        self.addr("addr_ensure")
        self.addr("addr_delete")

    def typical_batched(self) -> None:
        args = {"ifname": BRIDGE, "address": ADDRESS}
        results = self.agent.batch(
            [Op(op="addr_ensure", args=args), Op(op="addr_delete", args=args)]
        )
        if not all(r["changed"] for r in results):
            raise RuntimeError(f"{self.name}: a batched address op changed nothing")


def connect(name: str, address: str) -> tuple[Host, float, float]:
    """The host, and the seconds a paramiko connect and an agent start took."""
    info = load_lab()
    conn = Connection(
        address=address,
        key_file=str(info.key_path),
        known_hosts=str(info.known_hosts_path),
        request_timeout=300.0,
    )
    clients: list[paramiko.SSHClient] = []
    t_connect = wall(lambda: clients.append(transport._client(conn)))
    agents: list[Any] = []
    t_agent = wall(lambda: agents.append(transport.agent_for(conn)))
    host = Host(
        name=name,
        address=address,
        ssh_config=str(info.ssh_config_path),
        client=clients[0],
        agent=agents[0],
    )
    return host, t_connect, t_agent
