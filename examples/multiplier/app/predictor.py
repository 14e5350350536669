"""The multiplier predictor: ODAHU's batch-inference example model, standard library only.

Reads every ``*.json`` V2 inference request in the input folder, multiplies each input tensor
by the number in ``multiplier.txt`` and writes a V2 inference response of the same file name
to the output folder.

Folders come from the environment: ODAHU's code set ODAHU_MODEL_PATH / ODAHU_INPUT_PATH /
ODAHU_OUTPUT_PATH while its documentation names ODAHU_MODEL / ODAHU_MODEL_INPUT /
ODAHU_MODEL_OUTPUT; odahu-batch sets both, and this reads either.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

INTEGER_TYPES = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
NUMBER_TYPES = INTEGER_TYPES | {"FP16", "FP32", "FP64"}


def folder(legacy: str, current: str) -> Path:
    value = os.environ.get(legacy) or os.environ.get(current)
    if not value:
        sys.exit(f"predictor: neither {legacy} nor {current} is set")
    return Path(value)


def model_meta(model: Path) -> tuple[str, str]:
    """name and version from odahuflow.project.yaml (two plain keys: no YAML parser needed)."""
    text = (model / "odahuflow.project.yaml").read_text(encoding="utf-8")
    found = dict(re.findall(r"^\s+(name|version):\s*['\"]?([^'\"\n#]+?)['\"]?\s*$", text, re.MULTILINE))
    return found.get("name", "multiplier"), found.get("version", "1")


def scale(data: Any, factor: float, integral: bool) -> Any:
    if isinstance(data, list):
        return [scale(item, factor, integral) for item in data]
    product = data * factor
    return int(product) if integral else float(product)


def respond(request: dict[str, Any], factor: float, name: str, version: str) -> dict[str, Any]:
    outputs = []
    for tensor in request["inputs"]:
        datatype = tensor["datatype"]
        if datatype not in NUMBER_TYPES:
            raise ValueError(f"input {tensor['name']!r}: cannot multiply {datatype} data")
        integral = datatype in INTEGER_TYPES and float(factor).is_integer()
        outputs.append(
            {
                "name": tensor["name"],
                "shape": tensor["shape"],
                "datatype": datatype if integral or datatype not in INTEGER_TYPES else "FP64",
                "data": scale(tensor["data"], factor, integral),
            }
        )
    response: dict[str, Any] = {"model_name": name, "model_version": version}
    if "id" in request:
        response["id"] = request["id"]
    response["outputs"] = outputs
    return response


def main() -> int:
    model = folder("ODAHU_MODEL_PATH", "ODAHU_MODEL")
    source = folder("ODAHU_INPUT_PATH", "ODAHU_MODEL_INPUT")
    target = folder("ODAHU_OUTPUT_PATH", "ODAHU_MODEL_OUTPUT")
    factor_text = (model / "multiplier.txt").read_text(encoding="utf-8").strip()
    factor = float(factor_text)
    factor = int(factor) if factor.is_integer() else factor
    name, version = model_meta(model)
    target.mkdir(parents=True, exist_ok=True)
    requests = sorted(source.glob("*.json"))
    for path in requests:
        request = json.loads(path.read_text(encoding="utf-8"))
        response = respond(request, factor, name, version)
        (target / path.name).write_text(json.dumps(response, indent=2) + "\n", encoding="utf-8")
        print(f"predictor: {path.name}: {len(response['outputs'])} output(s)")
    print(f"predictor: {len(requests)} request(s), multiplier {factor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
