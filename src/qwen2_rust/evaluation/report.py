"""Aggregate row scores: per category and overall means with 95 % bootstrap intervals,
paired comparisons between models, and ``report.json`` / ``report.md`` / PNG charts.

Intervals are percentile bootstrap intervals over rows (2,000 resamples, seeded, so a
report is reproducible). A paired comparison resamples the rows both models answered
(matched by `scoring.row_key`) and reports the mean difference (B - A) with its interval.
With 15 rows per category (Strandset's test split) intervals are wide; every interval
wider than `WIDE_CI` or built from fewer than `SMALL_N` rows is flagged in the report.

Dependency coverage (per category and overall): the share of compiled rows whose code-named
crates all resolved in the crate environment (a row's own ``crate_name`` counts when the code
names it); the report also records the crate mode,
source, and the version of every crate built.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qwen2_rust.evaluation.scoring import RowScore
from qwen2_rust.tasks import CATEGORIES, TASKS

N_BOOT = 2000
SEED = 20240601
SMALL_N = 30
WIDE_CI = 0.30  # width of a 95 % interval (metrics live in [0, 1]) that counts as wide


def is_rough(n: int, ci_low: float, ci_high: float) -> bool:
    """The report's one rule for a figure to treat as rough: few rows or a wide interval."""
    return n < SMALL_N or (ci_high - ci_low) > WIDE_CI


# The headline metric of each answer kind (charts, comparison headlines).
PRIMARY_METRIC = {
    "code": "compiles",
    "completion": "compiles",
    "tests": "pass@1",
    "text": "chrf",
    "name": "normalised_match",
}
METRIC_ORDER = (
    "compiles",
    "compiles_or_missing_crate",
    "pass@1",
    "chrf",
    "exact_match",
    "normalised_match",
    "edit_similarity",
)


def bootstrap_ci(
    values: Sequence[float], n_boot: int = N_BOOT, alpha: float = 0.05, seed: int = SEED
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; (nan, nan) for no values."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (math.nan, math.nan)
    if data.size == 1 or np.all(data == data[0]):
        return (float(data[0]), float(data[0]))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, data.size, size=(n_boot, data.size))
    means = data[idx].mean(axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return (float(lo), float(hi))


@dataclass
class MetricSummary:
    n: int
    mean: float
    ci_low: float
    ci_high: float

    @property
    def wide(self) -> bool:
        return is_rough(self.n, self.ci_low, self.ci_high)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "mean": _num(self.mean),
            "ci95": [_num(self.ci_low), _num(self.ci_high)],
            "small_sample": self.wide,
        }


def summarise_metric(values: Sequence[float], seed: int = SEED) -> MetricSummary:
    lo, hi = bootstrap_ci(values, seed=seed)
    mean = float(np.mean(values)) if len(values) else math.nan
    return MetricSummary(len(values), mean, lo, hi)


@dataclass
class GroupSummary:
    n: int
    statuses: dict[str, int]
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    error_codes: dict[str, int] = field(default_factory=dict)
    dependency_rows: int = 0  # compiled rows (with inferred dependencies)
    dependency_resolved: int = 0  # ... whose dependencies all resolved

    @property
    def dependency_coverage(self) -> float | None:
        return self.dependency_resolved / self.dependency_rows if self.dependency_rows else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n": self.n,
            "statuses": self.statuses,
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "error_codes": self.error_codes,
        }
        if self.dependency_rows:
            out["dependency_coverage"] = {
                "rows": self.dependency_rows,
                "resolved": self.dependency_resolved,
                "share": _num(self.dependency_resolved / self.dependency_rows),
            }
        return out


def summarise(rows: Sequence[RowScore]) -> GroupSummary:
    statuses = Counter(r.status for r in rows)
    codes = Counter(c for r in rows for c in r.error_codes)
    values: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        for name, value in r.metrics.items():
            values[name].append(value)
    metrics = {
        name: summarise_metric(values[name])
        for name in sorted(values, key=lambda m: (_metric_rank(m), m))
    }
    with_deps = [r for r in rows if r.dependencies is not None]
    return GroupSummary(
        len(rows),
        dict(statuses),
        metrics,
        dict(codes.most_common()),
        dependency_rows=len(with_deps),
        dependency_resolved=sum(bool(r.dependencies_resolved) for r in with_deps),
    )


def _metric_rank(name: str) -> int:
    return METRIC_ORDER.index(name) if name in METRIC_ORDER else len(METRIC_ORDER)


def _category_order(categories: set[str]) -> list[str]:
    known = [c for c in CATEGORIES if c in categories]
    return known + sorted(categories - set(known))


@dataclass
class ModelReport:
    label: str
    source: str
    rows: list[RowScore]

    def by_category(self) -> dict[str, GroupSummary]:
        groups: dict[str, list[RowScore]] = defaultdict(list)
        for r in self.rows:
            groups[r.category].append(r)
        return {c: summarise(groups[c]) for c in _category_order(set(groups))}

    def overall(self) -> GroupSummary:
        return summarise(self.rows)


@dataclass
class Comparison:
    category: str
    metric: str
    n_pairs: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float

    @property
    def wide(self) -> bool:
        return is_rough(self.n_pairs, self.ci_low, self.ci_high)

    @property
    def significant(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "metric": self.metric,
            "n_pairs": self.n_pairs,
            "mean_a": _num(self.mean_a),
            "mean_b": _num(self.mean_b),
            "diff": _num(self.diff),
            "ci95": [_num(self.ci_low), _num(self.ci_high)],
            "significant": self.significant,
            "small_sample": self.wide,
        }


def paired_comparison(a: ModelReport, b: ModelReport, seed: int = SEED) -> list[Comparison]:
    """B - A per category and metric, over rows both models scored (matched by key)."""
    index_a = {(r.key, r.category): r for r in a.rows}
    pairs: dict[str, list[tuple[RowScore, RowScore]]] = defaultdict(list)
    for rb in b.rows:
        ra = index_a.get((rb.key, rb.category))
        if ra is not None:
            pairs[rb.category].append((ra, rb))
    out: list[Comparison] = []
    all_pairs = [p for c in pairs for p in pairs[c]]
    groups = [(c, pairs[c]) for c in _category_order(set(pairs))] + [("overall", all_pairs)]
    for category, plist in groups:
        metrics = sorted(
            {m for ra, rb in plist for m in ra.metrics if m in rb.metrics},
            key=lambda m: (_metric_rank(m), m),
        )
        for metric in metrics:
            both = [
                (ra.metrics[metric], rb.metrics[metric])
                for ra, rb in plist
                if metric in ra.metrics and metric in rb.metrics
            ]
            va = np.array([x for x, _ in both])
            vb = np.array([y for _, y in both])
            lo, hi = bootstrap_ci(vb - va, seed=seed)
            out.append(
                Comparison(
                    category,
                    metric,
                    len(both),
                    float(va.mean()),
                    float(vb.mean()),
                    float((vb - va).mean()),
                    lo,
                    hi,
                )
            )
    return out


def _num(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, 4)


# --------------------------------------------------------------------------- writing


@dataclass
class EvaluationReport:
    models: list[ModelReport]
    environment: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    crates: dict[str, Any] = field(default_factory=dict)  # `CrateEnvironment.summary()`

    def comparisons(self) -> list[tuple[str, str, list[Comparison]]]:
        if len(self.models) < 2:
            return []
        base = self.models[0]
        return [(base.label, m.label, paired_comparison(base, m)) for m in self.models[1:]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "warnings": self.warnings,
            "crates": self.crates,
            "notes": {
                "ci": f"95% percentile bootstrap, {N_BOOT} resamples, seed {SEED}",
                "small_sample": f"flagged where n < {SMALL_N} or the interval is wider "
                f"than {WIDE_CI}",
                "primary_metric": PRIMARY_METRIC,
            },
            "models": [
                {
                    "label": m.label,
                    "source": m.source,
                    "overall": m.overall().to_dict(),
                    "categories": {c: g.to_dict() for c, g in m.by_category().items()},
                    "rows": [r.to_dict() for r in m.rows],
                }
                for m in self.models
            ],
            "comparisons": [
                {"a": a, "b": b, "results": [c.to_dict() for c in comps]}
                for a, b, comps in self.comparisons()
            ],
        }

    def write(self, out_dir: str | Path, charts: bool = True) -> dict[str, Path]:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / "report.json", "md": out / "report.md"}
        paths["json"].write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        paths["md"].write_text(self.to_markdown(), encoding="utf-8")
        if charts:
            paths.update(write_charts(self, out))
        return paths

    def to_markdown(self) -> str:
        lines = ["# Evaluation report", ""]
        env = self.environment
        if env:
            lines += [f"- {k}: {v}" for k, v in env.items()]
            lines.append("")
        for w in self.warnings:
            lines.append(f"> **Warning:** {w}")
        if self.warnings:
            lines.append("")
        lines += [
            f"Intervals: 95% bootstrap ({N_BOOT} resamples). Values marked † come from fewer "
            f"than {SMALL_N} rows or have an interval wider than {WIDE_CI}: treat them as "
            "rough (Strandset's test split has only 15 rows per category).",
            "",
        ]
        lines += _crates_markdown(self.crates)
        for m in self.models:
            lines += _model_markdown(m)
        for a, b, comps in self.comparisons():
            lines += [f"## Paired comparison: {b} - {a}", ""]
            lines += ["| category | metric | pairs | A | B | B - A | 95% CI | |", "|---" * 8 + "|"]
            for c in comps:
                flag = ("**significant**" if c.significant else "") + (" †" if c.wide else "")
                lines.append(
                    f"| {c.category} | {c.metric} | {c.n_pairs} | {_fmt(c.mean_a)} | "
                    f"{_fmt(c.mean_b)} | {c.diff:+.3f} | [{c.ci_low:+.3f}, {c.ci_high:+.3f}] "
                    f"| {flag.strip()} |"
                )
            lines.append("")
        return "\n".join(lines) + "\n"


def _fmt(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _cell(s: MetricSummary | None) -> str:
    if s is None:
        return ""
    dagger = " †" if s.wide else ""
    return f"{s.mean:.3f} [{s.ci_low:.2f}, {s.ci_high:.2f}]{dagger}"


def _crates_markdown(crates: Mapping[str, Any]) -> list[str]:
    if not crates:
        return []
    mode = crates.get("mode", "off")
    if mode == "off":
        return ["Crates: off (no crate environment; external crates count as missing).", ""]
    versions = crates.get("versions") or {}
    lines = [f"## Crates ({mode}, {crates.get('source', '')})", ""]
    built = ", ".join(f"`{k}` {v}" for k, v in versions.items()) or "none"
    lines.append(f"Built: {built}.")
    failed = crates.get("failed") or {}
    if failed:
        lines.append(
            "Unresolved: " + "; ".join(f"`{k}` ({v})" for k, v in list(failed.items())[:20]) + "."
        )
    lines.append("")
    return lines


def _coverage(g: GroupSummary) -> str:
    if not g.dependency_rows:
        return ""
    return f"{g.dependency_resolved}/{g.dependency_rows}"


def _model_markdown(m: ModelReport) -> list[str]:
    cats = m.by_category()
    overall = m.overall()
    metrics = [k for k in METRIC_ORDER if any(k in g.metrics for g in cats.values())]
    deps = overall.dependency_rows > 0
    dep_head = " deps resolved |" if deps else ""
    lines = [f"## {m.label}", "", f"Source: `{m.source}` — {overall.n} rows", ""]
    lines.append("| category | n | statuses |" + dep_head + " " + " | ".join(metrics) + " |")
    lines.append("|---" * (3 + deps + len(metrics)) + "|")
    for cat, g in [*cats.items(), ("**overall**", overall)]:
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(g.statuses.items()))
        cells = " | ".join(_cell(g.metrics.get(k)) for k in metrics)
        dep_cell = f" {_coverage(g)} |" if deps else ""
        lines.append(f"| {cat} | {g.n} | {statuses} |{dep_cell} {cells} |")
    lines.append("")
    top_codes = overall.error_codes
    if top_codes:
        codes = ", ".join(f"{k} x{v}" for k, v in list(top_codes.items())[:10])
        lines += [f"Most frequent rustc error codes: {codes}", ""]
    return lines


def write_charts(report: EvaluationReport, out: Path) -> dict[str, Path]:
    """Per-category bars of each category's primary metric with 95 % CI whiskers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths: dict[str, Path] = {}
    cats = _category_order({r.category for m in report.models for r in m.rows})
    if not cats:
        return paths
    summaries = [m.by_category() for m in report.models]
    width = 0.8 / max(1, len(report.models))
    fig, ax = plt.subplots(figsize=(max(8, 0.7 * len(cats) + 3), 5))
    x = np.arange(len(cats))
    for k, (m, summ) in enumerate(zip(report.models, summaries, strict=True)):
        means, lows, highs = [], [], []
        for c in cats:
            metric = PRIMARY_METRIC.get(TASKS[c].answer_kind if c in TASKS else "", "")
            s = summ.get(c).metrics.get(metric) if c in summ else None
            mean = s.mean if s else 0.0
            means.append(mean)
            lows.append(mean - s.ci_low if s else 0.0)
            highs.append(s.ci_high - mean if s else 0.0)
        ax.bar(x + k * width, means, width, yerr=[lows, highs], capsize=3, label=m.label)
    ax.set_xticks(x + width * (len(report.models) - 1) / 2)
    ax.set_xticklabels(
        [
            f"{c}\n({PRIMARY_METRIC.get(TASKS[c].answer_kind, '')})" if c in TASKS else c
            for c in cats
        ],
        rotation=60,
        ha="right",
        fontsize=7,
    )
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("primary metric (95% bootstrap CI)")
    ax.set_title("Per-category primary metric")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths["chart_categories"] = out / "categories.png"
    fig.savefig(paths["chart_categories"], dpi=110)
    plt.close(fig)

    for a, b, comps in report.comparisons():
        heads = [
            c
            for c in comps
            if c.category != "overall"
            and c.metric == PRIMARY_METRIC.get(TASKS[c.category].answer_kind, "")
        ]
        if not heads:
            continue
        fig, ax = plt.subplots(figsize=(8, max(3, 0.35 * len(heads) + 1.5)))
        y = np.arange(len(heads))
        diffs = [c.diff for c in heads]
        err = [[c.diff - c.ci_low for c in heads], [c.ci_high - c.diff for c in heads]]
        ax.errorbar(diffs, y, xerr=err, fmt="o", capsize=3)
        ax.axvline(0, color="grey", lw=1)
        ax.set_yticks(y)
        ax.set_yticklabels([f"{c.category} ({c.metric})" for c in heads], fontsize=7)
        ax.set_xlabel(f"{b} - {a} (95% paired bootstrap CI)")
        fig.tight_layout()
        name = f"comparison_{_slug(a)}_vs_{_slug(b)}.png"
        paths[f"chart_{name}"] = out / name
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
    return paths


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)[:40]


def build_report(
    models: Sequence[tuple[str, str, list[RowScore]]],
    environment: Mapping[str, Any] | None = None,
    warnings: Sequence[str] = (),
    crates: Mapping[str, Any] | None = None,
) -> EvaluationReport:
    return EvaluationReport(
        models=[ModelReport(label, source, rows) for label, source, rows in models],
        environment=dict(environment or {}),
        warnings=list(warnings),
        crates=dict(crates or {}),
    )
