"""Projects for the back end's unit tests, read from YAML text through the real front end."""

from __future__ import annotations

from compiler.diagnostics import has_errors
from compiler.front.load import parse_text
from compiler.front.project import Project
from compiler.front.resolve import resolve
from compiler.front.validate import validate
from compiler.runtime_bundle import RuntimeBundle

BUNDLE = RuntimeBundle(
    (
        ("configure_rclone.py", "import sys\n\nprint('configure')\n"),
        ("feedback.py", "print('feedback')\n"),
        ("sync_model.py", "print('model')\n"),
        ("sync_output.py", "print('output')\n"),
        ("validate.py", "print('validate')\n"),
    )
)

HEAD = "apiVersion: batch.odahu.org/v1alpha1\n"

CONNECTIONS = f"""\
{HEAD}kind: Connection
metadata: {{name: data}}
spec:
  type: s3
  uri: s3://odahu-data/batch
  region: eu-west-1
  credentials:
    secretRef: {{name: odahu-data-creds}}
---
{HEAD}kind: Connection
metadata: {{name: models}}
spec:
  type: gcs
  uri: gs://odahu-models/registry
---
{HEAD}kind: Connection
metadata: {{name: blobs}}
spec:
  type: azureblob
  uri: https://odahuacct.blob.core.windows.net/results/batch
  credentials:
    secretRef: {{name: blob-creds, keys: {{sasURL: sas}}}}
"""

MULTIPLIER = f"""\
{HEAD}kind: InferenceService
metadata: {{name: multiplier}}
spec:
  image: registry.example.com/predictor:1.0
  command: [python3]
  args: [/app/predict.py]
  modelRegistry:
    remote: {{modelConnection: models, modelPath: multiplier/v1}}
  dataSource: {{connection: data, path: batch/input}}
  outputDestination: {{connection: data, path: batch/output}}
  resources:
    requests: {{cpu: "0.5", memory: 1024Mi}}
    limits: {{gpu: 1, memory: 2Gi}}
  nodeSelector: {{pool: gpu}}
  timeout: 90m
  triggers:
    webhook:
      hmac: {{secretName: webhook-hmac, secretKey: token}}
      allowedConnections: [blobs]
"""

BAKED = f"""\
{HEAD}kind: InferenceService
metadata: {{name: baked}}
spec:
  image: registry.example.com/baked:2.0
  command: [python3]
  args: [/app/predict.py]
  modelRegistry:
    local: {{modelPath: /opt/model, meta: {{name: baked, version: "2"}}}}
  dataSource: {{connection: data, path: batch/input}}
  triggers: {{webhook: {{enabled: false, allowedConnections: [data]}}}}
"""

JOBS = f"""\
{HEAD}kind: InferenceJob
metadata: {{name: nightly}}
spec:
  inferenceServiceId: multiplier
---
{HEAD}kind: InferenceJob
metadata: {{name: backfill}}
spec:
  inferenceServiceId: multiplier
  dataSource: {{connection: blobs, path: "2026-11"}}
  requestId: backfill-2026-11
  resources:
    requests: {{cpu: "0.5", memory: 1024Mi}}
    limits: {{cpu: "4", gpu: 2, memory: 2Gi}}
---
{HEAD}kind: InferenceJob
metadata: {{name: baked-once}}
spec:
  inferenceServiceId: baked
  outputDestination: {{connection: data}}
"""

SETTINGS = f"""\
{HEAD}kind: BatchSettings
metadata: {{name: settings}}
spec:
  tolerations:
    - {{key: gpu, operator: Exists, effect: NoSchedule}}
"""

SAMPLE = "---\n".join((CONNECTIONS, MULTIPLIER, BAKED, JOBS, SETTINGS))


def project_from(text: str, *, for_cluster: bool = True) -> Project:
    raws, diags = parse_text("specs.yaml", text)
    assert not diags, diags
    validated = validate(raws)
    assert not has_errors(validated.diagnostics), validated.diagnostics
    resolved = resolve(validated.documents, for_cluster=for_cluster)
    assert resolved.project is not None, resolved.diagnostics
    return resolved.project


def sample_project(extra: str = "") -> Project:
    return project_from(SAMPLE + (f"---\n{extra}" if extra else ""))
