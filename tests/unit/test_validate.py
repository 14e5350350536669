"""validate: raw documents -> spec models; pydantic errors located, in plain words."""

from __future__ import annotations

import pytest

from compiler.front.spec import ConnectionSpec, InferenceServiceSpec
from compiler.naming import derived_job_id
from tests.unit.helpers import CONNECTION, SERVICE, validated, where

# The shapes of ODAHU's published batch-inference manifests (odahu/odahu-examples), unchanged.
ODAHU_SERVICE = """\
id: test-batch-service
kind: InferenceService
spec:
  args:
    - /opt/app/predictor.py
  command:
    - python
  image: <past-image>
  modelRegistry:
    remote:
      modelConnection: models-output
      modelPath: test-data/batch_job_data/model
"""
ODAHU_EMBEDDED = """\
id: test-batch-service-packed
kind: InferenceService
spec:
  args:
    - /opt/app/predictor.py
  command:
    - python
  image: <past-image>
  modelRegistry:
    local:
      modelPath: /opt/app/model
      meta:
        name: test-predictor
        version: "1"
"""
ODAHU_PACKED = """\
id: test-batch-service-packed
kind: InferenceService
spec:
  args:
    - /opt/app/predictor.py
  command:
    - python
  image: <past-image>
  modelSource:
    connection: models-output
    path: test-data/batch_job_data/model.tar.gz
"""
ODAHU_JOB = """\
kind: InferenceJob
spec:
  inferenceServiceId: test-batch-service-packed
  dataSource:
    connection: models-output
    path: test-data/batch_job_data/input
  outputDestination:
    connection: models-output
    path: test-data/output-embedded
"""


def test_kubernetes_style_documents_validate() -> None:
    docs, diags = validated(SERVICE + "---\n" + CONNECTION)
    assert diags == []
    assert [d.document.kind for d in docs] == ["InferenceService", "Connection"]
    assert isinstance(docs[0].document.spec, InferenceServiceSpec)
    assert isinstance(docs[1].document.spec, ConnectionSpec)
    assert docs[0].document.source.line == 1


@pytest.mark.parametrize("text", [ODAHU_SERVICE, ODAHU_EMBEDDED, ODAHU_JOB])
def test_odahu_published_manifests_load_unchanged(text: str) -> None:
    docs, diags = validated(text)
    assert diags == []
    assert docs[0].document.style == "odahu"


def test_odahu_legacy_model_source_is_a_warning() -> None:
    docs, diags = validated(ODAHU_PACKED)
    assert where(diags) == [("W201", 9, 3)]
    remote = docs[0].document.spec.modelRegistry.remote
    assert (remote.modelConnection, remote.modelPath) == (
        "models-output",
        "test-data/batch_job_data/model.tar.gz",
    )


def test_job_without_id_gets_a_stable_derived_name() -> None:
    docs, _ = validated(ODAHU_JOB)
    again, _ = validated(ODAHU_JOB)
    name = docs[0].document.metadata.name
    assert name == again[0].document.metadata.name
    assert name.startswith("test-batch-service-packed-")
    spec = docs[0].raw.data["spec"]
    assert name == derived_job_id("test-batch-service-packed", spec)


def test_int_model_version_is_text() -> None:
    docs, diags = validated(ODAHU_EMBEDDED.replace('version: "1"', "version: 1"))
    assert diags == []
    assert docs[0].document.spec.modelRegistry.local.meta.version == "1"


def test_unknown_field_did_you_mean() -> None:
    _, diags = validated(SERVICE.replace("  image: img", "  imgae: img"))
    assert where(diags) == [("E203", 5, 1), ("E204", 6, 3)]
    assert diags[1].hint == "did you mean 'image'?"
    assert diags[1].field == "spec.imgae"


def test_type_errors_in_plain_words() -> None:
    _, diags = validated(SERVICE.replace("command: [python]", "command: python"))
    assert where(diags) == [("E205", 7, 12)]
    assert diags[0].message == "spec.command: expected a list, found the string 'python'"


def test_every_error_of_a_document_is_reported() -> None:
    text = SERVICE.replace("image: img", "image: ''").replace(
        "modelPath: model}", "modelPath: model}\n  timeout: 5x"
    )
    _, diags = validated(text)
    assert [d.code for d in diags] == ["E206", "E206"]


def test_exactly_one_model_source() -> None:
    text = SERVICE.replace(
        "    remote: {modelConnection: store, modelPath: model}\n",
        "    remote: {modelConnection: store}\n    local: {modelPath: /m, meta: {name: a, version: '1'}}\n",
    )
    _, diags = validated(text)
    assert where(diags) == [("E208", 8, 3)]


def test_local_model_needs_meta() -> None:
    text = SERVICE.replace("remote: {modelConnection: store, modelPath: model}", "local: {modelPath: /m}")
    _, diags = validated(text)
    assert where(diags) == [("E203", 9, 5)]
    assert "spec.modelRegistry.local.meta" in diags[0].message


@pytest.mark.parametrize("secret", ["keyID", "keySecret", "password"])
def test_inline_secrets_are_refused_with_the_yaml_to_use(secret: str) -> None:
    _, diags = validated(CONNECTION.replace("  credentials:", f"  {secret}: abc\n  credentials:"))
    assert where(diags) == [("E207", 8, 3)]
    assert diags[0].hint is not None
    assert "secretRef:" in diags[0].hint


def test_wrong_api_version_and_unknown_kind() -> None:
    _, diags = validated(SERVICE.replace("v1alpha1", "v1"))
    assert where(diags) == [("E202", 1, 13)]
    _, diags = validated(SERVICE.replace("kind: InferenceService", "kind: InferenceServce"))
    assert where(diags) == [("E201", 2, 7)]
    assert diags[0].hint == "did you mean 'InferenceService'?"


def test_foreign_documents_are_skipped_with_a_warning() -> None:
    docs, diags = validated("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n")
    assert docs == []
    assert where(diags) == [("W203", 1, 13)]


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("s3://bucket/prefix", True),
        ("s3://bucket", True),
        ("gs://bucket/prefix", False),
        ("s3://", False),
        ("bucket/prefix", False),
    ],
)
def test_s3_uri(uri: str, ok: bool) -> None:
    _, diags = validated(CONNECTION.replace("s3://bucket/prefix", uri))
    assert (diags == []) is ok
    if not ok:
        assert where(diags) == [("E209", 7, 8)]


def test_credential_keys_are_checked_per_type() -> None:
    text = CONNECTION.replace("secretRef: {name: store-creds}", "secretRef: {name: c, keys: {accesKeyID: k}}")
    _, diags = validated(text)
    assert [d.code for d in diags] == ["E210"]
    assert diags[0].hint == "did you mean 'accessKeyID'?"


def test_service_id_at_most_53() -> None:
    _, diags = validated(SERVICE.replace("name: svc", "name: " + "s" * 54))
    assert where(diags) == [("E206", 4, 9)]


def test_quantities_use_the_kubernetes_parser() -> None:
    text = SERVICE + "  resources: {limits: {cpu: 2x, memory: 1Gi}, requests: {cpu: 1, gpu: 1}}\n"
    _, diags = validated(text)
    assert where(diags) == [("E206", 12, 29)]
