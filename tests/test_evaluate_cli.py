"""`qwen2-evaluate score`: reference scoring of the bundled sample, two-file comparison,
the no-rustc path, usage errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import crate_env
import pytest

from qwen2_rust.cli.evaluate import build_parser, main
from qwen2_rust.evaluation import rust_check as rc
from qwen2_rust.evaluation.scoring import Scorer, read_jsonl
from qwen2_rust.format_utils import build_answer, parse_json_field
from qwen2_rust.tasks import CATEGORIES, get_task

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "qwen2_rust" / "resources" / "sample"
needs_rustc = pytest.mark.skipif(shutil.which("rustc") is None, reason="rustc not installed")


@pytest.fixture(autouse=True)
def _test_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Crate environments (auto mode finds Debian's registry) go to the tests' cache."""
    monkeypatch.setenv("QWEN2_RUST_CACHE", str(crate_env.cache_dir().parent))


def _sample_rows(split: str = "test") -> list[dict]:
    return read_jsonl(SAMPLE / f"{split}.jsonl")


def _reference_answer(row: dict) -> str:
    spec = get_task(row["task_category"])
    return build_answer(spec, parse_json_field(row["output_data"], "output_data"))


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _generations(rows: list[dict], label: str, good: bool) -> list[dict]:
    out = []
    for row in rows:
        prediction = _reference_answer(row) if good else "I am not sure."
        out.append({**row, "prediction": prediction, "model": label})
    return out


def test_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "generate" in out and "score" in out and "run" in out


def test_help_documents_crate_modes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["score", "--help"])
    out = capsys.readouterr().out
    assert "--crates {off,online,offline}" in out and "--crate-source DIR" in out


def test_bad_crate_source_is_one_line_exit_2(tmp_path: Path, capsys) -> None:
    gens = _write(tmp_path / "g.jsonl", _generations(_sample_rows()[:2], "m", good=True))
    args = ["score", str(gens), "--out-dir", str(tmp_path / "o"), "--crates", "offline"]
    assert main([*args, "--crate-source", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a directory" in err[0]
    assert main([*args[:-2], "--crates", "off", "--crate-source", str(tmp_path)]) == 2


def test_missing_file_is_one_line_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["score", str(tmp_path / "nope.jsonl"), "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such file" in err[0]


def test_score_without_files_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["score", "--out-dir", str(tmp_path)]) == 2


def test_bad_json_line_names_file_and_line(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{oops\n')
    assert main(["score", str(bad), "--out-dir", str(tmp_path)]) == 2
    assert "bad.jsonl:2" in capsys.readouterr().err


@needs_rustc
@pytest.mark.slow
@pytest.mark.parametrize("split", ["test", "train"])
def test_reference_answers_of_the_bundled_sample_all_compile_or_pass(split: str) -> None:
    rows = _sample_rows(split)
    assert {r["task_category"] for r in rows} == set(CATEGORIES)
    if crate_env.skip_reason() is None:
        scorer = Scorer(rc.RustChecker(crates=crate_env.environment()))
    else:  # rows that use real crates need the crate environment (tests/test_crates.py)
        scorer = Scorer()
        probe = Scorer(use_rustc=False, warn=False)
        rows = [
            r
            for r in rows
            if not set(probe.dependencies_of(r, reference=True) or ()) & set(crate_env.CI_CRATES)
        ]
    scores = scorer.score_rows(rows, jobs=2, reference=True)
    bad = [(s.category, s.status, s.messages[:2]) for s in scores]
    bad = [b for b in bad if b[1] not in ("compiles", "tests_pass", "scored")]
    assert bad == []
    for s in scores:
        if s.answer_kind in ("code", "completion"):
            assert s.metrics["compiles"] == 1.0
        if s.answer_kind == "tests" or "pass@1" in s.metrics:
            assert s.metrics["pass@1"] == 1.0
        if s.answer_kind == "text":
            assert s.metrics["chrf"] == pytest.approx(1.0)
        if s.answer_kind == "name":
            assert s.metrics["exact_match"] == 1.0


@needs_rustc
@pytest.mark.slow
def test_cli_reference_mode_writes_the_report(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "score",
            "--reference",
            "--data",
            "sample",
            "--split",
            "test",
            "--out-dir",
            str(tmp_path),
            "--jobs",
            "2",
        ]
    )
    assert code == 0
    data = json.loads((tmp_path / "report.json").read_text())
    model = data["models"][0]
    assert model["label"] == "reference"
    assert set(model["categories"]) == set(CATEGORIES)
    assert set(model["overall"]["statuses"]) <= {"compiles", "tests_pass", "scored"}
    assert (
        "unshare" in data["environment"]["sandbox"]
        or "bwrap" in data["environment"]["sandbox"]
        or "no network" in data["environment"]["sandbox"]
    )
    assert "reference:" in capsys.readouterr().out


@needs_rustc
@pytest.mark.slow
def test_two_files_get_a_paired_comparison(tmp_path: Path) -> None:
    rows = [
        r
        for r in _sample_rows()
        if r["task_category"] in ("code_generation", "function_naming", "code_summarization")
    ]
    base = _write(tmp_path / "base.jsonl", _generations(rows, "base", good=False))
    tuned = _write(tmp_path / "ft.jsonl", _generations(rows, "tuned", good=True))
    out = tmp_path / "report"
    assert main(["score", str(base), str(tuned), "--out-dir", str(out), "--jobs", "2"]) == 0
    data = json.loads((out / "report.json").read_text())
    assert [m["label"] for m in data["models"]] == ["base", "tuned"]
    comp = {(c["category"], c["metric"]): c for c in data["comparisons"][0]["results"]}
    assert comp[("code_generation", "compiles")]["diff"] == pytest.approx(1.0)
    assert comp[("function_naming", "exact_match")]["diff"] == pytest.approx(1.0)
    assert comp[("code_summarization", "chrf")]["diff"] > 0
    base_gen = data["models"][0]["categories"]["code_generation"]["statuses"]
    assert base_gen == {
        "fragment": len([r for r in rows if r["task_category"] == "code_generation"])
    }
    assert (out / "comparison_base_vs_tuned.png").is_file()
    assert "Paired comparison: tuned - base" in (out / "report.md").read_text()


def test_no_rustc_marks_compile_metrics_unavailable(tmp_path: Path) -> None:
    rows = _sample_rows()
    gens = _write(tmp_path / "g.jsonl", _generations(rows, "m", good=True))
    out = tmp_path / "r"
    code = main(
        ["score", str(gens), "--out-dir", str(out), "--rustc", "/no/such/rustc", "--no-charts"]
    )
    assert code == 0
    data = json.loads((out / "report.json").read_text())
    assert any("rustc not available" in w for w in data["warnings"])
    cats = data["models"][0]["categories"]
    assert cats["code_generation"]["statuses"] == {"unavailable": 2}
    assert "compiles" not in cats["code_generation"]["metrics"]
    assert cats["code_summarization"]["metrics"]["chrf"]["mean"] == pytest.approx(1.0)
    assert cats["code_completion"]["metrics"]["exact_match"]["mean"] == 1.0


def test_garbage_prediction_rows_do_not_stop_scoring(tmp_path: Path) -> None:
    rows = [
        {"task_category": "nope", "input_data": "{}", "output_data": "{}", "prediction": "x"},
        {
            "task_category": "code_summarization",
            "input_data": "not a dict",
            "output_data": "{}",
            "prediction": "x",
        },
    ]
    scores = Scorer(use_rustc=False).score_rows(rows, jobs=1)
    assert [s.status for s in scores] == ["invalid", "invalid"]


@needs_rustc
def test_empty_answers_never_count_as_compiling() -> None:
    # Around a prefix and suffix an empty completion can compile; it is still no answer.
    rows = [
        r
        for r in _sample_rows()
        if r["task_category"] in ("code_completion", "test_generation", "code_generation")
    ]
    scorer = Scorer()
    for index, row in enumerate(rows):
        score = scorer.score_row({**row, "prediction": "\n\n"}, index)
        assert score.status == "fragment", row["task_category"]
        assert score.metrics["compiles"] == 0.0
