"""odahu-batch compile: the command, its guards, determinism and the secret scan."""

from __future__ import annotations

import gc
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from compiler.backend import paused_gc
from compiler.cli import main
from compiler.emit import read_tree
from compiler.front.spec import Source
from compiler.manifests.parse import json_size, json_size_bound, parse
from compiler.manifests.render import RenderedDoc
from compiler.plan.planner import plan
from compiler.tekton import guards
from compiler.tekton.render import render
from tests.support.manifests import scan_for_secrets
from tests.support.servers import AZURITE_KEY
from tests.unit.compile_fixtures import BUNDLE, SAMPLE, sample_project

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SECRET_VALUES = (
    "AKIAODAHUEXAMPLE7Q2Z",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYODAHUKEY",
    "sv=2026-11-25&sig=0dahu%2B",
)
SECRETS = f"""\
apiVersion: v1
kind: Secret
metadata: {{name: odahu-data-creds}}
stringData: {{accessKeyID: {SECRET_VALUES[0]}, secretAccessKey: {SECRET_VALUES[1]}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: blob-creds}}
stringData: {{sas: "{SECRET_VALUES[2]}"}}
"""


def _specs(tmp_path: Path) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "sample.yaml").write_text(SAMPLE, encoding="utf-8")
    (specs / "secrets.yaml").write_text(SECRETS, encoding="utf-8")
    return specs


def _times(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")}


def test_compile_check_and_recompile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs, out = _specs(tmp_path), tmp_path / "build"
    assert main(["compile", str(specs), "--out", str(out)]) == 0
    first = capsys.readouterr()
    assert "files written" in first.out
    assert "W203" in first.err  # the Secrets are not odahu-batch documents
    tree = read_tree(out)
    assert "odahu-batch/task/multiplier.yaml" in tree
    before = _times(tmp_path)
    assert main(["compile", str(specs), "--out", str(out)]) == 0
    assert "unchanged" in capsys.readouterr().out
    assert _times(tmp_path) == before  # nothing written, not even a temporary folder
    assert main(["compile", str(specs), "--out", str(out), "--check"]) == 0
    capsys.readouterr()

    (specs / "sample.yaml").write_text(SAMPLE.replace("timeout: 90m", "timeout: 2h"), encoding="utf-8")
    assert main(["compile", str(specs), "--out", str(out), "--check"]) == 1
    checked = capsys.readouterr()
    assert "+  timeout: 2h0m0s" in checked.out
    assert "out of date" in checked.out
    assert read_tree(out) == tree
    assert main(["compile", str(specs), "--out", str(out)]) == 0
    assert read_tree(out) != tree


def test_json_diagnostics_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = _specs(tmp_path)
    (specs / "bad.yaml").write_text(
        "apiVersion: batch.odahu.org/v1alpha1\nkind: InferenceJob\nmetadata: {name: j}\n"
        "spec: {inferenceServiceId: nope}\n",
        encoding="utf-8",
    )
    out = tmp_path / "build"
    assert main(["compile", str(specs), "--out", str(out), "--format", "json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert any(d["code"].startswith("E3") for d in printed["diagnostics"])
    assert printed["prerequisites"] is None
    assert not out.exists()


def test_refuses_a_foreign_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = _specs(tmp_path)
    assert main(["compile", str(specs), "--out", str(tmp_path)]) == 1
    assert "E502" in capsys.readouterr().err
    assert (specs / "sample.yaml").exists()


def test_no_credential_value_reaches_the_output(tmp_path: Path) -> None:
    for specs, out in ((_specs(tmp_path), tmp_path / "sample"), (EXAMPLES, tmp_path / "examples")):
        assert main(["compile", str(specs), "--out", str(out), "--local"]) == 0
        assert scan_for_secrets(out, (*SECRET_VALUES, AZURITE_KEY)) == []
        assert any("secretKeyRef" in text for text in read_tree(out).values())


def _compile_in_subprocess(paths: list[str], out: Path, seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    cmd = [sys.executable, "-m", "compiler.cli", "compile", *paths, "--out", str(out)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, cwd=out.parent)
    assert result.returncode == 0, result.stderr


def test_output_is_byte_identical_across_orders_and_hash_seeds(tmp_path: Path) -> None:
    files = sorted(str(p) for p in EXAMPLES.rglob("*.yaml") if p.parent.name != "model")
    shuffled = files[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != files
    _compile_in_subprocess(files, tmp_path / "a", "0")
    _compile_in_subprocess(shuffled, tmp_path / "b", "4242")
    _compile_in_subprocess(list(reversed(files)), tmp_path / "c", "random")
    a, b, c = (read_tree(tmp_path / x) for x in "abc")
    assert a == b == c
    assert len(a) > 10


# --- guards -----------------------------------------------------------------------------------

ORIGIN = Source(file="specs/svc.yaml", line=4, col=3)


def _doc(kind: str, name: str, body: str, api: str = "tekton.dev/v1") -> RenderedDoc:
    text = f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: ns\n{body}"
    return RenderedDoc(f"ns/{kind.lower()}/{name}.yaml", text, kind, name, "ns", ORIGIN)


STEP = "spec:\n  steps:\n    - name: s\n      image: i\n      command: [x]\n"


def test_guards_pass_a_good_document() -> None:
    objects, diags = guards.check([_doc("Task", "ok", STEP)])
    assert diags == []
    assert objects[0]["spec"]["steps"][0]["name"] == "s"


def test_guard_on_object_size_is_located_at_the_spec() -> None:
    huge = STEP + "      args:\n" + "".join(f"        - {'x' * 1000}{i}\n" for i in range(300))
    _, diags = guards.check([_doc("Task", "big", huge)])
    (diag,) = diags
    assert diag.code == "E404"
    assert (diag.location.file, diag.location.line, diag.location.col) == ("specs/svc.yaml", 4, 3)
    medium = STEP + "      args:\n" + "".join(f"        - {'x' * 1000}{i}\n" for i in range(80))
    _, diags = guards.check([_doc("Task", "medium", medium)])
    assert [(d.code, d.severity) for d in diags] == [("W402", "warning")]


def test_guard_on_names() -> None:
    _, diags = guards.check([_doc("TaskRun", "r" * 60, "spec:\n  taskRef: {name: t, kind: Task}\n")])
    assert [d.code for d in diags] == ["E405"]
    assert "60 characters" in diags[0].message
    label = _doc("Task", "t", STEP).text.replace(
        "  namespace: ns\n", "  namespace: ns\n  labels: {a: " + "v" * 64 + "}\n"
    )
    _, diags = guards.check([RenderedDoc("ns/task/t.yaml", label, "Task", "t", "ns", ORIGIN)])
    assert [d.code for d in diags] == ["E405"]
    listener = _doc("EventListener", "1bad", "spec: {labelSelector: {}}\n", "triggers.tekton.dev/v1beta1")
    _, diags = guards.check([listener])
    assert "E405" in [d.code for d in diags]


def test_guard_on_tekton_rules() -> None:
    script = STEP.replace("command: [x]", "script: 'echo $(params.x)'")
    _, diags = guards.check([_doc("Task", "t", script)])
    assert diags
    assert {d.code for d in diags} == {"E406"}
    assert all(d.location.file == "specs/svc.yaml" for d in diags)


def test_parse_reads_documents_as_pyyaml_does() -> None:
    docs = render(plan(sample_project(), BUNDLE))
    for doc in docs:
        assert parse(doc) == yaml.safe_load(doc.text), doc.path
    odd = RenderedDoc("x.yaml", "a: 1.5\nb: 2026-11-25\nc: [yes, ~, 0x1f]\n", "ConfigMap", "x")
    assert parse(odd) == yaml.safe_load(odd.text)
    with pytest.raises(RuntimeError, match="not a mapping"):
        parse(RenderedDoc("y.yaml", "- 1\n", "ConfigMap", "y"))


def test_the_size_bound_bounds_the_size() -> None:
    for doc in render(plan(sample_project(), BUNDLE)):
        assert json_size(parse(doc)) <= json_size_bound(doc.text), doc.path


def test_compile_pauses_the_garbage_collector_and_resumes_it(tmp_path: Path) -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    assert main(["compile", str(_specs(tmp_path)), "--out", str(tmp_path / "build")]) == 0
    assert gc.isenabled()
