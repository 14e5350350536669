"""Whatever the input, the front end answers with diagnostics and never raises."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from compiler.diagnostics import Diagnostic, render_json, render_text
from compiler.pipeline import analyse

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ODD_TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["", " ", "~", "null", "yes", "0x1F", "1e400", "\u202e", "\ufeff", "\U0001d518\U0001d52b", "a\tb"]
    ),
    st.text(min_size=1, max_size=3).map(lambda s: s * 5000),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), ODD_TEXT)
KEYS = st.one_of(
    st.sampled_from(["kind", "id", "spec", "metadata", "name", "apiVersion", "type", "uri", "credentials"]),
    st.text(max_size=10),
)
DATA = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=5)),
    max_leaves=30,
)


def _dump(documents: list[Any]) -> str:
    yaml = YAML(typ="safe", pure=True)
    buffer = io.StringIO()
    yaml.dump_all(documents, buffer)
    return buffer.getvalue()


def _example_documents() -> list[dict[str, Any]]:
    yaml = YAML(typ="safe", pure=True)
    docs = []
    for path in sorted((ROOT / "examples").rglob("*.yaml")):
        if path.name != "odahuflow.project.yaml":
            docs += [d for d in yaml.load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]
    return docs


EXAMPLES = _example_documents()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, sub in value.items():
            out += _paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            out += _paths(sub, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> list[Any]:
    docs = [draw(st.sampled_from(EXAMPLES)) for _ in range(draw(st.integers(1, 4)))]
    docs = YAML(typ="safe", pure=True).load_all(_dump(docs))  # a deep copy
    docs = list(docs)
    for _ in range(draw(st.integers(1, 4))):
        doc = draw(st.sampled_from(docs))
        path = draw(st.sampled_from(_paths(doc)[1:] or [()]))
        if not path:
            continue
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["delete", "replace", "nest", "rename"]))
        last = path[-1]
        if action == "delete":
            del parent[last]
        elif action == "replace":
            parent[last] = draw(DATA)
        elif action == "nest":
            deep: Any = parent[last]
            for _ in range(draw(st.integers(1, 80))):
                deep = [deep] if draw(st.booleans()) else {"x": deep}
            parent[last] = deep
        elif isinstance(parent, dict):
            parent[draw(KEYS)] = parent.pop(last)
    return docs


def _check(text: str | bytes, for_cluster: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "specs.yaml"
        if isinstance(text, bytes):
            spec.write_bytes(text)
        else:
            spec.write_text(text, encoding="utf-8")
        project, diags, sources = analyse([tmp], for_cluster=for_cluster)
    assert all(isinstance(d, Diagnostic) for d in diags)
    assert (project is None) == any(d.is_error for d in diags)
    render_text(diags, sources)
    render_json(diags)


@FUZZ
@given(st.text(max_size=400), st.booleans())
def test_arbitrary_text(text: str, for_cluster: bool) -> None:
    _check(text, for_cluster)


@FUZZ
@given(st.binary(max_size=200), st.booleans())
def test_arbitrary_bytes(blob: bytes, for_cluster: bool) -> None:
    _check(blob, for_cluster)


@FUZZ
@given(st.lists(DATA, max_size=3), st.booleans())
def test_arbitrary_yaml_documents(documents: list[Any], for_cluster: bool) -> None:
    _check(_dump(documents), for_cluster)


@FUZZ
@given(mutated(), st.booleans())
def test_mutated_valid_specs(documents: list[Any], for_cluster: bool) -> None:
    _check(_dump(documents), for_cluster)


@FUZZ
@given(
    st.sampled_from(EXAMPLES),
    st.sampled_from(["kind", "spec", "id", "metadata", "apiVersion"]),
    st.sampled_from(["&a [*a]", "!!binary AAAA", "{? [1]: 2}", "*undefined", "'", "|\n  x\n y", "@x", "- -"]),
)
def test_yaml_oddities_in_valid_specs(document: dict[str, Any], key: str, odd: str) -> None:
    text = _dump([document]) + f"---\n{key}: {odd}\n"
    _check(text, True)
