"""A predictor skeleton: V2 inference requests in, V2 inference responses out.

odahu-batch runs it with three folders in the environment: ODAHU_MODEL (the model),
ODAHU_MODEL_INPUT (one ``*.json`` request per file) and ODAHU_MODEL_OUTPUT (write one response per
request, same file name). Replace ``predict`` with your model; keep the rest.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def load_model(folder: Path) -> dict[str, str]:
    """Read the model; here only its name and version from odahuflow.project.yaml."""
    meta = {"name": "model", "version": "1"}
    text = (folder / "odahuflow.project.yaml").read_text(encoding="utf-8")
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key in meta and value.strip():
            meta[key] = value.strip().strip("'\"")
    return meta


def predict(model: dict[str, str], tensor: dict[str, Any]) -> dict[str, Any]:
    """One output tensor for one input tensor: this skeleton echoes its input."""
    return {key: tensor[key] for key in ("name", "shape", "datatype", "data")}


def main() -> int:
    model_dir, source, target = (
        Path(os.environ[name]) for name in ("ODAHU_MODEL", "ODAHU_MODEL_INPUT", "ODAHU_MODEL_OUTPUT")
    )
    model = load_model(model_dir)
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.json")):
        request = json.loads(path.read_text(encoding="utf-8"))
        response: dict[str, Any] = {"model_name": model["name"], "model_version": model["version"]}
        if "id" in request:
            response["id"] = request["id"]
        response["outputs"] = [predict(model, tensor) for tensor in request["inputs"]]
        (target / path.name).write_text(json.dumps(response, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
