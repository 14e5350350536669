"""A stand-in for the Kubernetes API server, for ``odahu-batch status``'s cluster side.

A real HTTP server (``http.server.ThreadingHTTPServer``) on 127.0.0.1 that answers the two kinds of
GET the ``kubernetes`` client sends: a namespaced list of a custom resource
(``/apis/<group>/<version>/namespaces/<ns>/<plural>?labelSelector=k=v,...``) in the Kubernetes list
format (``apiVersion``, ``kind: <Kind>List``, ``metadata.resourceVersion``, ``items``), filtered by
equality-based label selectors as the API server filters them, and ``/api/v1/namespaces/<ns>/pods/<name>``
(404 in the API's ``Status`` format for a missing pod). The objects it serves are recorded Tekton
objects or Argo Workflows (``/apis/argoproj.io/v1alpha1/namespaces/<ns>/workflows``), each listed only
under its own ``apiVersion``, given by the test; ``set_objects`` replaces them while it runs (a run
moving on).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

LOOPBACK = "127.0.0.1"
Obj = Mapping[str, Any]


def matches(labels: Mapping[str, str], selector: str) -> bool:
    """Equality-based selectors only (``k=v``, ``k==v``, ``k!=v``), comma-separated: what the client sends."""
    for term in filter(None, selector.split(",")):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        else:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
    return True


class KubeApiServer:
    """Serves ``objects`` (TaskRuns, PipelineRuns, Pods) until stopped."""

    def __init__(self, objects: Sequence[Obj] = ()) -> None:
        self._lock = threading.Lock()
        self._objects: list[Obj] = list(objects)
        self.requests: list[str] = []  # path and decoded label selector of each GET
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def set_objects(self, objects: Sequence[Obj]) -> None:
        with self._lock:
            self._objects = list(objects)

    def kubeconfig(self, folder: Path, namespace: str = "default") -> Path:
        path = folder / "kubeconfig"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "stand-in", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": "not-a-real-token"}}],
            "contexts": [
                {
                    "name": "stand-in",
                    "context": {"cluster": "stand-in", "user": "tester", "namespace": namespace},
                }
            ],
            "current-context": "stand-in",
        }
        path.write_text(json.dumps(config), encoding="utf-8")
        return path

    def _answer(self, path: str, query: str) -> tuple[int, Obj]:
        parts = path.strip("/").split("/")
        selector = (parse_qs(query).get("labelSelector") or [""])[0]
        with self._lock:
            self.requests.append(f"{path}?labelSelector={selector}" if selector else path)
            objects = list(self._objects)
        if len(parts) == 6 and parts[0] == "api" and parts[4] == "pods":
            ns, name = parts[3], parts[5]
            for obj in objects:
                meta = obj.get("metadata") or {}
                if obj.get("kind") == "Pod" and meta.get("name") == name and meta.get("namespace") == ns:
                    return 200, obj
            return 404, _status(404, "NotFound", f'pods "{name}" not found')
        if len(parts) == 6 and parts[0] == "apis" and parts[3] == "namespaces":
            group_version, ns, plural = f"{parts[1]}/{parts[2]}", parts[4], parts[5]
            kinds = {"taskruns": "TaskRun", "pipelineruns": "PipelineRun", "workflows": "Workflow"}
            kind = kinds.get(plural)
            if kind is None:
                return 404, _status(
                    404, "NotFound", f"the server could not find the requested resource ({plural})"
                )
            items = [
                obj
                for obj in objects
                if obj.get("kind") == kind
                and obj.get("apiVersion") == group_version
                and (obj.get("metadata") or {}).get("namespace") == ns
                and matches((obj.get("metadata") or {}).get("labels") or {}, selector)
            ]
            listing = {
                "apiVersion": group_version,
                "kind": f"{kind}List",
                "metadata": {"resourceVersion": "1"},
            }
            return 200, {**listing, "items": items}
        return 404, _status(404, "NotFound", "the server could not find the requested resource")

    def start(self) -> Self:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                code, body = owner._answer(url.path, url.query)
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _status(code: int, reason: str, message: str) -> Obj:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}  # fmt: skip
