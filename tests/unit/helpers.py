"""Shared helpers of the front-end unit tests: analyse YAML text without touching the disk."""

from __future__ import annotations

from compiler.diagnostics import Diagnostic
from compiler.front.load import RawDocument, parse_text
from compiler.front.validate import Validated, validate


def raws(text: str, file: str = "specs.yaml") -> list[RawDocument]:
    docs, diags = parse_text(file, text)
    assert diags == [], diags
    return docs


def validated(text: str) -> tuple[list[Validated], list[Diagnostic]]:
    result = validate(raws(text))
    return list(result.documents), list(result.diagnostics)


def where(diags: list[Diagnostic]) -> list[tuple[str, int, int]]:
    return [(d.code, d.location.line, d.location.col) for d in diags]


SERVICE = """\
apiVersion: batch.odahu.org/v1alpha1
kind: InferenceService
metadata:
  name: svc
spec:
  image: img
  command: [python]
  modelRegistry:
    remote: {modelConnection: store, modelPath: model}
  dataSource: {connection: store, path: in}
  outputDestination: {connection: store, path: out}
"""
CONNECTION = """\
apiVersion: batch.odahu.org/v1alpha1
kind: Connection
metadata:
  name: store
spec:
  type: s3
  uri: s3://bucket/prefix
  credentials:
    secretRef: {name: store-creds}
"""
