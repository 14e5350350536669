"""Find spec files and read them into raw documents with a source map.

The only stage that touches the file system. Every problem (unreadable path, binary file, YAML
syntax, duplicate keys, a document that is not a mapping) becomes a located diagnostic and the
other files are still read, so one run reports everything.

A raw document is plain Python data (dict / list / str / int / float / bool / None) plus two maps
from a JSON path (a tuple of keys and indexes, the same shape as a pydantic error ``loc``) to the
1-based position of that key and of its value in the file.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from compiler.diagnostics import Diagnostic, Location
from compiler.front.load_nodes import MAX_DEPTH, PathKey, Span, TooBig, TreeBuilder, node_pos

__all__ = ["LoadResult", "PathKey", "RawDocument", "Span", "load", "parse_text"]

SPEC_SUFFIXES = (".yaml", ".yml", ".json")
# ODAHU's tools write JSON too (``odahuflowctl ... -o json``, the API's answers, bulk files). In a folder, a
# .json file is a spec file only when it holds something with a ``kind``: the folders that hold specs often
# hold data (V2 requests, expected responses, manifests) as JSON as well.
JSON_SUFFIX = ".json"
MAX_FILE_BYTES = 16 * 1024 * 1024
# ODAHU's model metadata file lives in model folders that often sit next to the specs; it is never
# a spec, so a folder walk skips it (naming it on the command line still loads it).
NOT_SPECS = ("odahuflow.project.yaml", "odahuflow.project.yml")


@dataclass(frozen=True)
class RawDocument:
    file: str
    index: int
    data: dict[str, Any]
    keys: Mapping[PathKey, Span] = field(default_factory=dict)
    values: Mapping[PathKey, Span] = field(default_factory=dict)

    @property
    def start(self) -> Span:
        return self.values.get((), Span(1, 1))

    def locate(self, path: Sequence[str | int], *, key: bool = False) -> Location:
        """The position of ``path``'s key (``key=True``) or value; the nearest ancestor's if unknown."""
        probe: PathKey = tuple(path)
        while True:
            spans = (self.keys, self.values) if key else (self.values, self.keys)
            for table in spans:
                span = table.get(probe)
                if span is not None:
                    return Location(self.file, span.line, span.col, span.end_col)
            if not probe:
                return Location(self.file, 1, 1)
            probe = probe[:-1]
            key = True


@dataclass(frozen=True)
class LoadResult:
    documents: tuple[RawDocument, ...]
    sources: Mapping[str, str]
    diagnostics: tuple[Diagnostic, ...]


def load(paths: Iterable[str | Path]) -> LoadResult:
    """Read every spec file named by ``paths`` (files, or folders walked in sorted order)."""
    documents: list[RawDocument] = []
    sources: dict[str, str] = {}
    diags: list[Diagnostic] = []
    paths = list(paths)  # walked twice: once for the files named, once to expand
    named = {str(Path(p)) for p in paths if Path(p).is_file()}
    for file in _expand(paths, diags):
        text = _read(file, diags)
        if text is None:
            continue
        if file.endswith(JSON_SUFFIX) and file not in named and not _holds_kind(text):
            continue
        sources[file] = text
        docs, file_diags = parse_text(file, text)
        documents.extend(docs)
        diags.extend(file_diags)
    return LoadResult(tuple(documents), sources, tuple(diags))


def _holds_kind(text: str) -> bool:
    """Whether a JSON file found in a folder is meant as specs: it has a ``kind`` (a cheap first look)."""
    return '"kind"' in text


def _expand(paths: Iterable[str | Path], diags: list[Diagnostic]) -> list[str]:
    files: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if _is_spec(p, path))
            if not found:
                diags.append(
                    Diagnostic(
                        "W102",
                        f"folder has no *.yaml, *.yml or *.json files: {path}",
                        Location(str(path)),
                        severity="warning",
                    )
                )
            files.extend(str(p) for p in found)
        elif path.is_file():
            files.append(str(path))
        else:
            reason = "no such file or folder" if not path.exists() else "not a regular file or folder"
            diags.append(
                Diagnostic(
                    "E101",
                    f"cannot read {path}: {reason}",
                    Location(str(path)),
                    hint="pass spec files (*.yaml, *.yml, *.json) or folders that contain them",
                )
            )
    return list(dict.fromkeys(files))


def _is_spec(path: Path, root: Path) -> bool:
    # Editors and tools keep dot-folders (.git, .idea) next to specs; they are never specs.
    hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
    return path.suffix in SPEC_SUFFIXES and path.name not in NOT_SPECS and not hidden and path.is_file()


def _read(file: str, diags: list[Diagnostic]) -> str | None:
    try:
        with open(file, "rb") as handle:
            blob = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        diags.append(Diagnostic("E101", f"cannot read {file}: {exc.strerror or exc}", Location(file)))
        return None
    if len(blob) > MAX_FILE_BYTES:
        diags.append(
            Diagnostic(
                "E102",
                f"{file} is larger than {MAX_FILE_BYTES // 2**20} MiB: not a spec file",
                Location(file),
            )
        )
        return None
    if b"\0" in blob:
        at = blob.index(b"\0")
        line, col = blob[:at].count(b"\n") + 1, at - (blob.rfind(b"\n", 0, at) + 1) + 1
        diags.append(_binary(file, "it contains NUL bytes", line, col))
        return None
    try:
        text = blob.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = blob[: exc.start].count(b"\n") + 1
        col = exc.start - (blob.rfind(b"\n", 0, exc.start) + 1) + 1
        diags.append(_binary(file, f"byte 0x{blob[exc.start]:02x} is not valid UTF-8", line, col))
        return None
    return text.replace("\r\n", "\n")


def _binary(file: str, why: str, line: int = 0, col: int = 0) -> Diagnostic:
    return Diagnostic(
        "E102",
        f"not a text file: {why}",
        Location(file, line, col),
        hint="spec files are UTF-8 YAML; remove binary files from the spec folders",
    )


def parse_text(file: str, text: str) -> tuple[list[RawDocument], list[Diagnostic]]:
    """Parse one file's text into raw documents; never raises."""
    diags: list[Diagnostic] = []
    docs: list[RawDocument] = []
    yaml = YAML(typ="rt", pure=True)
    lines = text.split("\n")
    index = -1
    try:
        with warnings.catch_warnings():
            # ruamel warns (e.g. about reused anchors) through the warnings module; those are not errors.
            warnings.simplefilter("ignore")
            for index, node in enumerate(yaml.load_all(text)):
                for item in _documents_of(node):
                    doc = _document(file, index, item, lines, diags)
                    if doc is not None:
                        docs.append(doc)
    except MarkedYAMLError as exc:
        diags.append(_syntax(file, exc))
    except YAMLError as exc:
        diags.append(Diagnostic("E103", f"invalid YAML: {exc}", Location(file, 1, 1)))
    except RecursionError:
        diags.append(_too_deep(file, 1, 1))
    if index < 0 and not diags and not docs:
        diags.append(
            Diagnostic(
                "W101",
                "empty file: no documents",
                Location(file),
                severity="warning",
                hint="add a spec document or delete the file",
            )
        )
    return docs, diags


def _syntax(file: str, exc: MarkedYAMLError) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = str(exc.problem or exc.context or "invalid YAML")
    if type(exc).__name__ == "DuplicateKeyError":
        first = exc.context_mark
        where = f" (first defined on line {first.line + 1})" if first is not None else ""
        key = problem.split('"')[1] if problem.count('"') >= 2 else "?"
        return Diagnostic(
            "E105",
            f"duplicate key '{key}' in a mapping{where}",
            Location(file, line, col, col + len(key)),
            hint="each key may appear once per mapping; remove or merge the repeated one",
        )
    message = problem if not exc.context else f"{problem} ({exc.context})"
    return Diagnostic("E103", f"invalid YAML: {message}", Location(file, line, col))


def _too_deep(file: str, line: int, col: int) -> Diagnostic:
    return Diagnostic(
        "E106",
        f"document nested deeper than {MAX_DEPTH} levels or too large",
        Location(file, line, col),
        hint="spec documents are a few levels deep; check for a runaway anchor or generated input",
    )


def _documents_of(node: Any) -> list[Any]:
    """The documents a parsed YAML document holds: itself, or each item of a list of mappings.

    ``odahuflowctl bulk apply`` reads a JSON or YAML array of documents; a list whose items are not all
    mappings stays one (bad) document, reported as such.
    """
    if isinstance(node, CommentedSeq) and node and all(isinstance(i, CommentedMap) for i in node):
        return list(node)
    return [node]


def _document(
    file: str, index: int, node: Any, text_lines: list[str], diags: list[Diagnostic]
) -> RawDocument | None:
    if node is None:
        return None
    if not isinstance(node, CommentedMap):
        line, col = node_pos(node) if hasattr(node, "lc") else _document_start(text_lines, index)
        what = _type_word(node)
        diags.append(
            Diagnostic(
                "E104",
                f"document {index + 1} is {what}, expected a mapping with 'kind' and 'spec'",
                Location(file, line, col),
                hint="a spec document starts with 'apiVersion:' and 'kind:' (or ODAHU's 'kind:' and 'id:')",
            )
        )
        return None
    builder = TreeBuilder(file, text_lines)
    try:
        data = builder.convert(node, (), 0)
    except TooBig as exc:
        diags.append(_too_deep(file, exc.line, exc.col))
        return None
    diags.extend(builder.diags)
    builder.values[()] = Span(node.lc.line + 1, node.lc.col + 1)
    return RawDocument(file, index, data, builder.keys, builder.values)


def _document_start(lines: list[str], index: int) -> tuple[int, int]:
    """Where document ``index`` starts, for a scalar document (which carries no position)."""
    # Only reached for a document that is already an error, so parsing the text again costs nothing.
    yaml = YAML(typ="rt", pure=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, node in enumerate(yaml.compose_all("\n".join(lines))):
                if i == index and node is not None:
                    return node.start_mark.line + 1, node.start_mark.column + 1
    except (YAMLError, RecursionError):
        pass
    return 1, 1


def _type_word(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a scalar"
