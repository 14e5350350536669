"""A pod's steps, substituted and resolved as the pod would run them (container-side strings).

``Preparer.step()`` applies, in the cluster's order: the engine's substitution (the pod's own: Tekton's
per step, none left for Argo, see ``pod.py``), the env's ``valueFrom`` (Secrets, ConfigMaps, the pod's
own fields), then Kubernetes' ``$(VAR)`` expansion of env values, command and args. Paths stay container
paths here: the launcher maps them.
``Preparer.check()`` prepares every step once before anything runs, so a missing secret or an undeclared
param stops the job before its first step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.localrun.errors import LocalRunError
from compiler.localrun.pod import Pod, StepResults, Substitution
from compiler.localrun.rundir import RunDir
from compiler.localrun.secrets import SecretStore
from compiler.localrun.tekton import k8s_expand, merge_step_resources
from compiler.units import parse_duration

USER_STEP = "user-container"
# Tekton's default TaskRun timeout (``default-timeout-minutes: 60``).
DEFAULT_TIMEOUT = 3600.0
UNSUPPORTED_STEP_FIELDS = ("ref", "envFrom", "volumeDevices", "stdoutConfig", "stderrConfig")


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str
    secret: bool = False


@dataclass(frozen=True)
class Mount:
    volume: str
    path: str
    host: Path
    read_only: bool


@dataclass(frozen=True)
class Step:
    """One step as its container would run it: every string substituted, paths still container paths."""

    name: str
    image: str
    command: tuple[str, ...]
    args: tuple[str, ...]
    script: str | None
    env: tuple[EnvVar, ...]
    working_dir: str | None
    mounts: tuple[Mount, ...]
    timeout: float | None
    on_error: str
    results: tuple[str, ...]
    resources: Mapping[str, Any] = dataclasses.field(
        default_factory=dict
    )  # stepSpecs merged; not enforced locally

    @property
    def is_user(self) -> bool:
        return self.name == USER_STEP


def seconds(duration: str | None, default: float | None) -> float | None:
    """A Go duration in seconds; ``"0"`` means no limit, None the default."""
    if duration is None:
        return default
    try:
        ns = parse_duration(str(duration))
    except ValueError as exc:
        raise LocalRunError(str(exc)) from exc
    return ns / 1e9 if ns else None


class Preparer:
    def __init__(self, pod: Pod, rundir: RunDir, secrets: SecretStore) -> None:
        self.pod = pod
        self.rundir = rundir
        self.secrets = secrets
        self.timeout = pod.timeout
        self.volumes: list[Mapping[str, Any]] = list(pod.volumes)
        self.raw_steps: list[Mapping[str, Any]] = list(pod.containers)
        if not self.raw_steps:
            raise LocalRunError(f"{pod.owner} has no steps")
        # step -> (env var, Secret, key) of optional secretKeyRefs left unset: a hint if the step fails.
        self.unset_optional: dict[str, set[tuple[str, str, str]]] = {}
        self.pod_fields = {
            "metadata.name": f"{pod.name}-pod",
            "metadata.namespace": pod.namespace,
            "metadata.uid": pod.uid,
            "spec.nodeName": "localhost",
            "spec.serviceAccountName": pod.service_account,
            "status.podIP": "127.0.0.1",
            "status.hostIP": "127.0.0.1",
        }

    def unset_secrets_hint(self, step: str) -> str:
        """For a failed step: the optional Secret keys it did not get, and how to give them."""
        refs = sorted(self.unset_optional.get(step, ()))
        if not refs:
            return ""
        listing = ", ".join(f"{secret}/{key} (env {var})" for var, secret, key in refs)
        return (
            f"hint: step {step} got no value for the optional Secret key(s) {listing}; "
            "give them with --secret NAME/KEY=VALUE or --secrets-file FILE"
        )

    @property
    def step_names(self) -> list[str]:
        return [str(s.get("name", f"unnamed-{i}")) for i, s in enumerate(self.raw_steps)]

    def check(self) -> list[Step]:
        """Prepare every step (step results read as empty) and report all problems at once."""
        problems: list[str] = []
        steps: list[Step] = []
        for raw in self.raw_steps:
            try:
                steps.append(self.step(raw, lambda _s, _r: ""))
            except LocalRunError as exc:
                problems.append(str(exc))
        if problems:
            raise LocalRunError("\n".join(problems))
        return steps

    def step(self, raw: Mapping[str, Any], step_results: StepResults) -> Step:
        name = str(raw.get("name", ""))
        for field in UNSUPPORTED_STEP_FIELDS:
            if raw.get(field):
                raise LocalRunError(f"step {name}: {field} is not supported by the local runner")
        if raw.get("script") is None and not raw.get("command"):
            raise LocalRunError(
                f"step {name} has no command or script and relies on its image's entrypoint, "
                "which the local runner cannot know"
            )
        own_results = [r["name"] for r in raw.get("results") or []]
        sub = self.pod.substitution.for_step(name, raw, step_results)
        self._check_references(name, raw, sub)
        env = self._env(name, raw.get("env") or [], sub)
        variables = {e.name: e.value for e in env}
        command = [k8s_expand(c, variables) for c in sub.items(raw.get("command") or [])]
        args = [k8s_expand(a, variables) for a in sub.items(raw.get("args") or [])]
        script = raw.get("script")
        working_dir = raw.get("workingDir")
        return Step(
            name=name,
            image=sub.text(str(raw.get("image", ""))),
            command=tuple(command),
            args=tuple(args),
            script=sub.text(script) if script is not None else None,
            env=tuple(env),
            working_dir=sub.text(working_dir) if working_dir else None,
            mounts=self._mounts(name, raw.get("volumeMounts") or [], sub),
            timeout=seconds(raw.get("timeout"), None),
            on_error=str(raw.get("onError") or "stopAndFail"),
            results=tuple(own_results),
            resources=merge_step_resources(
                raw.get("computeResources") or raw.get("resources") or {}, self.pod.resources.get(name, {})
            ),
        )

    def _check_references(self, name: str, raw: Mapping[str, Any], sub: Substitution) -> None:
        texts = [str(raw.get(k) or "") for k in ("image", "script", "workingDir")]
        texts += [*(raw.get("command") or []), *(raw.get("args") or [])]
        texts += [str(e.get("value", "")) for e in raw.get("env") or []]
        texts += [
            str(m.get(k, "")) for m in raw.get("volumeMounts") or [] for k in ("name", "mountPath", "subPath")
        ]
        bad = sorted({ref for text in texts for ref in sub.unresolved(text)})
        if bad:
            owner = self.pod.owner
            raise LocalRunError(f"step {name} uses {', '.join(bad)}, which the {owner} does not declare")

    def _env(self, step: str, items: Sequence[Mapping[str, Any]], sub: Substitution) -> list[EnvVar]:
        resolved: dict[str, EnvVar] = {}
        missing: list[str] = []
        for item in items:
            var = str(item["name"])
            source = item.get("valueFrom")
            if source is None:
                # Kubernetes expands a value with the variables defined before it.
                before = {e.name: e.value for e in resolved.values()}
                value = k8s_expand(sub.text(str(item.get("value", ""))), before)
                resolved[var] = EnvVar(var, value)
                continue
            found = self._value_from(step, var, source, sub, missing)
            if found is not None:
                resolved.pop(var, None)
                resolved[var] = found
        if missing:
            raise LocalRunError("\n".join(missing))
        return list(resolved.values())

    def _value_from(
        self, step: str, var: str, source: Mapping[str, Any], sub: Substitution, missing: list[str]
    ) -> EnvVar | None:
        if "secretKeyRef" in source or "configMapKeyRef" in source:
            is_secret = "secretKeyRef" in source
            ref = source["secretKeyRef" if is_secret else "configMapKeyRef"]
            obj, key = sub.text(str(ref.get("name", ""))), sub.text(str(ref["key"]))
            if is_secret:
                value = self.secrets.get(obj, key)
            else:
                data = (self.pod.configmaps.get(obj) or {}).get("data") or {}
                value = None if key not in data else str(data[key])
            if value is not None:
                return EnvVar(var, value, secret=is_secret)
            if not ref.get("optional"):
                kind = "Secret" if is_secret else "ConfigMap"
                how = f"; give it with --secret {obj}/{key}=VALUE or --secrets-file FILE" if is_secret else ""
                missing.append(f"step {step}: env {var} needs key {key!r} of {kind} {obj!r}{how}")
            elif is_secret:
                self.unset_optional.setdefault(step, set()).add((var, obj, key))
            return None
        if "fieldRef" in source:
            path = str(source["fieldRef"].get("fieldPath", ""))
            if path not in self.pod_fields:
                raise LocalRunError(f"step {step}: env {var}: fieldRef {path} is not known locally")
            return EnvVar(var, self.pod_fields[path])
        raise LocalRunError(f"step {step}: env {var}: valueFrom {', '.join(source)} is not supported locally")

    def _mounts(self, step: str, items: Sequence[Mapping[str, Any]], sub: Substitution) -> tuple[Mount, ...]:
        names = {str(v["name"]) for v in self.volumes}
        mounts: list[Mount] = []
        for item in items:
            volume = sub.text(str(item["name"]))
            if volume not in names:
                raise LocalRunError(
                    f"step {step} mounts volume {volume!r}, which the {self.pod.owner} does not declare"
                )
            host = self.rundir.volume(volume)
            sub_path = sub.text(str(item.get("subPath") or ""))
            if sub_path:
                host = host / sub_path
            path = sub.text(str(item["mountPath"]))
            mounts.append(Mount(volume, path, host, bool(item.get("readOnly", False))))
        return tuple(mounts)
