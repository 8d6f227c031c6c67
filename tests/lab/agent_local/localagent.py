"""An agent started as a local process, driven by hostnet's own client.

The agent is started the way the transport starts it on a host: the bootstrap
under the host's interpreter, the payload built for that interpreter on its
stdin. `nsenter --net` rather than `ip netns exec`: the latter also gives it a
slave mount namespace, so namespaces the agent creates would not be visible here
(on a host the agent shares the host's mounts). Once it is ready,
hostnet.agent_client.Agent sends on the process's stdin, a socket, as it sends
on an SSH channel, and reads its stdout.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hostnet.agent_client import Agent
from hostnet.errors import AgentError
from hostnet.payload import BOOTSTRAP, INTERPRETER_FLAGS, build_payload

PYTHON = Path(sys.executable)
PREFIX = f"hn-agt-{secrets.token_hex(3)}"
OWNER = "t1/test"
CREATED = {"changed": True, "created": True}
REWRITTEN = {"changed": True, "created": False}
SAME = {"changed": False, "created": False}


def sh(
    *argv: str, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{shlex.join(argv)} -> {done.returncode}: {done.stderr.strip()}")
    return done


def in_ns(ns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return sh("ip", "netns", "exec", ns, *argv, check=check)


def netns_names() -> set[str]:
    return {line.split()[0] for line in sh("ip", "netns", "list").stdout.splitlines() if line}


def links_in(ns: str) -> list[str]:
    return in_ns(ns, "ip", "-o", "link", "show").stdout.splitlines()


def saved(ns: str, table: str | None = None, *, tool: str = "iptables") -> list[str]:
    """iptables-save without comments and counters."""
    argv = [f"{tool}-save"] + (["-t", table] if table else [])
    out = in_ns(ns, *argv).stdout.splitlines()
    return [x.rsplit(" [", 1)[0] if x.startswith(":") else x for x in out if not x.startswith("#")]


def failure(agent: Agent, op: str, **args: Any) -> AgentError:
    """The error the agent answers ``op`` with (the test fails if it succeeds)."""
    with pytest.raises(AgentError) as raised:
        agent.call(op, **args)
    return raised.value


@dataclass(frozen=True)
class Variant:
    """A kind of host: the interpreter the agent starts with, and its session's bin dir."""

    name: str
    python: str
    bin_dir: str | None = None
    old_kernel: bool = False


class LocalAgent:
    """One agent process in namespace ``ns``: its hello and ready lines, and
    ``agent``, hostnet's client on its stdin and stdout (None with ``client=False``, for
    tests of the wire itself, which use ``exchange``)."""

    def __init__(
        self,
        ns: str,
        run_dir: Path,
        variant: Variant,
        *,
        path: str | None = None,
        extra: dict[str, str] | None = None,
        client: bool = True,
    ) -> None:
        env = dict(os.environ, HOSTNET_RUN_DIR=str(run_dir), **(extra or {}))
        env["PATH"] = ":".join(p for p in (path, variant.bin_dir, os.environ["PATH"]) if p)
        self._err = (run_dir / f"agent-{secrets.token_hex(2)}.stderr").open("wb")
        exe = variant.python
        argv = ["nsenter", f"--net=/run/netns/{ns}", exe, *INTERPRETER_FLAGS, "-c", BOOTSTRAP, exe]
        # Its stdin is a socket, which is what the client sends on (sendall, close),
        # as it sends on an SSH channel; its answers come on a pipe.
        self._in, theirs = socket.socketpair()
        with theirs:
            self.proc = subprocess.Popen(
                argv, stdin=theirs, stdout=subprocess.PIPE, stderr=self._err, env=env
            )
        assert self.proc.stdout is not None
        self._out = self.proc.stdout
        self.hello: dict[str, Any] = json.loads(self._out.readline())
        payload = build_payload((self.hello["python"][0], self.hello["python"][1]))
        self._in.sendall(str(len(payload)).encode() + b"\n" + payload)
        self.ready: dict[str, Any] = json.loads(self._out.readline())
        self.agent: Agent | None = None
        if client:
            self.agent = Agent(host=ns, channel=self._in, stdout=self._out, info=self.ready)

    def exchange(self, line: bytes) -> dict[str, Any]:
        """Write one raw line, read the one answer line (no client attached)."""
        assert self.agent is None, "the client reads the answers of this agent"
        self._in.sendall(line)
        answer: dict[str, Any] = json.loads(self._out.readline())
        return answer

    def close(self) -> int:
        """EOF on the agent's stdin; its exit code."""
        if self.agent is not None:
            self.agent.close()
        else:
            self._in.close()
        code = self.proc.wait(timeout=30)
        self._err.close()
        return code
