"""JSON Schema (for editors) and CustomResourceDefinitions (for clusters) of the spec kinds.

Both are generated from the pydantic models in ``compiler.front.spec`` and nothing else. The JSON
Schema accepts both document shapes; a CRD is the Kubernetes shape only, with a structural
schema (every node typed, no ``$ref``, no defaults: the API server would add them and Argo CD
would then report the difference as drift).
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any

from pydantic import BaseModel
from ruamel.yaml import YAML

from compiler.front.spec import API_GROUP, API_VERSION, KINDS, SPEC_MODELS, Metadata
from compiler.front.spec_types import LABEL_PATTERN

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
VERSION = API_VERSION.split("/", 1)[1]
SHORT_NAMES = {
    "Connection": ["bconn"],
    "InferenceService": ["bis"],
    "InferenceJob": ["bij"],
    "BatchSettings": ["bsettings"],
}


def _model_schemas() -> dict[str, Any]:
    """Every model's schema in one ``$defs`` table, refs rewritten to point into it."""
    defs: dict[str, Any] = {}
    models: list[type[BaseModel]] = [*SPEC_MODELS.values(), Metadata]
    for model in models:
        schema = model.model_json_schema(ref_template="#/$defs/{model}", mode="validation")
        defs.update(schema.pop("$defs", {}))
        defs[model.__name__] = schema
    return defs


def _document_schema(kind: str) -> dict[str, Any]:
    spec_ref = {"$ref": f"#/$defs/{SPEC_MODELS[kind].__name__}"}
    schema: dict[str, Any] = {
        "title": kind,
        "description": (
            f"A {kind}: Kubernetes style (apiVersion, kind, metadata, spec) "
            "or ODAHU's API style (kind, id, spec)."
        ),
        "type": "object",
        "properties": {
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": kind},
            "metadata": {"$ref": "#/$defs/Metadata"},
            "id": {
                "type": "string",
                "pattern": LABEL_PATTERN,
                "maxLength": 63,
                "description": "ODAHU's name",
            },
            "spec": spec_ref,
        },
        "required": ["kind"] if kind == "BatchSettings" else ["kind", "spec"],
        "additionalProperties": False,
        "if": {"anyOf": [{"required": ["apiVersion"]}, {"required": ["metadata"]}]},
        "then": {"required": ["apiVersion", "metadata"], "not": {"required": ["id"]}},
    }
    if kind not in ("InferenceJob", "BatchSettings"):
        schema["else"] = {"required": ["id"]}
    return schema


def json_schema(kind: str | None = None) -> dict[str, Any]:
    """The schema of one kind's documents, or of any spec document when ``kind`` is None."""
    defs = _model_schemas()
    for name in KINDS:
        defs[f"{name}Document"] = _document_schema(name)
    root: dict[str, Any] = {"$schema": SCHEMA_DIALECT}
    if kind is not None:
        root["$id"] = f"https://{API_GROUP}/schemas/{VERSION}/{kind}.json"
        root["$ref"] = f"#/$defs/{kind}Document"
    else:
        root["$id"] = f"https://{API_GROUP}/schemas/{VERSION}/document.json"
        root["title"] = "odahu-batch spec document"
        root["type"] = "object"
        root["required"] = ["kind"]
        root["properties"] = {"kind": {"enum": list(KINDS)}}
        root["allOf"] = [
            {
                "if": {"properties": {"kind": {"const": name}}, "required": ["kind"]},
                "then": {"$ref": f"#/$defs/{name}Document"},
            }
            for name in KINDS
        ]
    root["$defs"] = dict(sorted(defs.items()))
    return root


def render_json_schema(kind: str | None = None) -> str:
    return json.dumps(json_schema(kind), indent=2, ensure_ascii=False) + "\n"


# --- CRDs -------------------------------------------------------------------------------------

_KEEP = {
    "type",
    "properties",
    "required",
    "items",
    "additionalProperties",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "description",
}


def _structural(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A pydantic schema node -> a Kubernetes structural schema node."""
    if "$ref" in node:
        target = copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[1]])
        if "description" in node:
            target["description"] = node["description"]
        return _structural(target, defs)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        types = {o.get("type") for o in options}
        if types == {"string", "number"}:
            union: dict[str, Any] = {
                "anyOf": [{"type": "integer"}, {"type": "string"}],
                "x-kubernetes-int-or-string": True,
            }
            if "description" in node:
                union["description"] = node["description"]
            return union
        if len(options) == 1:
            merged = {**options[0], **{k: v for k, v in node.items() if k in ("description",)}}
            return _structural(merged, defs)
        raise ValueError(f"no structural form for a union of {sorted(map(str, types))}")
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "const":
            out["enum"] = [value]
        elif key == "exclusiveMinimum" or key not in _KEEP:
            continue
        elif key == "properties":
            out[key] = {name: _structural(sub, defs) for name, sub in value.items()}
        elif key in ("items", "additionalProperties"):
            if isinstance(value, dict):
                out[key] = _structural(value, defs)
        else:
            out[key] = value
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    if "type" not in out:
        raise ValueError(f"schema node without a type: {node}")
    return out


def crd(kind: str) -> dict[str, Any]:
    defs = _model_schemas()
    model = SPEC_MODELS[kind]
    spec = _structural({"$ref": f"#/$defs/{model.__name__}"}, defs)
    plural = kind.lower() + ("s" if not kind.endswith("s") else "")
    root: dict[str, Any] = {
        "type": "object",
        "description": spec.pop("description", kind),
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
        },
    }
    if kind != "BatchSettings":
        root["required"] = ["spec"]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{API_GROUP}"},
        "spec": {
            "group": API_GROUP,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": SHORT_NAMES[kind],
                "categories": ["odahu-batch"],
            },
            "scope": "Namespaced",
            "versions": [
                {"name": VERSION, "served": True, "storage": True, "schema": {"openAPIV3Schema": root}}
            ],
        },
    }


def _dump(document: dict[str, Any]) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()


def crd_files() -> dict[str, str]:
    """File name -> text of everything ``crds/`` holds."""
    files: dict[str, str] = {}
    names = []
    for kind in KINDS:
        document = crd(kind)
        name = f"{document['metadata']['name']}.yaml"
        names.append(name)
        files[name] = "# Generated by `odahu-batch crds --out crds/`; do not edit.\n" + _dump(document)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(names),
    }
    files["kustomization.yaml"] = "# Generated by `odahu-batch crds --out crds/`; do not edit.\n" + _dump(
        kustomization
    )
    return dict(sorted(files.items()))
