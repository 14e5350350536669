"""load: files and folders -> raw documents with a source map; every problem located."""

from __future__ import annotations

from pathlib import Path

from compiler.front.load import load, parse_text


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def codes(result: object) -> list[str]:
    return [d.code for d in result.diagnostics]  # type: ignore[attr-defined]


def test_folder_walk_is_sorted_and_skips_hidden_and_model_metadata(tmp_path: Path) -> None:
    write(tmp_path / "b.yaml", "kind: A\n")
    write(tmp_path / "a" / "z.yml", "kind: B\n")
    write(tmp_path / ".git" / "c.yaml", "kind: C\n")
    write(tmp_path / "model" / "odahuflow.project.yaml", "model: {name: m, version: 1}\n")
    write(tmp_path / "notes.txt", "kind: D\n")
    result = load([tmp_path])
    assert [d.data["kind"] for d in result.documents] == ["B", "A"]
    assert result.diagnostics == ()


def test_source_map_has_key_and_value_positions(tmp_path: Path) -> None:
    text = "kind: X\nspec:\n  image: 'img'\n  command: [python, run]\n"
    docs, diags = parse_text("f.yaml", text)
    assert diags == []
    doc = docs[0]
    assert doc.locate(("spec", "image"), key=True).line == 3
    loc = doc.locate(("spec", "image"))
    assert (loc.line, loc.col, loc.end_col) == (3, 10, 15)
    loc = doc.locate(("spec", "command", 1))
    assert (loc.line, loc.col, loc.end_col) == (4, 21, 24)
    # An unknown path falls back to the nearest ancestor's key.
    assert doc.locate(("spec", "missing", "deeper")).line == 2


def test_many_documents_and_null_documents(tmp_path: Path) -> None:
    docs, diags = parse_text("f.yaml", "---\n---\nkind: A\n---\nkind: B\n")
    assert [d.index for d in docs] == [1, 2]
    assert diags == []


def test_duplicate_key_is_located() -> None:
    _, diags = parse_text("f.yaml", "kind: A\nspec:\n  x: 1\n  x: 2\n")
    assert [(d.code, d.location.line, d.location.col) for d in diags] == [("E105", 4, 3)]
    assert "first defined on line 3" in diags[0].message


def test_syntax_error_keeps_earlier_documents() -> None:
    docs, diags = parse_text("f.yaml", "kind: A\n---\nkind: [\n")
    assert len(docs) == 1
    assert [d.code for d in diags] == ["E103"]


def test_non_mapping_document() -> None:
    _, diags = parse_text("f.yaml", "- a\n- b\n")
    assert [d.code for d in diags] == ["E104"]
    assert "a list" in diags[0].message


def test_empty_file_is_a_warning(tmp_path: Path) -> None:
    result = load([write(tmp_path / "e.yaml", "# nothing\n")])
    assert codes(result) == ["W101"]
    assert result.diagnostics[0].severity == "warning"


def test_binary_and_invalid_utf8(tmp_path: Path) -> None:
    result = load([write(tmp_path / "a.yaml", b"kind\x00"), write(tmp_path / "b.yaml", b"kind: \xff\n")])
    assert codes(result) == ["E102", "E102"]
    assert (result.diagnostics[1].location.line, result.diagnostics[1].location.col) == (1, 7)


def test_unreadable_path_and_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = load([tmp_path / "nope.yaml", tmp_path / "empty"])
    assert codes(result) == ["E101", "W102"]


def test_deep_nesting_and_alias_bombs_are_diagnostics() -> None:
    _, diags = parse_text("f.yaml", "a: " + "[" * 200 + "]" * 200 + "\n")
    assert [d.code for d in diags] == ["E106"]
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    _, diags = parse_text("f.yaml", bomb)
    assert [d.code for d in diags] == ["E106"]


def test_non_string_keys_and_special_scalars() -> None:
    docs, diags = parse_text("f.yaml", "2: a\ntrue: b\n? [x]\n: c\nd: 2024-01-01\ne: !tag v\n")
    assert [d.code for d in diags] == ["E107"]
    assert docs[0].data == {"2": "a", "true": "b", "d": "2024-01-01", "e": "v"}


def test_crlf_and_bom(tmp_path: Path) -> None:
    result = load([write(tmp_path / "a.yaml", b"\xef\xbb\xbfkind: A\r\nid: x\r\n")])
    assert result.diagnostics == ()
    assert result.documents[0].data == {"kind": "A", "id": "x"}


# ODAHU's tools write JSON (``odahuflowctl ... -o json``, the API's answers) and ``odahuflowctl bulk
# apply`` reads a JSON or YAML array of documents (odahu/odahu-flow 1.6.1,
# packages/tests/e2e/robot/tests/bulk/resources/correct.odahuflow.json is such an array).
BULK = """[
  {"kind": "Connection", "id": "a", "spec": {"type": "s3"}},
  {
    "kind": "Connection",
    "id": "b",
    "spec": {"type": "gcs"}
  }
]
"""


def test_a_json_array_is_one_document_per_item_each_located() -> None:
    docs, diags = parse_text("bulk.json", BULK)
    assert diags == []
    assert [d.data["id"] for d in docs] == ["a", "b"]
    loc = docs[1].locate(("spec", "type"))
    assert (loc.line, loc.col) == (6, 22)
    assert docs[0].locate(("id",)).line == 2


def test_a_yaml_list_of_documents_and_several_documents() -> None:
    text = "- kind: A\n  id: a\n- kind: B\n  id: b\n---\nkind: C\nid: c\n"
    docs, diags = parse_text("bulk.yaml", text)
    assert diags == []
    assert [(d.data["kind"], d.start.line) for d in docs] == [("A", 1), ("B", 3), ("C", 6)]


def test_a_list_that_is_not_all_documents_stays_an_error() -> None:
    _, diags = parse_text("f.yaml", "- kind: A\n- text\n")
    assert [d.code for d in diags] == ["E104"]


def test_a_folders_json_specs_are_read_and_its_json_data_is_not(tmp_path: Path) -> None:
    write(tmp_path / "specs" / "bulk.json", BULK)
    write(tmp_path / "specs" / "job.json", '{"kind": "InferenceJob", "spec": {}}')
    write(tmp_path / "specs" / "input" / "request.json", '{"id": "r", "inputs": []}')
    result = load([tmp_path / "specs"])
    assert [d.data["kind"] for d in result.documents] == ["Connection", "Connection", "InferenceJob"]
    assert sorted(Path(f).name for f in result.sources) == ["bulk.json", "job.json"]
    assert result.diagnostics == ()
    # Named on the command line, a JSON file is a spec file whatever it holds.
    named = load([tmp_path / "specs" / "input" / "request.json"])
    assert [d.code for d in named.diagnostics] == []
    assert [d.data for d in named.documents] == [{"id": "r", "inputs": []}]


def test_paths_may_be_any_iterable(tmp_path: Path) -> None:
    write(tmp_path / "a.json", '{"kind": "A"}')
    result = load(p for p in [tmp_path / "a.json"])
    assert [d.data for d in result.documents] == [{"kind": "A"}]
