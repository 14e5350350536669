"""The scalar field types of the spec models: what each accepts, and the JSON Schema that says so.

Kubernetes names and labels, Go durations, quantities, non-empty text, and the frozen, strict base
model every spec class derives from.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

from compiler.front.odahu import ID_PATTERN
from compiler.units import DNS1123_LABEL, DNS1123_SUBDOMAIN, check_quantity, parse_duration

ODAHU_ID = re.compile(ID_PATTERN)


class SpecModel(BaseModel):
    # Attribute docstrings become the descriptions in the JSON Schema and the CRDs.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, use_attribute_docstrings=True)


def _duration(value: str) -> str:
    parse_duration(value)
    return value


def _quantity(value: str) -> str:
    check_quantity(value)
    return value


def _label(value: str) -> str:
    if len(value) > 63 or not DNS1123_LABEL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label: expected at most 63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


def _odahu_id(value: str) -> str:
    """ODAHU's id rule (compiler/front/odahu.py ID_PATTERN): a DNS-1123 label that starts with a letter."""
    _label(value)
    if not ODAHU_ID.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid id: ODAHU ids start with a lower-case letter")
    return value


def _subdomain(value: str) -> str:
    if len(value) > 253 or not DNS1123_SUBDOMAIN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid Kubernetes name: expected lower-case letters, digits, '-' and '.'"
        )
    return value


def number_as_text(value: object) -> object:
    # YAML reads `cpu: 1` and ODAHU's `version: 1` as numbers; Kubernetes and ODAHU take them as text.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


# The JSON Schema of each scalar type says what its validator accepts, so editors agree with it.
DURATION_PATTERN = r"^(0|\+?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$"
LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
QUANTITY_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string"}, {"type": "number"}],
    "description": "A Kubernetes quantity such as 500m, 2, 1Gi or 512Mi.",
}

Duration = Annotated[
    str,
    AfterValidator(_duration),
    WithJsonSchema(
        {"type": "string", "pattern": DURATION_PATTERN, "description": "A Go duration: 90s, 30m, 1h30m."}
    ),
]
Quantity = Annotated[
    str, BeforeValidator(number_as_text), AfterValidator(_quantity), WithJsonSchema(QUANTITY_SCHEMA)
]
Label = Annotated[
    str,
    AfterValidator(_label),
    WithJsonSchema({"type": "string", "pattern": LABEL_PATTERN, "maxLength": 63}),
]
Id = Annotated[
    str,
    AfterValidator(_odahu_id),
    WithJsonSchema({"type": "string", "pattern": ID_PATTERN, "maxLength": 63}),
]
K8sName = Annotated[
    str,
    AfterValidator(_subdomain),
    WithJsonSchema({"type": "string", "pattern": SUBDOMAIN_PATTERN, "maxLength": 253}),
]
NonEmpty = Annotated[str, AfterValidator(non_empty), WithJsonSchema({"type": "string", "minLength": 1})]
