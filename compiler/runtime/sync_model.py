"""sync-model: fetch the model with rclone, unpack it safely if it is an archive, write its name and version.

Usage: sync_model.py --source CONN:PATH --staging DIR --dest DIR --meta FILE [--rclone PATH] [--config FILE]
       [--max-bytes N] [--max-members N] [--default-name N] [--default-version V]

A remote folder is copied as is. A remote single file whose name ends .tar.gz/.tgz/.tar/.zip is unpacked into
DEST with Python's tarfile/zipfile (see _archive.py for the refusals); its format is taken from its magic
bytes. Any other single file is placed into DEST unchanged (a model file such as a .pt is itself a zip, so
magic bytes alone never trigger unpacking). Then DEST/odahuflow.project.yaml gives ``model.name`` and
``model.version``, written to FILE as ``{"name": ..., "version": ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from typing import Dict, List, Optional, Sequence

try:
    from . import _common as common
    from ._archive import UnsafeArchive, archive_kind, clear_dir, is_archive_name, safe_extract
except ImportError:  # run as a plain file next to its siblings
    import _common as common  # type: ignore[no-redef,import-not-found]
    from _archive import (  # type: ignore[no-redef,import-not-found]
        UnsafeArchive,
        archive_kind,
        clear_dir,
        is_archive_name,
        safe_extract,
    )

__all__ = ["main", "parse_project_yaml", "safe_extract"]

PROG = "sync-model"
PROJECT_FILE = "odahuflow.project.yaml"


def _scalar(text: str) -> str:
    """A YAML scalar from the subset we read: 'single', "double" or plain, with a trailing comment."""
    text = text.strip()
    if text.startswith("'"):
        end = 1
        while True:
            end = text.find("'", end)
            if end < 0:
                raise ValueError("unterminated single-quoted string")
            if text[end + 1 : end + 2] == "'":
                end += 2
                continue
            return text[1:end].replace("''", "'")
    if text.startswith('"'):
        end = 1
        while end < len(text) and text[end] != '"':
            end += 2 if text[end] == "\\" else 1
        if end >= len(text):
            raise ValueError("unterminated double-quoted string")
        value = json.loads(text[: end + 1])
        return str(value)
    for marker in (" #", "\t#"):
        if marker in text:
            text = text[: text.index(marker)]
    return "" if text.startswith("#") else text.strip()


def _split_flow(body: str) -> Dict[str, str]:
    items: Dict[str, str] = {}
    for part in body.split(","):
        if ":" in part:
            key, _, value = part.partition(":")
            items[_scalar(key)] = _scalar(value)
    return items


def parse_project_yaml(text: str) -> Dict[str, str]:
    """``name``/``version`` of the top-level ``model:`` mapping (block or one-line flow form)."""
    found: Dict[str, str] = {}
    in_model = False
    child_indent: Optional[int] = None
    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        indent = len(line) - len(stripped)
        if indent == 0:
            key, _, rest = stripped.partition(":")
            in_model = _scalar(key) == "model"
            child_indent = None
            rest = rest.strip()
            if in_model and rest.startswith("{"):
                found.update(_split_flow(rest[1 : rest.rindex("}")]))
                in_model = False
            continue
        if not in_model:
            continue
        if child_indent is None:
            child_indent = indent
        if indent != child_indent or ":" not in stripped:
            continue
        key, _, rest = stripped.partition(":")
        found[_scalar(key)] = _scalar(rest)
    return {k: v for k, v in found.items() if k in ("name", "version")}


def _fetch(rclone: common.Rclone, source: str, staging: str) -> Optional[str]:
    """Copy the model into staging; return the single file's path when the source is a file."""
    listing = rclone.run("sync-model: stat", ["lsjson", "--stat", source], quiet=False)
    try:
        is_dir = bool(json.loads(listing).get("IsDir"))
    except (ValueError, AttributeError):
        raise common.Fail(f"sync-model: cannot read rclone's stat of {source}") from None
    os.makedirs(staging, exist_ok=True)
    if is_dir:
        rclone.run("sync-model: copy", ["copy", source, staging])
        # Object stores have no real folders: a mistyped model path lists as an empty one.
        if not any(files for _, _, files in os.walk(staging)):
            raise common.Fail(f"sync-model: no model files at {source} (empty or missing folder)")
        return None
    target = os.path.join(staging, source.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1])
    rclone.run("sync-model: copy", ["copyto", source, target])
    return target


def _place(staging: str, single: Optional[str], dest: str, max_bytes: int, max_members: int) -> str:
    os.makedirs(dest, exist_ok=True)
    clear_dir(dest)
    if single is not None and is_archive_name(single):
        if archive_kind(single) is None:
            raise common.Fail(f"model {os.path.basename(single)!r} is named like an archive but is not one")
        try:
            count = safe_extract(single, dest, max_bytes, max_members)
        except UnsafeArchive as exc:
            raise common.Fail(f"refused to unpack the model: {exc}") from None
        return f"unpacked {os.path.basename(single)} ({count} members)"
    entries: List[str] = sorted(os.listdir(staging))
    for entry in entries:
        shutil.move(os.path.join(staging, entry), os.path.join(dest, entry))
    return f"placed {len(entries)} entries as is"


def _meta(dest: str, default_name: Optional[str], default_version: Optional[str]) -> Dict[str, str]:
    path = os.path.join(dest, PROJECT_FILE)
    if not os.path.isfile(path):
        if default_name is None and default_version is None:
            print(
                f"{PROG}: warning: no {PROJECT_FILE} in the model: name and version left empty",
                file=sys.stderr,
            )
        return {"name": default_name or "", "version": default_version or ""}
    try:
        with open(path, encoding="utf-8") as fh:
            meta = parse_project_yaml(fh.read())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise common.Fail(f"cannot read {PROJECT_FILE}: {exc}") from None
    if not meta.get("name"):
        raise common.Fail(f"{PROJECT_FILE} has no model.name")
    return {"name": meta["name"], "version": meta.get("version", default_version or "")}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="CONN:PATH of the model folder or archive")
    parser.add_argument("--staging", required=True, help="download folder")
    parser.add_argument("--dest", required=True, help="model folder the user step reads")
    parser.add_argument("--meta", required=True, help="JSON file to write with the model name and version")
    parser.add_argument("--rclone", help="rclone binary (default: $ODAHU_RCLONE or rclone on PATH)")
    parser.add_argument("--config", help="rclone config (default: $RCLONE_CONFIG)")
    parser.add_argument("--max-bytes", type=int, default=20 << 30, help="unpacked size cap (default 20 GiB)")
    parser.add_argument("--max-members", type=int, default=100000, help="member count cap (default 100000)")
    parser.add_argument("--default-name", help="model name when the model has no odahuflow.project.yaml")
    parser.add_argument(
        "--default-version", help="model version when the model has no odahuflow.project.yaml"
    )
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="overall time limit, seconds")
    args = parser.parse_args(argv)
    rclone = common.Rclone(args.rclone, args.config, args.timeout)
    single = _fetch(rclone, args.source, args.staging)
    common.log(PROG, f"fetched {args.source}")
    common.log(PROG, _place(args.staging, single, args.dest, args.max_bytes, args.max_members))
    meta = _meta(args.dest, args.default_name, args.default_version)
    common.write_json(args.meta, meta, indent=None)
    common.log(PROG, f"model {meta['name'] or '?'} version {meta['version'] or '?'} -> {args.meta}")
    return 0


if __name__ == "__main__":
    sys.exit(common.run_main(PROG, main, None))
