"""The packages' folders are the architecture: files -> front -> plan -> backend -> emit.

``compiler/front/`` knows nothing of planning or of any backend, ``compiler/plan/`` knows no backend, and
no library package imports the command line. Each package's README.md says the same in words.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

COMPILER = Path(__file__).resolve().parents[2] / "compiler"
BACKENDS = ("compiler.tekton", "compiler.argo")
ENTRY = ("compiler.cli", "compiler.commands", "compiler.pipeline", "compiler.backend", "compiler.localrun")
FORBIDDEN = {
    "front": ("compiler.plan", *BACKENDS, *ENTRY, "compiler.emit"),
    "plan": (*BACKENDS, *ENTRY, "compiler.emit"),
    "manifests": ("compiler.plan", *BACKENDS, *ENTRY),
    "tekton": ("compiler.argo", *ENTRY),
    "argo": ("compiler.tekton", *ENTRY),
}


def imported(source: str, module: str) -> list[tuple[str, int]]:
    """(absolute module, line) of every import in ``source``, the text of module ``module``."""
    package = module.rsplit(".", 1)[0]
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            # ``from compiler import tekton`` imports the package as surely as ``import compiler.tekton``.
            found.extend((f"{base}.{alias.name}", node.lineno) for alias in node.names)
    return found


def breaches(source: str, module: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{module}:{line}: imports {name}"
        for name, line in imported(source, module)
        if any(name == bad or name.startswith(f"{bad}.") for bad in forbidden)
    ]


def _modules(package: str) -> list[tuple[Path, str]]:
    return [(path, f"compiler.{package}.{path.stem}") for path in sorted((COMPILER / package).glob("*.py"))]


@pytest.mark.parametrize(
    ("path", "module", "package"),
    [(path, module, package) for package in FORBIDDEN for path, module in _modules(package)],
    ids=lambda value: value if isinstance(value, str) and value.startswith("compiler.") else "",
)
def test_package_imports_nothing_downstream(path: Path, module: str, package: str) -> None:
    assert breaches(path.read_text(), module, FORBIDDEN[package]) == []


def test_every_package_has_a_readme_and_exports_its_stage() -> None:
    for package, stage in (("front", "resolve"), ("plan", "plan"), ("tekton", "render")):
        assert (COMPILER / package / "README.md").is_file(), package
        assert f'"{stage}"' in (COMPILER / package / "__init__.py").read_text(), package


def test_the_check_sees_every_form_of_import() -> None:
    source = "import compiler.tekton.render\nfrom compiler.argo import rules\nfrom ..tekton import guards\n"
    assert breaches(source, "compiler.plan.steps", BACKENDS) == [
        "compiler.plan.steps:1: imports compiler.tekton.render",
        "compiler.plan.steps:2: imports compiler.argo.rules",
        "compiler.plan.steps:3: imports compiler.tekton.guards",
    ]
    assert breaches("from compiler.plan.model import Plan\n", "compiler.tekton.render", BACKENDS) == []


# The plan speaks of runs, shards, results and needs, never of an engine. An upstream file may still be
# cited where the plan writes a value whose meaning that file fixes (a pod's requests, a failed step
# stopping the later ones, the webhook interceptors' CEL and HMAC checks): the house rule asks for the
# citation, and ``tektoncd/<repo> <path>`` names a file, not a backend the plan imports.
# CEL is Tekton Triggers' expression language, as expr is Argo's: the plan states webhook rules as data.
ENGINE_WORDS = re.compile(r"tekton|taskrun|pipelinerun|argo|\bcel\b", re.IGNORECASE)
CITATION = re.compile(r"tektoncd/(pipeline|triggers)( v[0-9.]+)? [\w./-]+")


def engine_words(source: str, module: str) -> list[str]:
    return [
        f"{module}:{number}: {match.group(0)}"
        for number, line in enumerate(source.splitlines(), 1)
        for match in ENGINE_WORDS.finditer(CITATION.sub("", line))
    ]


@pytest.mark.parametrize(("path", "module"), _modules("plan"), ids=lambda v: v if isinstance(v, str) else "")
def test_the_plan_names_no_engine(path: Path, module: str) -> None:
    assert engine_words(path.read_text(), module) == []


def test_the_word_check_sees_code_comments_and_any_case() -> None:
    source = (
        'kind = "TaskRun"\n# an Argo CD sync\nX = "/tekton/results"  # tektoncd/pipeline pkg/pod/pod.go\n'
    )
    assert engine_words(source, "m") == ["m:1: TaskRun", "m:2: Argo", "m:3: tekton"]
    assert engine_words("# a CEL filter, cancelled\n", "m") == ["m:1: CEL"]
