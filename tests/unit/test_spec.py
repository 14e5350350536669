"""spec: the models are strict, immutable and accept ODAHU's number forms."""

from __future__ import annotations

import pydantic
import pytest

from compiler.front.spec import (
    BatchSettingsSpec,
    ConnectionSpec,
    InferenceServiceSpec,
    ModelMeta,
    ResourceList,
    SecretRef,
    credential_keys,
)


def test_settings_have_documented_defaults() -> None:
    settings = BatchSettingsSpec()
    assert settings.gpuResourceName == "nvidia.com/gpu"
    assert settings.defaultTimeout == "1h"
    assert settings.allowLocalConnections is False
    for name, field in BatchSettingsSpec.model_fields.items():
        assert field.description, f"BatchSettings.{name} has no description"


def test_models_are_frozen() -> None:
    spec = ConnectionSpec(type="s3", uri="s3://b")
    with pytest.raises(pydantic.ValidationError):
        spec.uri = "s3://c"  # type: ignore[misc]


def test_numbers_read_as_text_where_kubernetes_and_odahu_do() -> None:
    assert ResourceList.model_validate({"cpu": 1, "memory": "1Gi", "gpu": 2}).cpu == "1"
    assert ModelMeta.model_validate({"name": "m", "version": 1}).version == "1"
    with pytest.raises(pydantic.ValidationError):
        ModelMeta.model_validate({"name": "m", "version": True})


def test_strict_types_elsewhere() -> None:
    with pytest.raises(pydantic.ValidationError):
        InferenceServiceSpec.model_validate(
            {
                "image": "i",
                "command": ["c"],
                "modelRegistry": {"remote": {"modelConnection": "m"}},
                "parallelism": "2",
            }
        )


def test_credential_keys_fill_defaults() -> None:
    assert credential_keys("s3", SecretRef(name="s")) == {
        "accessKeyID": "accessKeyID",
        "secretAccessKey": "secretAccessKey",
    }
    assert credential_keys("s3", SecretRef(name="s", keys={"accessKeyID": "AWS_ACCESS_KEY_ID"})) == {
        "accessKeyID": "AWS_ACCESS_KEY_ID",
        "secretAccessKey": "secretAccessKey",
    }
    assert credential_keys("azureblob", SecretRef(name="s")) == {"sasURL": "sasURL"}
    assert credential_keys("azureblob", SecretRef(name="s", keys={"accountKey": "key"})) == {
        "accountKey": "key"
    }
    assert credential_keys("gcs", SecretRef(name="s")) == {"serviceAccountKey": "serviceAccountKey"}
