"""A real PostgreSQL server for Pulumi's postgres backend: Debian's postgresql,
an unprivileged cluster in a temporary directory, listening on 127.0.0.1 of the
namespace the tests run in (the lab's control namespace, whose loopback is up
and which has no route out), stopped and removed afterwards."""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

USER = "postgres"  # the system user Debian's package creates; initdb refuses root
DATABASE = "pulumi"
ROLE = "hostnet"


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> int:
    return int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0


def loopback_up() -> bool:
    proc = subprocess.run(
        ["ip", "-o", "link", "show", "lo"], capture_output=True, text=True, check=False
    )
    return proc.returncode == 0 and "UP" in proc.stdout.split(">")[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Postgres:
    bin: Path
    home: Path
    port: int
    password: str

    @property
    def url(self) -> str:
        """What `pulumi login` takes; the password stays in this process's environment."""
        return f"postgres://{ROLE}:{self.password}@127.0.0.1:{self.port}/{DATABASE}?sslmode=disable"

    def _as_postgres(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["runuser", "-u", USER, "--", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
            env={
                "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                "PGPASSWORD": self.password,
                "LC_ALL": "C",
            },
        )

    def start(self) -> None:
        data, pwfile = self.home / "data", self.home / "password"
        pwfile.write_text(self.password)
        os.chown(pwfile, *_ids())
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(data), "-U", ROLE, "--auth=scram-sha-256",
            f"--pwfile={pwfile}", "-E", "UTF8", "--no-instructions",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.home}"
        )
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.home / "log"), "-w",
            "-t", "60", "-o", options, "start",
        )  # fmt: skip
        self._as_postgres(
            str(self.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            ROLE,
            DATABASE,
        )

    def sql(self, query: str) -> list[str]:
        proc = self._as_postgres(
            str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", ROLE,
            "-d", DATABASE, "-At", "-c", query,
        )  # fmt: skip
        return [line for line in proc.stdout.splitlines() if line]

    def running(self) -> bool:
        proc = self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.home / "data"), "status", check=False
        )
        return proc.returncode == 0

    def stop(self) -> None:
        if (self.home / "data" / "postmaster.pid").exists():
            self._as_postgres(
                str(self.bin / "pg_ctl"), "-D", str(self.home / "data"), "-m", "fast", "-w", "stop"
            )
        shutil.rmtree(self.home)


def _ids() -> tuple[int, int]:
    entry = pwd.getpwnam(USER)
    return entry.pw_uid, entry.pw_gid


def new_server() -> Postgres:
    """A cluster in a fresh directory of /tmp owned by the postgres user (not started)."""
    bin_dir = pg_bin()
    assert bin_dir is not None
    home = Path(tempfile.mkdtemp(prefix="hostnet-pg-"))
    os.chown(home, *_ids())
    return Postgres(bin=bin_dir, home=home, port=_free_port(), password=secrets.token_hex(16))
