"""Values of the Kubernetes Secrets a Task refers to, given on the command line, and their masking.

Sources, later ones winning: ``--secrets-file FILE`` (YAML or JSON; Secret manifests with ``stringData``
and/or base64 ``data``, a ``List`` of them, or a plain ``{secret: {key: value}}`` mapping), then
``--secret NAME/KEY=VALUE``. Kubernetes' rules for ``secretKeyRef``: a missing key of an ``optional``
ref leaves the variable unset; a missing non-optional one stops the pod (here: before the run starts).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from compiler.localrun.errors import LocalRunError

MASK = "***"
# The re-executed ``run`` reads the --secret flags from this inherited pipe (its number in the env var).
SECRETS_FD_ENV = "ODAHU_BATCH_SECRET_FLAGS_FD"
PIPE_BUFFER = 60_000  # under Linux's 64 KiB pipe buffer: written whole before the exec, never blocking
# Shorter values are not masked inside text: masking "a" or "1" would garble every line.
MIN_MASKED_LENGTH = 6
# A multi-line secret (a service-account JSON) is also masked line by line, for logs that print a part.
MIN_MASKED_LINE = 12


@dataclass(frozen=True)
class SecretStore:
    """``secret name -> key -> value``."""

    secrets: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def get(self, name: str, key: str) -> str | None:
        return self.secrets.get(name, {}).get(key)

    def values(self) -> set[str]:
        return {value for keys in self.secrets.values() for value in keys.values()}

    @classmethod
    def from_sources(cls, files: Sequence[Path] = (), flags: Sequence[str] = ()) -> SecretStore:
        merged: dict[str, dict[str, str]] = {}
        for path in files:
            for name, keys in _read_file(path).items():
                merged.setdefault(name, {}).update(keys)
        for flag in flags:
            name, key, value = _parse_flag(flag)
            merged.setdefault(name, {})[key] = value
        return cls(merged)


def _parse_flag(flag: str) -> tuple[str, str, str]:
    ref, sep, value = flag.partition("=")
    name, slash, key = ref.partition("/")
    if not sep or not slash or not name or not key:
        raise LocalRunError(f"--secret {_masked_flag(flag)!r}: expected NAME/KEY=VALUE")
    return name, key, value


def _masked_flag(flag: str) -> str:
    ref, sep, _ = flag.partition("=")
    return f"{ref}{sep}{MASK}" if sep else ref


def _read_file(path: Path) -> dict[str, dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalRunError(f"--secrets-file {path}: cannot read it ({exc})") from exc
    try:
        docs = [d for d in YAML(typ="safe", pure=True).load_all(text) if d is not None]
    except YAMLError as exc:
        raise LocalRunError(f"--secrets-file {path}: not valid YAML or JSON ({exc})") from exc
    out: dict[str, dict[str, str]] = {}
    for doc in docs:
        for name, keys in _secrets_of(doc, path):
            out.setdefault(name, {}).update(keys)
    return out


def _secrets_of(doc: Any, path: Path) -> Iterable[tuple[str, dict[str, str]]]:
    if not isinstance(doc, dict):
        raise LocalRunError(f"--secrets-file {path}: expected a mapping or Secret manifests")
    kind = doc.get("kind")
    if kind == "Secret":
        yield _manifest(doc, path)
    elif kind == "List" or (isinstance(kind, str) and kind.endswith("List")):
        for item in doc.get("items") or []:
            yield from _secrets_of(item, path)
    elif kind is None and "apiVersion" not in doc:
        for name, keys in doc.items():
            if not isinstance(keys, dict):
                raise LocalRunError(
                    f"--secrets-file {path}: secret {name!r} must map keys to values "
                    "({name: {key: value}})"
                )
            yield str(name), {str(k): _text(v) for k, v in keys.items()}
    else:
        raise LocalRunError(f"--secrets-file {path}: a {kind} is not a Secret")


def _manifest(doc: dict[str, Any], path: Path) -> tuple[str, dict[str, str]]:
    name = (doc.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not name:
        raise LocalRunError(f"--secrets-file {path}: a Secret without metadata.name")
    keys: dict[str, str] = {}
    for key, value in (doc.get("data") or {}).items():
        try:
            keys[str(key)] = base64.b64decode(str(value), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise LocalRunError(
                f"--secrets-file {path}: Secret {name} key {key}: data must be base64 of UTF-8 text"
            ) from exc
    keys.update({str(k): _text(v) for k, v in (doc.get("stringData") or {}).items()})
    return name, keys


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else str(value)


class Masker:
    """Replaces every secret value in text with ``***``."""

    def __init__(self, values: Iterable[str]) -> None:
        pieces: set[str] = set()
        for value in values:
            if len(value) >= MIN_MASKED_LENGTH:
                pieces.add(value)
            if "\n" in value:
                pieces.update(
                    line.strip() for line in value.splitlines() if len(line.strip()) >= MIN_MASKED_LINE
                )
        # Longest first, so a secret that contains another is masked whole.
        self._values = sorted(pieces, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text


def flags_out_of_argv(flags: Sequence[str]) -> list[str]:
    """The ``--secret`` flags, once this process's command line no longer holds their values.

    ``ps`` and ``/proc/PID/cmdline`` show any user the argv of a process for as long as it runs, and a
    local run lasts minutes. So ``run`` re-executes itself at once with each value masked (``NAME/KEY=***``)
    and the real flags in a pipe the new process inherits and reads here, then closes. Flags that are not on
    this process's command line (``main([...])`` called in-process) are returned as given.
    """
    fd_text = os.environ.pop(SECRETS_FD_ENV, None)
    if fd_text is not None:
        with os.fdopen(int(fd_text), "r", encoding="utf-8") as pipe:
            real: list[str] = json.load(pipe)
        if [_masked_flag(flag) for flag in real] != [_masked_flag(flag) for flag in flags]:
            raise LocalRunError("the --secret flags changed across the re-exec")
        return real
    argv = _masked_argv(list(getattr(sys, "orig_argv", [])), flags)
    if not flags or argv is None:
        return list(flags)
    data = json.dumps(list(flags)).encode("utf-8")
    if len(data) > PIPE_BUFFER:
        raise LocalRunError("too many --secret values for one command line: give them with --secrets-file")
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    os.set_inheritable(read_end, True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, {**os.environ, SECRETS_FD_ENV: str(read_end)})
    raise AssertionError("unreachable")  # pragma: no cover


def _masked_argv(argv: list[str], flags: Sequence[str]) -> list[str] | None:
    """``argv`` with every flag's value masked, or None when a flag is not found in it (not from argv)."""
    left = list(flags)
    out = []
    for token in argv:
        option, eq, value = token.partition("=")
        if token in left:
            left.remove(token)
            token = _masked_flag(token)
        elif token.startswith("--") and eq and value in left:  # --secret=NAME/KEY=VALUE (or --sec=...)
            left.remove(value)
            token = f"{option}={_masked_flag(value)}"
        out.append(token)
    return None if left or not argv else out
