#!/usr/bin/env python3
"""Python language host for the Pulumi CLI, used by hostnet's stacks.

Pulumi's own Go language host (pulumi-language-python) is used whenever it is
installed. This launcher exists because that Go module,
github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3, is not
available from the Go module proxy that hostnet's machines build the CLI from.
It serves the LanguageRuntime gRPC service the CLI needs for preview, up,
refresh, destroy, stack and config, and runs programs with Pulumi's own program
runner, pulumi-language-python-exec, exactly as the Go host invokes it. It
reports the resource plugins a program's installed distributions call for by
the Go host's rules, so a package that would send a stock Pulumi looking for a
plugin does the same here.

Started by the CLI as `pulumi-language-python [flags] ENGINE_ADDRESS`; prints
the port it serves on, then serves until the CLI interrupts it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from concurrent import futures
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

EXEC_NAME = "pulumi-language-python-exec"
# Distributions Pulumi's host knows to carry no plugin whatever their name.
PACKAGES_WITHOUT_PLUGINS = frozenset(
    {"pulumi-policy", "pulumi_policy", "pulumi-esc-sdk", "pulumi_esc_sdk"}
)
PLUGIN_FILE = "pulumi-plugin.json"
# The program runner exits with this code after it has shown the user an error.
EXIT_ALREADY_REPORTED = 32
# Matches the message limit the CLI sets on its side of the connection.
MAX_MESSAGE = 400 * 1024 * 1024
_LIST_DISTRIBUTIONS = (
    "import json, importlib.metadata as m; print(json.dumps(sorted("
    "{d.metadata['Name']: d.version for d in m.distributions()}.items())))"
)
_PIP_LIST = ["-m", "pip", "list", "-v", "--format", "json"]
_ABOUT = (
    "import json, platform, sys; print(json.dumps([sys.executable, platform.python_version()]))"
)


def virtualenv_dir(*, root: str, options: dict[str, Any]) -> Path | None:
    """Resolves Pulumi.yaml's runtime.options.virtualenv against the project root."""
    venv = options.get("virtualenv")
    if venv is None or venv == "":
        return None
    if not isinstance(venv, str):
        raise ValueError("virtualenv option must be a string")
    path = Path(venv)
    return path if path.is_absolute() else Path(root) / path


def python_command(*, venv: Path | None) -> str:
    """The interpreter a program runs under: the project's venv, else PULUMI_PYTHON_CMD/python3."""
    if venv is not None:
        return str(venv / "bin" / "python")
    name = os.environ.get("PULUMI_PYTHON_CMD") or "python3"
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found on PATH; set PULUMI_PYTHON_CMD")
    return found


def check_virtualenv(*, option: str, venv: Path) -> None:
    """Fails the way Pulumi's host does when the configured venv is unusable."""
    if (venv / "bin" / "python").exists():
        return
    state = "doesn't exist" if not venv.exists() else "doesn't appear to be a virtual environment"
    raise FileNotFoundError(
        f"The 'virtualenv' option in Pulumi.yaml is set to {option!r}, but {str(venv)!r} {state}; "
        f"create it with: python3 -m venv {venv} && {venv}/bin/python -m pip install -e ."
    )


def program_env(*, base: dict[str, str], venv: Path | None, req: Any) -> dict[str, str]:
    """The environment of the program: the venv activated plus the stack's config."""
    env = dict(base)
    if venv is not None:
        env.pop("PYTHONHOME", None)
        env["PATH"] = os.pathsep.join(p for p in (str(venv / "bin"), env.get("PATH")) if p)
        env["VIRTUAL_ENV"] = str(venv)
    env["PULUMI_CONFIG"] = json.dumps(dict(req.config))
    env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(req.configSecretKeys))
    return env


def exec_arguments(*, req: Any, engine: str) -> list[str]:
    """Command-line flags for pulumi-language-python-exec, in the Go host's order."""
    flags = [
        ("monitor", req.monitor_address),
        ("engine", engine),
        ("project", req.project),
        ("root_directory", req.info.root_directory),
        ("stack", req.stack),
        ("pwd", req.pwd),
        ("dry_run", "true" if req.dryRun else "false"),
        ("parallel", str(req.parallel)),
        ("organization", req.organization),
    ]
    args = [part for key, value in flags if value for part in (f"--{key}", value)]
    return [*args, req.info.entry_point or req.program or ".", *req.args]


def exit_result(returncode: int) -> tuple[str, bool]:
    """Maps the runner's exit code to RunResponse (error, bail) like the Go host."""
    if returncode == 0:
        return "", False
    if returncode == EXIT_ALREADY_REPORTED:
        return "", True
    if returncode < 0:
        return f"program exited unexpectedly: signal {-returncode}", False
    return f"program exited with non-zero exit code: {returncode}", False


def _options(info: Any) -> dict[str, Any]:
    return dict(info.options.items()) if info.HasField("options") else {}


def plugin_version(version: str) -> str | None:
    """A PEP 440 version as a plugin's semver, as Pulumi's host converts it; None if it cannot."""
    match = re.fullmatch(
        r"(\d+(?:\.\d+)*)(?:(a|b|rc)(\d*))?(?:\.post(\d*))?(?:\.dev(\d*))?", version
    )
    if match is None:
        return None
    release, pre, pre_n, post, dev = match.groups()
    segments = release.split(".")
    segments += ["0"] * (3 - len(segments))
    text = ".".join(segments)
    if pre:
        text += "-" + {"a": "alpha", "b": "beta", "rc": "rc"}[pre] + "." + pre_n
    if post is not None:
        text += "+post" + post
    if dev is not None:
        text += ("" if post is not None else "+") + "dev" + dev
    return text


def plugin_file(package: dict[str, Any]) -> dict[str, Any] | None:
    """The package's pulumi-plugin.json where Pulumi's host looks for it: under the
    install location, in the module named like the distribution with '-' as '_'."""
    module = str(package["name"]).replace("-", "_")
    path = Path(str(package.get("location") or "")) / module / PLUGIN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return data if isinstance(data, dict) else {}


def package_dependency(package: dict[str, Any]) -> dict[str, str] | None:
    """The resource plugin an installed distribution makes Pulumi look for, or None.

    Pulumi's Go host takes a distribution as a Pulumi package when it carries a
    pulumi-plugin.json or its name starts with ``pulumi-``/``pulumi_``; one whose
    file says ``"resource": false`` needs no plugin, and a missing field comes from
    the distribution (name without ``pulumi-``, its version as semver).
    """
    name = str(package["name"])
    declared = plugin_file(package)
    if declared is None and not name.startswith(("pulumi-", "pulumi_")):
        return None
    if name in PACKAGES_WITHOUT_PLUGINS:
        return None
    declared = declared or {}
    if declared and not declared.get("resource"):
        return None
    plugin = str(declared.get("name") or "") or name.removeprefix("pulumi-")
    version = str(declared.get("version") or "") or plugin_version(str(package["version"]))
    if not version:
        return None
    if not version.startswith("v"):
        version = "v" + version
    return {
        "name": plugin,
        "version": version,
        "kind": "resource",
        "server": str(declared.get("server") or ""),
    }


def required_packages(python: str) -> list[dict[str, str]]:
    """Every plugin the distributions installed for ``python`` make Pulumi require."""
    done = subprocess.run(  # noqa: S603 (argv list, no shell)
        [python, *_PIP_LIST], check=True, capture_output=True, text=True
    )
    # pip -v may print a trailer after the JSON document.
    packages, _ = json.JSONDecoder().raw_decode(done.stdout.lstrip())
    found = (package_dependency(p) for p in packages)
    return [dep for dep in found if dep is not None]


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    """LanguageRuntime for Python programs; unlisted RPCs answer UNIMPLEMENTED."""

    def __init__(self, *, engine: str, exec_path: Path) -> None:
        self.engine = engine
        self.exec_path = exec_path
        self._lock = threading.Lock()
        self._children: set[subprocess.Popen[bytes]] = set()

    def Handshake(self, request: Any, context: Any) -> Any:
        self.engine = request.engine_address
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request: Any, context: Any) -> Any:
        return plugin_pb2.PluginInfo(version=metadata.version("pulumi"))

    def GetRequiredPlugins(self, request: Any, context: Any) -> Any:
        deps = [
            plugin_pb2.PluginDependency(
                name=d["name"], version=d["version"], kind=d["kind"], server=d["server"]
            )
            for d in self._required(request.info)
        ]
        return language_pb2.GetRequiredPluginsResponse(plugins=deps)

    def GetRequiredPackages(self, request: Any, context: Any) -> Any:
        deps = [
            plugin_pb2.PackageDependency(
                name=d["name"], version=d["version"], kind=d["kind"], server=d["server"]
            )
            for d in self._required(request.info)
        ]
        return language_pb2.GetRequiredPackagesResponse(packages=deps)

    def InstallDependencies(self, request: Any, context: Any) -> Any:
        yield language_pb2.InstallDependenciesResponse(
            stdout=b"Dependencies come from the project's virtualenv; nothing to install.\n"
        )

    def RuntimeOptionsPrompts(self, request: Any, context: Any) -> Any:
        return language_pb2.RuntimeOptionsResponse()

    def About(self, request: Any, context: Any) -> Any:
        executable, version = json.loads(self._python_output(request.info, _ABOUT))
        return language_pb2.AboutResponse(executable=executable, version=version)

    def GetProgramDependencies(self, request: Any, context: Any) -> Any:
        pairs = json.loads(self._python_output(request.info, _LIST_DISTRIBUTIONS))
        deps = [language_pb2.DependencyInfo(name=name, version=ver) for name, ver in pairs]
        return language_pb2.GetProgramDependenciesResponse(dependencies=deps)

    def Cancel(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()

    def Run(self, request: Any, context: Any) -> Any:
        info = request.info
        try:
            venv = virtualenv_dir(root=info.root_directory, options=_options(info))
            if venv is not None:
                check_virtualenv(option=str(_options(info)["virtualenv"]), venv=venv)
            python = python_command(venv=venv)
        except (ValueError, FileNotFoundError) as err:
            return language_pb2.RunResponse(error=str(err))
        # -u: output reaches the CLI as the program writes it, even if the program is killed.
        argv = [python, "-u", str(self.exec_path), *exec_arguments(req=request, engine=self.engine)]
        env = program_env(base=dict(os.environ), venv=venv, req=request)
        try:
            child = subprocess.Popen(argv, env=env)  # noqa: S603 (argv list, no shell)
        except OSError as err:
            msg = f"problem executing program (could not run language executor): {err}"
            return language_pb2.RunResponse(error=msg)
        with self._lock:
            self._children.add(child)
        try:
            error, bail = exit_result(child.wait())
        finally:
            with self._lock:
                self._children.discard(child)
        return language_pb2.RunResponse(error=error, bail=bail)

    def interrupt_children(self) -> None:
        with self._lock:
            for child in self._children:
                child.send_signal(signal.SIGINT)

    def _required(self, info: Any) -> list[dict[str, str]]:
        venv = virtualenv_dir(root=info.root_directory, options=_options(info))
        return required_packages(python_command(venv=venv))

    def _python_output(self, info: Any, code: str) -> str:
        venv = virtualenv_dir(root=info.root_directory, options=_options(info))
        argv = [python_command(venv=venv), "-c", code]
        done = subprocess.run(argv, check=True, capture_output=True, text=True)  # noqa: S603
        return done.stdout


def find_exec(*, bin_dir: Path) -> Path:
    """pulumi-language-python-exec: next to the invoked launcher, else on PATH."""
    beside = bin_dir / EXEC_NAME
    if beside.is_file():
        return beside
    found = shutil.which(EXEC_NAME)
    if found is None:
        raise FileNotFoundError(f"missing executor {beside} (and none on PATH)")
    return Path(found)


def serve(*, engine: str, exec_path: Path) -> None:
    host = LanguageHost(engine=engine, exec_path=exec_path)
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE),
        ("grpc.max_send_message_length", MAX_MESSAGE),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=options)
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    parent = os.getppid()
    # A CLI that dies without interrupting us re-parents us; stop then rather than linger.
    while not stop.wait(timeout=1.0) and os.getppid() == parent:
        pass
    host.interrupt_children()
    server.stop(grace=2.0).wait()


def parse_args(argv: list[str]) -> tuple[str, Path | None]:
    """(engine address, -use-executor) from the CLI's Go-style arguments.

    The engine address is the last positional argument; logging and tracing flags
    that may precede it do not matter here.
    """
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("-use-executor", "--use-executor", dest="executor", type=Path)
    parser.add_argument("-tracing", "--tracing")
    args, rest = parser.parse_known_args(argv)
    engine = next((arg for arg in reversed(rest) if not arg.startswith("-")), "")
    return engine, args.executor


def main(argv: list[str]) -> int:
    engine, executor = parse_args(argv)
    bin_dir = Path(os.environ.get("PULUMI_LANGUAGE_PYTHON_BIN", Path(__file__).parent))
    try:
        exec_path = executor or find_exec(bin_dir=bin_dir)
    except FileNotFoundError as err:
        print(f"pulumi-language-python: {err}", file=sys.stderr)
        return 1
    serve(engine=engine, exec_path=exec_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
