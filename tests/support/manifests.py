"""Checks on generated manifests, for every test that looks at generated output.

* :func:`validate_tekton_schema` - a Tekton document against ``tests/schemas/tekton`` (vendored) (all errors);
* :func:`validate_core_k8s` - a core Kubernetes document with kubernetes-validate (strict, k8s 1.32);
* :func:`kustomize_build` - ``kubectl kustomize DIR`` as parsed documents;
* :func:`check_tree` - all of the above plus :mod:`compiler.tekton.rules` and kustomization listing;
* :func:`scan_for_secrets` - plain or base64 occurrences of secret values in a tree.

Every check returns readable problem strings; an empty list means good.
"""

from __future__ import annotations

import base64
import functools
import json
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from jsonschema import Draft202012Validator

from compiler.argo.defaults import crd_defaults
from compiler.argo.rules import check_documents as check_argo_documents
from compiler.tekton.rules import check_documents

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO_ROOT / "tests" / "schemas" / "tekton"  # vendored: tests/schemas/PROVENANCE.md
K8S_VERSION = "1.32.0"
TEKTON_GROUPS = ("tekton.dev/", "triggers.tekton.dev/")
KUSTOMIZATION = "kustomization.yaml"


def is_tekton(doc: Mapping[str, Any]) -> bool:
    return str(doc.get("apiVersion", "")).startswith(TEKTON_GROUPS)


def describe(doc: Mapping[str, Any]) -> str:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
    assert isinstance(meta, Mapping)
    name = meta.get("name") or meta.get("generateName") or "?"
    return f"{doc.get('kind', '?')}/{name}"


@functools.cache
def _validator(kind: str, version: str) -> Draft202012Validator | None:
    path = SCHEMA_DIR / f"{kind.lower()}_{version}.json"
    if not path.is_file():
        return None
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def validate_tekton_schema(doc: Mapping[str, Any]) -> list[str]:
    """Every JSON-schema error of a Tekton document; a Tekton kind without a schema is an error."""
    api_version, kind = str(doc.get("apiVersion", "")), str(doc.get("kind", ""))
    validator = _validator(kind, api_version.rpartition("/")[2])
    if validator is None:
        return [f"{describe(doc)}: no schema for {api_version} {kind} in {SCHEMA_DIR}"]
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{describe(doc)} /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def validate_core_k8s(doc: Mapping[str, Any]) -> list[str]:
    """Strict kubernetes-validate errors of a core document (Tekton kinds are skipped: []).
    kubernetes-validate may stop at the first error."""
    if is_tekton(doc):
        return []
    try:
        kubernetes_validate.validate(dict(doc), K8S_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{describe(doc)}: no Kubernetes {K8S_VERSION} schema for {doc.get('apiVersion')}"]
    except kubernetes_validate.ValidationError as exc:
        where = "/".join(map(str, exc.path))
        return [f"{describe(doc)} /{where}: {exc.message}"]
    return []


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip("kubectl is not installed (scripts/setup.sh installs it); kustomize builds need it")
    return path


def kustomize_build(directory: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize DIR`` (offline), parsed; raises with kustomize's stderr on failure."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {directory} failed ({result.returncode}):\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]


def check_documents_all(docs: Iterable[Mapping[str, Any]]) -> list[str]:
    """Schema, core-kind and admission-rule problems of parsed documents (Tekton, Argo or core), and
    for Argo documents any difference from the apiserver's defaulting (compiler/argo/defaults.py)."""
    from tests.support.argo_manifests import is_argo, validate_argo_schema

    docs = list(docs)
    problems: list[str] = []
    for doc in docs:
        if is_argo(doc):
            problems += validate_argo_schema(doc)
            if crd_defaults(doc) != doc:
                problems.append(f"{describe(doc)}: not at its defaulting fixed point (drift)")
        elif is_tekton(doc):
            problems += validate_tekton_schema(doc)
        else:
            problems += validate_core_k8s(doc)
    problems += [str(v) for v in check_documents(docs)]
    problems += [str(v) for v in check_argo_documents(docs)]
    return problems


def check_tree(directory: Path) -> list[str]:
    """Everything wrong with a generated tree: the kustomize build and the documents it yields, the
    listing (every ``*.yaml`` listed by a kustomization.yaml, every listed file present), and every
    file loaded directly: YAML errors always, document problems for the files the build does not cover
    (unlisted ones, or all of them when the build fails)."""
    directory = Path(directory)
    problems: list[str] = []
    built = True
    try:
        problems += check_documents_all(kustomize_build(directory))
    except RuntimeError as exc:
        problems.append(str(exc))
        built = False
    listed, listing_problems = _listing(directory)
    problems += listing_problems
    for path in sorted(directory.rglob("*.yaml")):
        if path.name == KUSTOMIZATION:
            continue
        where = path.relative_to(directory)
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        except yaml.YAMLError as exc:
            problems.append(f"{where}: not YAML: {exc}")
            continue
        if not all(isinstance(d, Mapping) for d in docs):
            problems.append(f"{where}: a document is not a mapping")
        if not built or path.resolve() not in listed:
            problems += [
                f"{where}: {p}" for p in check_documents_all(d for d in docs if isinstance(d, Mapping))
            ]
    return problems


def _listing(directory: Path) -> tuple[set[Path], list[str]]:
    """The files listed (resources, components, patches) by the kustomization.yaml files of the tree,
    and the listing problems: entries that do not exist, ``*.yaml`` files nobody lists. A listed
    directory is a base: its own kustomization.yaml lists its files."""
    problems: list[str] = []
    listed: set[Path] = set()
    for kustomization in sorted(directory.rglob(KUSTOMIZATION)):
        data = yaml.safe_load(kustomization.read_text(encoding="utf-8")) or {}
        for entry in _entries(data):
            if "://" in entry:
                continue
            target = (kustomization.parent / entry).resolve()
            if not target.exists():
                problems.append(f"{kustomization.relative_to(directory)}: listed {entry!r} does not exist")
            listed.add(target)
    for path in sorted(directory.rglob("*.yaml")):
        if path.name != KUSTOMIZATION and path.resolve() not in listed:
            problems.append(f"{path.relative_to(directory)}: not listed in any {KUSTOMIZATION}")
    return listed, problems


def _entries(kustomization: Mapping[str, Any]) -> list[str]:
    entries = [
        str(e)
        for key in ("resources", "components", "patchesStrategicMerge")
        for e in kustomization.get(key) or []
    ]
    entries += [
        str(p["path"]) for p in kustomization.get("patches") or [] if isinstance(p, Mapping) and "path" in p
    ]
    return entries


def scan_for_secrets(directory: Path, secret_values: Iterable[str]) -> list[str]:
    """Every file under ``directory`` that contains a secret value, plain or base64-encoded."""
    needles: list[tuple[str, bytes]] = []
    for value in secret_values:
        if not value:
            continue
        raw = value.encode("utf-8")
        needles += [(value, raw), (value, base64.b64encode(raw))]
    problems: list[str] = []
    for path in sorted(p for p in Path(directory).rglob("*") if p.is_file()):
        content = path.read_bytes()
        for value, needle in needles:
            if needle in content:
                form = "plain" if needle == value.encode("utf-8") else "base64"
                problems.append(f"{path.relative_to(directory)}: contains a secret value ({form})")
    return problems
