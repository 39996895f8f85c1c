"""Aggregation, bootstrap intervals, paired comparison and the written report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qwen2_rust.evaluation import report as rp
from qwen2_rust.evaluation.scoring import RowScore


def _row(i: int, category: str, status: str, **metrics: float) -> RowScore:
    kind = {"code_generation": "code", "code_summarization": "text"}.get(category, "name")
    return RowScore(
        key=f"k{i}",
        index=i,
        category=category,
        answer_kind=kind,
        crate_name="c",
        status=status,
        metrics=dict(metrics),
        error_codes=["E0308"] if status == "fails" else [],
    )


def test_bootstrap_ci_degenerate_and_empty() -> None:
    assert rp.bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0)
    assert rp.bootstrap_ci([0.25]) == (0.25, 0.25)
    lo, hi = rp.bootstrap_ci([])
    assert np.isnan(lo) and np.isnan(hi)


def test_bootstrap_ci_matches_normal_approximation_for_large_n() -> None:
    values = [1.0] * 500 + [0.0] * 500
    lo, hi = rp.bootstrap_ci(values)
    half = 1.96 * np.sqrt(0.25 / 1000)  # ~0.031
    assert lo == pytest.approx(0.5 - half, abs=0.006)
    assert hi == pytest.approx(0.5 + half, abs=0.006)


def test_bootstrap_ci_is_seeded_and_brackets_the_mean() -> None:
    values = [0.1, 0.9, 0.4, 0.7, 0.3, 0.8, 0.2]
    assert rp.bootstrap_ci(values) == rp.bootstrap_ci(values)
    lo, hi = rp.bootstrap_ci(values)
    assert lo < float(np.mean(values)) < hi
    assert rp.bootstrap_ci(values, seed=1) != rp.bootstrap_ci(values, seed=2)


def test_small_samples_are_flagged() -> None:
    assert rp.summarise_metric([1.0, 0.0] * 7 + [1.0]).wide  # n = 15
    assert not rp.summarise_metric([1.0] * 100).wide


def _models() -> tuple[rp.ModelReport, rp.ModelReport]:
    base_rows, ft_rows = [], []
    for i in range(15):
        base_rows.append(_row(i, "code_generation", "fails", compiles=0.0))
        ok = i < 12
        ft_rows.append(
            _row(i, "code_generation", "compiles" if ok else "fails", compiles=float(ok))
        )
    for i in range(15, 30):
        base_rows.append(_row(i, "code_summarization", "scored", chrf=0.5))
        ft_rows.append(_row(i, "code_summarization", "scored", chrf=0.5))
    return rp.ModelReport("base", "a.jsonl", base_rows), rp.ModelReport("ft", "b.jsonl", ft_rows)


def test_summaries_per_category() -> None:
    _base, ft = _models()
    cats = ft.by_category()
    assert list(cats) == ["code_generation", "code_summarization"]
    g = cats["code_generation"]
    assert g.n == 15 and g.statuses == {"compiles": 12, "fails": 3}
    assert g.metrics["compiles"].mean == pytest.approx(0.8)
    assert g.error_codes == {"E0308": 3}
    assert ft.overall().n == 30


def test_paired_comparison_difference_and_interval() -> None:
    base, ft = _models()
    comps = {(c.category, c.metric): c for c in rp.paired_comparison(base, ft)}
    gen = comps[("code_generation", "compiles")]
    assert gen.n_pairs == 15
    assert gen.diff == pytest.approx(0.8)
    assert gen.ci_low > 0 and gen.significant
    same = comps[("code_summarization", "chrf")]
    assert same.diff == 0.0 and not same.significant
    assert ("overall", "compiles") in comps


def test_paired_comparison_only_uses_rows_both_models_have() -> None:
    base, ft = _models()
    ft.rows = ft.rows[:5]
    comps = {(c.category, c.metric): c for c in rp.paired_comparison(base, ft)}
    assert comps[("code_generation", "compiles")].n_pairs == 5


def test_report_files(tmp_path) -> None:
    base, ft = _models()
    report = rp.EvaluationReport([base, ft], {"sandbox": "test"}, ["a warning"])
    paths = report.write(tmp_path)
    data = json.loads(paths["json"].read_text())
    assert [m["label"] for m in data["models"]] == ["base", "ft"]
    cat = data["models"][1]["categories"]["code_generation"]
    assert cat["metrics"]["compiles"]["mean"] == pytest.approx(0.8)
    assert len(cat["metrics"]["compiles"]["ci95"]) == 2
    assert cat["metrics"]["compiles"]["small_sample"] is True
    assert data["models"][0]["rows"][0]["error_codes"] == ["E0308"]
    assert data["comparisons"][0]["a"] == "base"
    md = paths["md"].read_text()
    assert "## base" in md and "## ft" in md and "Paired comparison: ft - base" in md
    assert "†" in md and "a warning" in md
    assert (tmp_path / "categories.png").stat().st_size > 1000
    assert (tmp_path / "comparison_base_vs_ft.png").is_file()
