"""Data loading (every file type, directories, the sample, the hub offline), sampling, splits."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qwen2_rust import data
from qwen2_rust.data import (
    LoadedSplit,
    LoadError,
    available_splits,
    hub_reachable,
    load_split,
    read_file,
    stratified_sample_indices,
    stratified_split,
)
from qwen2_rust.errors import UserFacingError
from qwen2_rust.tasks import CATEGORIES, STRANDSET_TRAIN_COUNTS

ROOT = Path(__file__).resolve().parents[1]
CLOSED_ENDPOINT = "http://127.0.0.1:9"  # the discard port: nothing listens there


def make_row(i: int, category: str = "code_summarization") -> dict[str, Any]:
    return {
        "crate_name": f"crate{i}",
        "input_data": repr({"code": f"fn f{i}() {{}}", "code_context": None}),
        "output_data": json.dumps({"summary": f"Function {i}."}),
        "task_category": category,
        "test": "",
    }


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


ROWS = [make_row(i) for i in range(5)]


# --- files ---------------------------------------------------------------------------------


def test_load_jsonl(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    loaded = load_split(str(path))
    assert loaded.rows == ROWS
    assert loaded.errors == []
    assert loaded.source == str(path)


def test_load_json_array_and_wrapped(tmp_path: Path) -> None:
    array = tmp_path / "rows.json"
    array.write_text(json.dumps(ROWS), encoding="utf-8")
    assert load_split(str(array)).rows == ROWS
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"rows": ROWS}), encoding="utf-8")
    assert load_split(str(wrapped)).rows == ROWS


def test_load_json_that_is_json_lines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "rows.json", ROWS)
    assert load_split(str(path)).rows == ROWS


def test_load_json_array_with_non_object(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([ROWS[0], 7, ROWS[1]]), encoding="utf-8")
    loaded = load_split(str(path))
    assert loaded.rows == [ROWS[0], None, ROWS[1]]
    assert [e.row for e in loaded.errors] == [1]


def test_load_json_scalar_is_user_error(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text("42", encoding="utf-8")
    with pytest.raises(UserFacingError, match="expected a JSON array"):
        load_split(str(path))


def test_load_parquet(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "rows.parquet", ROWS)
    loaded = load_split(str(path))
    assert loaded.rows == ROWS
    assert loaded.errors == []


def test_bad_parquet_is_user_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(UserFacingError, match="not a readable parquet file"):
        load_split(str(path))


def test_bad_jsonl_lines_become_load_errors(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    lines = [
        json.dumps(ROWS[0]),
        '{"crate_name": "cut off',  # not JSON
        "",  # blank lines are skipped
        json.dumps(ROWS[1]),
        "[1, 2]",  # JSON, but not an object
        json.dumps(ROWS[2]),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_split(str(path))
    assert loaded.rows == [ROWS[0], None, ROWS[1], None, ROWS[2]]
    assert [e.row for e in loaded.errors] == [1, 3]
    assert all(isinstance(e, LoadError) for e in loaded.errors)
    assert "line 2 is not JSON" in loaded.errors[0].reason
    assert "line 5 is a list, not an object" in loaded.errors[1].reason
    assert loaded.valid_rows() == ROWS[:3]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserFacingError, match="data file not found"):
        load_split(str(tmp_path / "nope.jsonl"))
    with pytest.raises(UserFacingError, match="data file not found"):
        read_file(tmp_path / "nope.parquet")


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UserFacingError, match=r"unsupported file type '\.csv'"):
        load_split(str(path))


def test_directory_with_split_files(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "train.jsonl", ROWS[:3])
    write_jsonl(tmp_path / "test.jsonl", ROWS[3:])
    assert available_splits(str(tmp_path)) == ["train", "test"]
    assert load_split(str(tmp_path), "train").rows == ROWS[:3]
    test = load_split(str(tmp_path), "test")
    assert test.rows == ROWS[3:]
    assert test.split == "test"
    with pytest.raises(UserFacingError, match="no file for split 'validation'"):
        load_split(str(tmp_path), "validation")


def test_directory_hub_style_parquet_shards(tmp_path: Path) -> None:
    write_parquet(tmp_path / "data" / "train-00000-of-00002.parquet", ROWS[:2])
    write_parquet(tmp_path / "data" / "train-00001-of-00002.parquet", ROWS[2:])
    write_parquet(tmp_path / "data" / "test-00000-of-00001.parquet", ROWS[:1])
    assert load_split(str(tmp_path), "train").rows == ROWS
    assert load_split(str(tmp_path), "test").rows == ROWS[:1]
    assert available_splits(str(tmp_path)) == ["train", "test"]


def test_a_file_has_no_other_splits(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    assert available_splits(str(path)) == []


def test_bundled_sample() -> None:
    assert available_splits("sample") == ["test", "train"]
    train = load_split("sample", "train")
    test = load_split("sample", "test")
    assert len(train.rows) >= 75 and len(test.rows) >= 30
    assert train.errors == [] and test.errors == []
    assert set(Counter(r["task_category"] for r in train.rows)) == set(CATEGORIES)
    with pytest.raises(UserFacingError, match="no split 'validation'"):
        load_split("sample", "validation")


def test_subset_keeps_row_numbers_and_errors() -> None:
    loaded = LoadedSplit("x", "train", [ROWS[0], None, ROWS[1], ROWS[2]], [LoadError(1, "bad")])
    subset = loaded.subset([3, 1])
    assert subset.rows == [ROWS[2], None]
    assert subset.errors == [LoadError(1, "bad")]  # position in the subset
    assert [subset.row_number(i) for i in range(2)] == [3, 1]  # original row numbers
    assert loaded.subset([0, 2]).errors == []


# --- hub -----------------------------------------------------------------------------------


def test_hub_unreachable_fails_fast_with_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_ENDPOINT)
    assert not hub_reachable(timeout=2)
    with pytest.raises(UserFacingError) as info:
        load_split("Fortytwo-Network/Strandset-Rust-v1")
    message = str(info.value)
    assert "unreachable" in message
    assert "--data FILE" in message and "--data sample" in message
    assert "\n" not in message


def test_hub_reachable_with_a_listening_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert hub_reachable(timeout=2)


def _load_hub_in_child(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Load a hub id in a fresh interpreter whose HF caches are empty temporary dirs."""
    dropped = ("HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_HUB_CACHE", "HF_DATASETS_CACHE")
    child_env = {k: v for k, v in os.environ.items() if k not in dropped}
    child_env.update(HF_HOME=str(tmp_path / "hf"), **env)
    code = (
        "from qwen2_rust.data import load_split\n"
        "from qwen2_rust.errors import UserFacingError\n"
        "try:\n"
        "    load_split('Fortytwo-Network/Strandset-Rust-v1', 'train')\n"
        "except UserFacingError as exc:\n"
        "    print('USER-ERROR', exc)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard, not a timing assertion
        check=False,
    )


def test_hub_offline_not_cached_fails_without_datasets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_DATASETS_CACHE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(UserFacingError) as info:
        load_split("Fortytwo-Network/Strandset-Rust-v1")
    message = str(info.value)
    assert "HF_HUB_OFFLINE is set and it is not in the local cache" in message
    assert "--data FILE" in message and "--data sample" in message


def test_maybe_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_DATASETS_CACHE"):
        monkeypatch.delenv(name, raising=False)
    assert not data.maybe_cached("Org/Name")
    (tmp_path / "datasets" / "org___name").mkdir(parents=True)
    assert data.maybe_cached("Org/Name")  # the datasets cache (case-insensitive)
    assert not data.maybe_cached("Org/Other")
    (tmp_path / "hub" / "datasets--Org--Other").mkdir(parents=True)
    assert data.maybe_cached("Org/Other")  # the Hub cache
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert not data.maybe_cached("Org/Other")


def test_hub_offline_mode_is_user_error(tmp_path: Path) -> None:
    proc = _load_hub_in_child(tmp_path, HF_HUB_OFFLINE="1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("USER-ERROR")
    assert "HF_HUB_OFFLINE" in proc.stdout
    assert "--data FILE" in proc.stdout and "--data sample" in proc.stdout
    assert proc.stdout.count("\n") == 1


def test_hub_offline_cache_entry_without_data_is_user_error(tmp_path: Path) -> None:
    # Something in the cache: `datasets` gets to try, and its failure is one clear line too.
    (tmp_path / "hf" / "hub" / "datasets--Fortytwo-Network--Strandset-Rust-v1").mkdir(parents=True)
    proc = _load_hub_in_child(tmp_path, HF_HUB_OFFLINE="1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("USER-ERROR")
    assert "HF_HUB_OFFLINE" in proc.stdout and "--data" in proc.stdout
    assert proc.stdout.count("\n") == 1


def test_hub_closed_endpoint_is_user_error(tmp_path: Path) -> None:
    proc = _load_hub_in_child(tmp_path, HF_ENDPOINT=CLOSED_ENDPOINT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("USER-ERROR")
    assert "127.0.0.1:9" in proc.stdout and "--data" in proc.stdout


def test_hub_id_is_not_mistaken_for_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert not data._looks_local("Fortytwo-Network/Strandset-Rust-v1")
    assert data._looks_local("./rows.jsonl")
    assert data._looks_local("rows.parquet")
    assert data._looks_local("~/somewhere")


# --- sampling ------------------------------------------------------------------------------


def real_mix(scale: int = 20) -> list[str]:
    """Categories in the real train mix, 1/``scale`` of its size (at least one each)."""
    categories: list[str] = []
    for category, count in STRANDSET_TRAIN_COUNTS.items():
        categories += [category] * max(1, count // scale)
    return categories


def test_sampling_is_deterministic() -> None:
    categories = real_mix()
    first = stratified_sample_indices(categories, 500, seed=7)
    assert first == stratified_sample_indices(categories, 500, seed=7)
    assert first != stratified_sample_indices(categories, 500, seed=8)
    assert len(first) == len(set(first)) == 500
    assert all(0 <= i < len(categories) for i in first)


def test_sampling_at_least_one_per_category() -> None:
    categories = real_mix()
    n = len(CATEGORIES)
    for seed in range(5):
        chosen = stratified_sample_indices(categories, n, seed=seed)
        assert sorted(Counter(categories[i] for i in chosen).values()) == [1] * n
    # api_usage_prediction is 0.26 % of the data: a proportional-only 100-row sample
    # would give it no row.
    chosen = stratified_sample_indices(categories, 100, seed=0)
    assert set(Counter(categories[i] for i in chosen)) == set(CATEGORIES)


def test_sampling_is_proportional() -> None:
    categories = real_mix(scale=1)
    n = 1000
    chosen = stratified_sample_indices(categories, n, seed=42)
    got = Counter(categories[i] for i in chosen)
    assert sum(got.values()) == n
    total = len(categories)
    for category, count in STRANDSET_TRAIN_COUNTS.items():
        share = n * count / total
        assert abs(got[category] - share) <= 1.5, (category, got[category], share)


def test_sampling_fewer_than_categories() -> None:
    categories = real_mix()
    chosen = stratified_sample_indices(categories, 5, seed=1)
    assert len(chosen) == len(set(chosen)) == 5


def test_sampling_edge_sizes() -> None:
    categories = ["a", "b", "b", "c"]
    assert sorted(stratified_sample_indices(categories, None)) == [0, 1, 2, 3]
    assert sorted(stratified_sample_indices(categories, 10)) == [0, 1, 2, 3]
    assert stratified_sample_indices(categories, 0) == []
    assert stratified_sample_indices([], 3) == []


def test_stratified_split() -> None:
    categories = real_mix(scale=100)
    train, evaluation = stratified_split(categories, 0.1, seed=3)
    assert sorted(train + evaluation) == list(range(len(categories)))
    assert not set(train) & set(evaluation)
    assert (train, evaluation) == stratified_split(categories, 0.1, seed=3)
    held_out = Counter(categories[i] for i in evaluation)
    totals = Counter(categories)
    assert len(evaluation) == round(len(categories) * 0.1)
    for category, total in totals.items():
        if total > 1:
            assert abs(held_out[category] - total * 0.1) <= 1.5, category
            assert held_out[category] >= 1


def test_stratified_split_caps_the_eval_set_and_stays_proportional_when_tiny() -> None:
    categories = real_mix(scale=100)
    _, capped = stratified_split(categories, 0.1, seed=3, max_eval=40)
    assert len(capped) == 40
    assert len(Counter(categories[i] for i in capped)) == len(set(categories))
    # 30 rows, 15 categories: 10% is 3 rows, not one per category (which would be half).
    tiny = [c for c in sorted(set(categories)) for _ in range(2)]
    train, evaluation = stratified_split(tiny, 0.1)
    assert len(evaluation) == 3 and len(train) == 27


def test_stratified_split_singletons_and_zero() -> None:
    categories = ["solo", "pair", "pair"]
    train, evaluation = stratified_split(categories, 0.5)
    assert 0 in train
    assert len(evaluation) == 1 and categories[evaluation[0]] == "pair"
    assert stratified_split(categories, 0.0) == ([0, 1, 2], [])


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_stratified_split_bad_fraction(fraction: float) -> None:
    with pytest.raises(UserFacingError, match="--eval-fraction"):
        stratified_split(["a", "b"], fraction)
