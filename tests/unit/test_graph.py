"""``odahu-batch graph``: the Mermaid picture is read off the compiled documents, and the README's
pictures are current (``pytest tests/unit/test_graph.py --snapshot-update`` rewrites them)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from compiler.backend import Target
from compiler.cli import main
from compiler.graph import mermaid, services
from compiler.pipeline import generate_documents

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# <!-- odahu-batch graph ARGS -->, a fenced mermaid block, <!-- end graph -->
EMBEDDED = re.compile(
    r"(<!-- odahu-batch graph (.+?) -->\n```mermaid\n)(.*?)(```\n<!-- end graph -->)", re.DOTALL
)


def _objects(path: str, target: Target | None = None) -> tuple[dict[str, object], ...]:
    result = generate_documents([ROOT / path], for_cluster=False, target=target)
    assert result.generated is not None
    return result.generated.objects


def test_plain_service_has_the_nine_steps_and_only_helpers_see_credentials() -> None:
    chart = mermaid(_objects("examples/s3"), "s3-multiplier")
    steps = re.findall(
        r'run_\d+\["(\d+)\. ([a-z-]+)<br/>([^<]+)<br/>volumes: ([^<]+)<br/>credentials: ([^"]+)"', chart
    )
    assert [s[1] for s in steps] == [
        "configure-rclone", "sync-data", "sync-model", "validate-input", "log-input",
        "user-container", "validate-output", "log-output", "sync-output",
    ]  # fmt: skip
    by_name = {s[1]: s for s in steps}
    assert by_name["user-container"][2] == "registry.example.com/odahu-batch/multiplier:1.0"
    assert by_name["user-container"][4] == "none"
    assert "config" not in by_name["user-container"][3]
    assert by_name["configure-rclone"][4] == "secret env + rclone config"
    assert by_name["sync-data"][2].startswith("docker.io/rclone/rclone:")
    assert "run_6[" in chart
    assert ":::user" in chart.split("run_6[")[1].splitlines()[0]


def test_sharded_service_is_plan_shards_merge() -> None:
    chart = mermaid(_objects("examples/sharded"), "scorer")
    assert 'subgraph pipeline["PipelineRun of Pipeline scorer-sharded"]' in chart
    assert "one TaskRun of Task scorer per shard (matrix over shard-index)" in chart
    assert "plan --> shard" in chart
    assert "shard --> merge" in chart
    assert "shard_5[" in chart


def test_the_argo_picture_shows_the_same_steps_in_one_pod() -> None:
    tekton = mermaid(_objects("examples/s3"), "s3-multiplier")
    argo = mermaid(_objects("examples/s3", "argo"), "s3-multiplier")
    step = re.compile(r'run_\d+\["([^"]+)"')
    # The same steps; Argo's sync-output also mounts the volume its summaries go to (no /tekton/results).
    assert [x.replace(", results<br/>", "<br/>") for x in step.findall(argo)] == step.findall(tekton)
    assert 'subgraph run["Workflow of WorkflowTemplate s3-multiplier: one pod"]' in argo


def test_the_argo_sharded_picture_is_the_dag_and_its_queue() -> None:
    chart = mermaid(_objects("examples/sharded", "argo"), "scorer")
    assert 'subgraph shard["shard: one pod per shard (withParam), 8 at once"]' in chart
    assert "plan --> shard" in chart
    assert "shard --> merge" in chart
    assert "3. merge<br/>" in chart  # only the plan's step, whose results Argo reads, is named main
    assert "3. main<br/>" in chart.split("subgraph shard[")[0]
    assert services(_objects("examples/sharded", "argo")) == ["ranker", "scorer"]


def test_services_lists_every_compiled_task() -> None:
    assert services(_objects("examples/sharded")) == ["ranker", "scorer"]


def test_unknown_service(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(ROOT / "examples" / "sharded"), "--service", "scorr"]) == 1
    assert "did you mean 'scorer'?" in capsys.readouterr().err


def test_markdown_for_all_services(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(ROOT / "examples" / "sharded")]) == 0
    out = capsys.readouterr().out
    assert out.count("```mermaid\nflowchart TD\n") == 2
    assert "### ranker\n" in out
    assert "### scorer\n" in out


def test_readme_pictures_are_current(
    request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    text = README.read_text(encoding="utf-8")
    found = list(EMBEDDED.finditer(text))
    assert len(found) >= 2, "the README embeds a plain and a sharded service"

    def current(match: re.Match[str]) -> str:
        capsys.readouterr()
        assert main(["graph", *shlex.split(match.group(2))]) == 0
        return match.group(1) + capsys.readouterr().out + match.group(4)

    wanted = EMBEDDED.sub(current, text)
    if request.config.getoption("--snapshot-update"):
        README.write_text(wanted, encoding="utf-8")
    assert wanted == text, "README's graphs are stale: pytest tests/unit/test_graph.py --snapshot-update"
