"""The partition function: every key in exactly one shard, the same one in every process and every rerun."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.runtime import _partition as part
from compiler.runtime._common import Fail

from .conftest import RUNTIME

# Object keys as rclone lists them: any text without surrogates (keys are UTF-8), paths with folders.
segments = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
keys_strategy = st.sets(st.lists(segments, min_size=1, max_size=3).map("/".join), max_size=60)


@settings(max_examples=300, deadline=None)
@given(keys=keys_strategy, shards=st.integers(min_value=1, max_value=300))
def test_every_key_lands_in_exactly_one_shard(keys: set[str], shards: int) -> None:
    assignment = part.partition(keys, shards)
    lists = part.file_lists(assignment, shards)
    assert len(lists) == shards
    listed = [key for names in lists for key in names]
    assert len(listed) == len(set(listed)) == len(keys)  # exactly once: no key twice, none lost
    assert set(listed) == keys
    for shard, names in enumerate(lists):
        assert names == sorted(names)
        assert all(part.shard_of(key, shards) == shard == assignment[key] for key in names)
    if shards > len(keys):
        assert sum(1 for names in lists if not names) >= shards - len(keys)


@settings(max_examples=100, deadline=None)
@given(keys=keys_strategy, shards=st.integers(min_value=1, max_value=300))
def test_the_partition_does_not_depend_on_the_order_of_the_keys(keys: set[str], shards: int) -> None:
    forward = part.partition(sorted(keys), shards)
    backward = part.partition(sorted(keys, reverse=True), shards)
    assert forward == backward
    assert part.file_lists(forward, shards) == part.file_lists(backward, shards)


def test_no_keys_give_empty_shards() -> None:
    assert part.file_lists(part.partition([], 5), 5) == [[], [], [], [], []]


def test_one_shard_takes_everything() -> None:
    keys = [f"f{i}.json" for i in range(50)]
    assert part.file_lists(part.partition(keys, 1), 1) == [sorted(keys)]


def test_a_shard_count_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        part.partition(["a"], 0)


def test_the_hash_is_pinned() -> None:
    # sha256(key)[:8] big-endian mod N: changing it would re-shard every half-done run.
    assert [part.shard_of("a.json", n) for n in (1, 2, 7, 256, 300)] == [0, 0, 6, 186, 50]
    assert [part.shard_of("sub/b.json", n) for n in (1, 2, 7, 256, 300)] == [0, 0, 5, 250, 58]
    assert [part.shard_of("ünï.json", n) for n in (1, 2, 7, 256, 300)] == [0, 1, 1, 243, 207]


@pytest.mark.parametrize("seed", ["0", "1", "random"])
def test_the_same_in_another_process(seed: str) -> None:
    keys = [f"dir{i % 7}/file {i}.json" for i in range(200)] + ["ünï.json", "#x", " lead"]
    code = (
        "import json, sys; import _partition as p; "
        "keys = json.load(sys.stdin); print(json.dumps(p.partition(keys, 13), sort_keys=True))"
    )
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(RUNTIME)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(keys),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(result.stdout) == part.partition(keys, 13)


def test_files_txt_is_one_key_a_line() -> None:
    assert part.files_txt([]) == b""
    assert part.files_txt(["a b.json", "sub/ü.json"]) == "a b.json\nsub/ü.json\n".encode()


@pytest.mark.parametrize(
    ("key", "problem"),
    [("", "an empty key"), ("a\nb", "a line break"), ("a\r", "a line break"), ("a\rb", "a line break")],
)
def test_keys_a_file_list_cannot_hold(key: str, problem: str) -> None:
    assert problem in (part.key_problem(key) or "")


@pytest.mark.parametrize("key", ["a.json", " lead", "trail ", "#hash", "star*.json", "tab\tx", "ü"])
def test_keys_a_file_list_holds(key: str) -> None:
    assert part.key_problem(key) is None


def test_results_for_256_shards_fit_tektons_limit() -> None:
    results = part.plan_results(256)
    assert json.loads(results["shard-ids"]) == [str(i) for i in range(256)]
    assert results["shard-count"] == "256"
    assert part.plan_results(1) == {"shard-ids": '["0"]', "shard-count": "1"}


def test_results_over_the_limit_fail_clearly() -> None:
    with pytest.raises(Fail, match=r"results a, b take \d+ bytes; Tekton allows 4096"):
        part.check_results_size({"a": "x" * 2000, "b": "y" * 2000})


def _doc(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {"request_id": "r1", "shards": 3, "files": {"a": 0, "b": 2}}
    doc.update(changes)
    return doc


def test_a_stored_partition_is_loaded() -> None:
    assert part.load_partition(_doc(), "r1", "p.json") == _doc()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "is not a partition"),
        (_doc(files=None), "is not a partition"),
        (_doc(request_id="r2"), "belongs to request 'r2', not 'r1'"),
        (_doc(shards=0), "shards must be an integer from 1 to 256"),
        (_doc(shards=True), "shards must be an integer"),
        (_doc(shards=257), "shards must be an integer"),
        (_doc(files={"a": 3}), "key 'a' has shard 3, outside 0..2"),
        (_doc(files={"a": "1"}), "key 'a' has shard '1'"),
    ],
)
def test_a_broken_stored_partition_is_refused(doc: object, message: str) -> None:
    with pytest.raises(Fail, match=message):
        part.load_partition(doc, "r1", "p.json")
