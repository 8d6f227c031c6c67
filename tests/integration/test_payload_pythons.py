"""The agent's payload under real interpreters: every Python from 3.6 to 3.13 runs
the real bootstrap with the payload built for it (the pyenv interpreters of this
machine, `pyenv versions`) and answers a ping; 2.7 is refused before anything is
read. The launcher's interpreter discovery is run by /bin/sh with a PATH that
holds only the interpreters a test gives it. Payloads for 3.6-3.8 need the wheels
`make setup` downloads.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hostnet.payload import BOOTSTRAP, DISCOVERY, OLD_PYROUTE2, build_payload, launcher

LOCAL = (sys.version_info[0], sys.version_info[1])
PYENV = {
    "2.7": "2.7.18",
    "3.6": "3.6.15",
    "3.7": "3.7.16",
    "3.8": "3.8.18",
    "3.9": "3.9.18",
    "3.10": "3.10.13",
    "3.11": "3.11.7",
    "3.12": "3.12.1",
    "3.13": "3.13.0",
}
# The agent refuses to run as anyone but root; these tests only ask it for a ping.
AS_ROOT = "import os; os.geteuid = lambda: 0\n"


def pyenv_python(minor: str) -> str:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    exe = root / "versions" / PYENV[minor] / "bin" / f"python{minor}"
    if not os.access(exe, os.X_OK):
        pytest.fail(f"{exe} is missing: these tests use the pyenv interpreters", pytrace=False)
    return str(exe)


def test_old_pythons_get_pyroute2_0_8_and_3_6_alone_the_dataclasses_backport() -> None:
    for version in ((3, 6), (3, 7), (3, 8)):
        payload = zipfile.ZipFile(io.BytesIO(build_payload(version)))
        assert "pyroute2/iproute/linux.py" in payload.namelist()  # 0.8's layout
        assert ("dataclasses.py" in payload.namelist()) == (version == (3, 6)), version
    new = zipfile.ZipFile(io.BytesIO(build_payload((3, 13) if LOCAL != (3, 13) else (3, 12))))
    assert "dataclasses.py" not in new.namelist()


@pytest.mark.parametrize("minor", [m for m in PYENV if m != "2.7"])
def test_payload_imports_and_answers_a_ping_under_each_python(minor: str) -> None:
    exe = pyenv_python(minor)
    version = tuple(int(part) for part in minor.split("."))
    payload = build_payload((version[0], version[1]))
    request = json.dumps({"id": 1, "ops": [{"op": "ping"}, {"op": "info"}]}).encode() + b"\n"
    # -I -S: nothing from the interpreter's site-packages; all comes from the payload.
    done = subprocess.run(
        [exe, "-I", "-S", "-u", "-c", AS_ROOT + BOOTSTRAP, exe],
        input=str(len(payload)).encode() + b"\n" + payload + request,
        capture_output=True,
        timeout=120,
        check=False,
        # As sshd starts it: the start-up reads the management path from this.
        env={**os.environ, "SSH_CONNECTION": "127.0.0.1 40000 127.0.0.1 22"},
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    hello, ready, reply = (json.loads(line) for line in done.stdout.splitlines())
    assert ready["management"]["peer"] == "127.0.0.1"
    assert hello["python"][:2] == list(version) and ready["ready"] is True
    assert reply["ok"] and reply["results"][0] == {"pong": True}
    info = reply["results"][1]
    assert info["python"].startswith(minor + ".")
    assert info["pyroute2"] == (OLD_PYROUTE2 if version < (3, 9) else "0.9.7")


def test_bootstrap_refuses_python_2_7_before_reading_anything() -> None:
    exe = pyenv_python("2.7")
    done = subprocess.run(
        [exe, "-u", "-c", BOOTSTRAP, "python"],
        input=b"",
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    said = json.loads(done.stdout)
    assert said == {"error": "NoSuitablePython", "python": "2.7.18", "tried": "python"}


def _launch(tmp_path: Path, links: dict[str, str], python: str | None = None) -> list[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, target in links.items():
        (bin_dir / name).symlink_to(target)
    done = subprocess.run(
        ["/bin/sh", "-c", "exec " + launcher(python)],
        env={"PATH": str(bin_dir)},
        input=b"",
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.stdout.decode().splitlines()


def test_a_named_interpreter_is_the_only_one_tried(tmp_path: Path) -> None:
    lines = [json.loads(line) for line in _launch(tmp_path, {}, python="/opt/py/bin/python3")]
    assert lines == [
        {"tried": "/opt/py/bin/python3", "answer": "not found"},
        {"error": "NoSuitablePython"},
    ]


def test_discovery_names_every_interpreter_it_tried(tmp_path: Path) -> None:
    lines = [json.loads(line) for line in _launch(tmp_path, {"python": pyenv_python("2.7")})]
    tried = [line["tried"] for line in lines if "tried" in line]
    assert tried == list(DISCOVERY)
    assert lines[-2] == {"error": "NoSuitablePython", "python": "2.7.18", "tried": "python"}
    assert lines[-1] == {"error": "NoSuitablePython"}


def test_discovery_takes_the_newest_python3_n_when_python3_is_missing(tmp_path: Path) -> None:
    links = {"python3.6": pyenv_python("3.6"), "python3.8": pyenv_python("3.8")}
    lines = [json.loads(line) for line in _launch(tmp_path, links)]
    hello = lines[-1]
    assert hello["hello"] == 1 and hello["python"][:2] == [3, 8]
    assert hello["interpreter"] == "python3.8"
    assert [line["tried"] for line in lines[:-1]] == list(DISCOVERY[: DISCOVERY.index("python3.8")])
