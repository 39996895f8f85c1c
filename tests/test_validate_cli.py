"""qwen2-validate end to end: exit codes 0/1/2, the report (table and --json), sampling,
leakage, token budget; in-process through `main` and once as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from qwen2_rust.cli.validate import main
from qwen2_rust.data import load_split
from qwen2_rust.tasks import CATEGORIES

CLOSED_ENDPOINT = "http://127.0.0.1:9"
SAMPLE_TRAIN = [r for r in load_split("sample", "train").rows if r is not None]
N_TRAIN = len(SAMPLE_TRAIN)
TRAIN_MIX = dict(sorted(Counter(r["task_category"] for r in SAMPLE_TRAIN).items()))
JSON_KEYS = {
    "total_rows",
    "valid_rows",
    "invalid_rows",
    "by_category",
    "errors",
    "token_lengths",
    "over_max_length",
    "duplicates",
}


def sample_row(category: str, nth: int = 0) -> dict[str, Any]:
    return dict([r for r in SAMPLE_TRAIN if r["task_category"] == category][nth])


def raw(category: str, inputs: Any, outputs: Any) -> dict[str, Any]:
    return {
        "crate_name": "demo",
        "input_data": inputs if isinstance(inputs, str) else repr(inputs),
        "output_data": outputs if isinstance(outputs, str) else json.dumps(outputs),
        "task_category": category,
        "test": "",
    }


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run_main(capsys, *argv, "--json")
    return code, json.loads(out)


def assert_one_line_error(err: str, *fragments: str) -> None:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("qwen2-validate: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def broken_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[int, str]]]:
    good = [
        sample_row("code_summarization"),
        sample_row("function_naming"),
        sample_row("test_generation"),
    ]
    no_placeholder = raw(
        "function_naming", {"code": "fn factorial(n: u64) -> u64 { n }"}, {"function_name": "f"}
    )
    two_problems = raw("variable_naming", {"code": "let x = 1;"}, {"variable_name": "None"})
    lines: list[tuple[str, list[str]]] = [
        (json.dumps(good[0]), []),
        (json.dumps(good[1]), []),
        (
            json.dumps({**good[0], "input_data": "{'code': 'fn f(' "}),
            ["input_data"],
        ),  # unparsable field
        (json.dumps({**good[0], "output_data": '{"summary": '}), ["output_data"]),
        (json.dumps({**good[0], "task_category": "poetry_generation"}), ["task_category"]),
        (json.dumps({k: v for k, v in good[0].items() if k != "output_data"}), ["output_data"]),
        (
            json.dumps(
                raw("code_generation", {"title": "Add", "description": None}, {"code": "x"})
            ),
            ["input_data.description"],
        ),
        (
            json.dumps(raw("code_summarization", {"code": "fn f() {}"}, {"summary": ""})),
            ["output_data.summary"],
        ),
        (json.dumps(no_placeholder), ["input_data.code"]),
        ('{"crate_name": "cut", "input_data": ', ["<row>"]),  # not JSON at all
        (json.dumps(good[0]), []),  # an exact duplicate of row 0: valid, but counted
        (json.dumps(good[2]), []),
        (json.dumps({**good[0], "output_data": '["a list"]'}), ["output_data"]),
        (
            json.dumps(raw("code_summarization", {"code": {"a": 1}}, {"summary": "s"})),
            ["input_data.code"],
        ),
        (json.dumps(two_problems), ["output_data.variable_name", "input_data.code"]),
    ]
    path = tmp_path_factory.mktemp("broken") / "broken.jsonl"
    path.write_text("".join(line + "\n" for line, _ in lines), encoding="utf-8")
    expected = [(row, f) for row, (_, fields) in enumerate(lines) for f in fields]
    return path, expected


def test_sample_is_valid_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "--data", "sample")
    assert code == 0, err
    assert "sample [train]" in out
    assert "rows per category" in out
    for category in CATEGORIES:
        assert category in out
    assert "tokens p50 / p95 / p99 / max" in out
    assert "rows share input_data with test" in out
    assert "problems" not in out


def test_sample_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, "--data", "sample")
    assert code == 0
    assert set(report) >= JSON_KEYS
    assert report["total_rows"] == report["valid_rows"] == N_TRAIN
    assert report["invalid_rows"] == 0
    assert report["errors"] == []
    assert report["by_category"] == TRAIN_MIX
    assert sorted(TRAIN_MIX) == sorted(CATEGORIES)
    lengths = report["token_lengths"]
    assert set(lengths) == {"p50", "p95", "p99", "max"}
    assert 0 < lengths["p50"] <= lengths["p95"] <= lengths["p99"] <= lengths["max"]
    assert report["over_max_length"] == 0
    assert report["duplicates"] == 0
    assert report["leakage"] == {"other_split": "test", "rows": 0, "examples": []}


def test_broken_file_json(
    capsys: pytest.CaptureFixture[str], broken_file: tuple[Path, list[tuple[int, str]]]
) -> None:
    path, expected = broken_file
    code, report = run_json(capsys, "--data", str(path))
    assert code == 1
    assert set(report) >= JSON_KEYS
    assert report["total_rows"] == 15
    assert report["valid_rows"] == 4  # rows 0, 1, 10 (the duplicate) and 11
    assert report["invalid_rows"] == 11
    assert sorted((e["row"], e["field"]) for e in report["errors"]) == sorted(expected)
    assert all(set(e) == {"row", "field", "reason"} for e in report["errors"])
    assert {e["row"] for e in report["errors"]} == set(range(2, 10)) | {12, 13, 14}
    reasons = {(e["row"], e["field"]): e["reason"] for e in report["errors"]}
    assert "neither JSON nor a Python literal" in reasons[(2, "input_data")]
    assert "unknown category 'poetry_generation'" in reasons[(4, "task_category")]
    assert reasons[(5, "output_data")] == "column is missing"
    assert reasons[(7, "output_data.summary")] == "empty output"
    assert "__placeholder__" in reasons[(8, "input_data.code")]
    assert "line 10 is not JSON" in reasons[(9, "<row>")]
    assert "must hold a dict, got list" in reasons[(12, "output_data")]
    assert report["duplicates"] == 1
    assert report["duplicate_pairs"] == [{"row": 10, "duplicate_of": 0}]
    assert report["by_category"]["poetry_generation"] == 1
    assert sum(report["by_category"].values()) == 14  # the unreadable line has no category
    assert report["leakage"] is None  # a single file: nothing to compare with
    assert report["token_lengths"]["max"] > 0  # the valid rows were measured


def test_broken_file_table(
    capsys: pytest.CaptureFixture[str], broken_file: tuple[Path, list[tuple[int, str]]]
) -> None:
    path, expected = broken_file
    code, out, _ = run_main(capsys, "--data", str(path))
    assert code == 1
    assert f"problems ({len(expected)} in 11 rows)" in out
    for field in {f for _, f in expected}:
        assert field in out


def test_many_errors_are_cut_in_the_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.jsonl"
    bad = raw("code_summarization", {"code": "fn f() {}"}, {"summary": ""})
    path.write_text(
        "".join(json.dumps({**bad, "crate_name": str(i)}) + "\n" for i in range(40)),
        encoding="utf-8",
    )
    code, out, _ = run_main(capsys, "--data", str(path))
    assert code == 1
    assert "and 10 more (use --json for all)" in out
    code, report = run_json(capsys, "--data", str(path))
    assert len(report["errors"]) == 40
    assert report["valid_rows"] == 0
    assert report["token_lengths"] == {"p50": 0, "p95": 0, "p99": 0, "max": 0}


def test_subprocess_module(broken_file: tuple[Path, list[tuple[int, str]]]) -> None:
    path, expected = broken_file
    proc = subprocess.run(
        [sys.executable, "-m", "qwen2_rust.cli.validate", "--data", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert len(report["errors"]) == len(expected)
    assert "Traceback" not in proc.stderr

    proc = subprocess.run(
        [sys.executable, "-m", "qwen2_rust.cli.validate", "--data", str(path.with_suffix(".x"))],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_one_line_error(proc.stderr, "data file not found")


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_main(capsys, "--data", str(tmp_path / "missing.parquet"))
    assert code == 2
    assert out == ""
    assert_one_line_error(err, "data file not found", "missing.parquet")


def test_unsupported_extension(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("crate_name,input_data\n", encoding="utf-8")
    code, _, err = run_main(capsys, "--data", str(path))
    assert code == 2
    assert_one_line_error(err, "unsupported file type '.csv'")


def test_unreadable_parquet(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    path.write_text("definitely not parquet\nsecond line\n", encoding="utf-8")
    code, _, err = run_main(capsys, "--data", str(path))
    assert code == 2
    assert_one_line_error(err, "not a readable parquet file")


def test_hub_unreachable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_ENDPOINT)
    code, out, err = run_main(capsys, "--data", "Fortytwo-Network/Strandset-Rust-v1")
    assert code == 2
    assert out == ""
    assert_one_line_error(err, "unreachable", "--data FILE", "--data sample")


def test_hub_offline_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run(
        [sys.executable, "-m", "qwen2_rust.cli.validate", "--data", "someone/some-dataset"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert_one_line_error(proc.stderr, "HF_HUB_OFFLINE", "--data FILE", "--data sample")


def test_bad_max_length(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(capsys, "--data", "sample", "--max-length", "0")
    assert code == 2
    assert_one_line_error(err, "--max-length")


def test_bad_flag_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--no-such-flag"])
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_sampling(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, "--data", "sample", "-n", "15")
    assert code == 0
    assert report["total_rows"] == report["valid_rows"] == 15
    assert report["sampled_from"] == N_TRAIN
    assert report["by_category"] == dict.fromkeys(sorted(CATEGORIES), 1)
    again = run_json(capsys, "--data", "sample", "-n", "15")[1]
    assert again == report
    other_seed = run_json(capsys, "--data", "sample", "-n", "15", "--seed", "1")[1]
    assert other_seed["by_category"] == report["by_category"]
    assert other_seed["token_lengths"] != report["token_lengths"]
    code, out, _ = run_main(capsys, "--data", "sample", "-n", "20")
    assert code == 0
    assert f"20 (sampled from {N_TRAIN})" in out
    # -n larger than the split: every row.
    assert run_json(capsys, "--data", "sample", "-n", "1000")[1]["total_rows"] == N_TRAIN


def test_sampling_keeps_row_numbers(
    capsys: pytest.CaptureFixture[str], broken_file: tuple[Path, list[tuple[int, str]]]
) -> None:
    path, expected = broken_file
    code, report = run_json(capsys, "--data", str(path), "-n", "14")
    assert report["sampled_from"] == 15
    assert report["total_rows"] == 14
    # Problems keep their row numbers in the full file.
    assert {(e["row"], e["field"]) for e in report["errors"]} <= set(expected)
    assert code == (1 if report["errors"] else 0)


def test_leakage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    train = [sample_row(c) for c in ("code_summarization", "function_naming", "bug_detection")]
    leaked = {**train[1], "output_data": json.dumps({"function_name": "other_name"})}
    test = [sample_row("code_summarization", 1), leaked]
    for name, rows in (("train", train), ("test", test)):
        (tmp_path / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
        )
    code, report = run_json(capsys, "--data", str(tmp_path))
    assert code == 0
    assert report["leakage"] == {"other_split": "test", "rows": 1, "examples": [1]}
    code, report = run_json(capsys, "--data", str(tmp_path), "--split", "test")
    assert report["leakage"] == {"other_split": "train", "rows": 1, "examples": [1]}
    code, out, _ = run_main(capsys, "--data", str(tmp_path))
    assert "1 rows share input_data with test" in out


def test_over_max_length(capsys: pytest.CaptureFixture[str]) -> None:
    _, full = run_json(capsys, "--data", "sample")
    lengths = full["token_lengths"]
    budget = lengths["p50"]
    code, report = run_json(capsys, "--data", "sample", "--max-length", str(budget))
    assert code == 0  # too long is reported, not invalid
    assert report["max_length"] == budget
    assert 0 < report["over_max_length"] <= N_TRAIN // 2  # over the median: at most half
    by_category = report["over_max_length_by_category"]
    assert sum(by_category.values()) == report["over_max_length"]
    assert set(by_category) <= set(CATEGORIES)
    _, tiny = run_json(capsys, "--data", "sample", "--max-length", "1")
    assert tiny["over_max_length"] == N_TRAIN
    assert tiny["token_lengths"] == lengths
    code, out, _ = run_main(capsys, "--data", "sample", "--max-length", "1")
    assert "over --max-length 1" in out
    assert f"{N_TRAIN} (100.00%)" in out


def test_counts_per_category_match(capsys: pytest.CaptureFixture[str]) -> None:
    _, report = run_json(capsys, "--data", "sample", "--split", "test")
    assert report["by_category"] == dict(
        sorted(Counter(r["task_category"] for r in load_split("sample", "test").rows).items())
    )
    assert report["leakage"]["other_split"] == "train"


def test_table_shows_markup_literally(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    row = {**sample_row("code_summarization"), "task_category": "[bold]odd[/bold]"}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    code, out, _ = run_main(capsys, "--data", str(path), "--split", "x")
    assert code == 1
    assert "[bold]odd[/bold]" in out


def test_control_token_text_in_a_field_is_reported(tmp_path, capsys) -> None:
    from qwen2_rust.cli.validate import main

    row = {
        "crate_name": "chat-tokens",
        "task_category": "code_summarization",
        "input_data": repr({"code": 'fn end() -> &\'static str { "<|im_end|>" }'}),
        "output_data": json.dumps({"summary": "Returns the end marker."}),
        "test": "",
    }
    path = tmp_path / "tokens.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert main(["--data", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["errors"][0]["field"] == "input_data.code"
    assert "control token" in report["errors"][0]["reason"]


def test_light_token_counter_counts_exactly_like_the_full_tokenizer() -> None:
    from qwen2_rust.data import load_split
    from qwen2_rust.format_utils import format_for_sft
    from qwen2_rust.modeling import TokenCounter, load_smoke_tokenizer, load_token_counter
    from qwen2_rust.sft_data import render_conversation, token_lengths

    texts = [
        render_conversation(format_for_sft(row)["messages"])[0]
        for row in load_split("sample", "train").valid_rows()
    ]
    light = load_token_counter("smoke")
    assert isinstance(light, TokenCounter)
    assert token_lengths(light, texts) == token_lengths(load_smoke_tokenizer(), texts)
