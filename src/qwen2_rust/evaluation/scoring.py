"""Score generations (or the dataset's own answers) row by row, by answer kind, in parallel.

Per row (see `qwen2_rust.tasks` for each category's ``answer_kind``):

- ``code``: the first ```rust block of the reply is placed and compiled with the row's
  ``code_context`` (`rust_check`); metrics ``compiles`` and ``compiles_or_missing_crate``;
  a row with a ``test`` field is also built with its tests and run (``pass@1``); a
  labelled text field that follows the code (review comment, rationale, bug description)
  is scored with chrF;
- ``completion``: prefix + completion + suffix compiled; the completion text also gets
  exact / normalised match and edit similarity;
- ``tests``: the predicted ``test_cases`` are built against ``code_to_test`` + context and
  run (``pass@1``);
- ``text``: chrF; ``name``: exact / normalised match, edit similarity.

Each compiled row records its inferred dependencies (`crates.infer_dependencies`: its
``crate_name`` plus the external roots of its code) with the version the crate environment
resolved for each (None: unresolved); with a `crates.CrateEnvironment` the checker builds
them once up front and compiles against them (``--extern``).

Rust checks run in subprocesses, so a thread pool gives real parallelism (``jobs``).
Without rustc the compile/test metrics are marked unavailable (one warning) and the text
metrics are still computed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qwen2_rust.errors import StrandsetFormatError, UserFacingError
from qwen2_rust.evaluation import crates as cr
from qwen2_rust.evaluation import rust_check as rc
from qwen2_rust.evaluation import text_metrics as tm
from qwen2_rust.format_utils import (
    build_answer,
    is_absent,
    parse_answer,
    parse_json_field,
)
from qwen2_rust.log import get_logger, make_progress
from qwen2_rust.tasks import TASKS, get_task

log = get_logger(__name__)

UNAVAILABLE = "unavailable"  # compile/test check impossible (no rustc)
SCORED = "scored"  # a text / name row (no compile status)
INVALID = "invalid"  # the row itself could not be parsed
ERROR = "error"  # the checker raised (a bug); the row is kept with the message

ROW_FIELDS = ("crate_name", "task_category", "input_data", "output_data", "test")


@dataclass
class RowScore:
    key: str
    index: int
    category: str
    answer_kind: str
    crate_name: str
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    error_codes: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    shape: str | None = None
    tests_passed: int | None = None
    tests_failed: int | None = None
    test_status: str | None = None  # for code rows with a `test` field
    # compiled rows: inferred crate -> resolved version (None: unresolved); None otherwise
    dependencies: dict[str, str | None] | None = None
    # the inferred crates the code actually names (the row's crate_name only if referenced)
    required_dependencies: list[str] | None = None

    @property
    def dependencies_resolved(self) -> bool | None:
        """Whether every crate the code names resolved (coverage counts these rows)."""
        if self.dependencies is None:
            return None
        required = self.required_dependencies
        if required is None:
            required = list(self.dependencies)
        return all(self.dependencies.get(d) is not None for d in required)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def row_key(row: Mapping[str, Any]) -> str:
    """A stable identity of a dataset row (pairs base and fine-tuned generations)."""
    parts = [str(row.get(k) or "") for k in ("crate_name", "task_category", "input_data")]
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def _opt(mapping: Mapping[str, Any], name: str) -> str:
    value = mapping.get(name)
    if is_absent(value):
        return ""
    if isinstance(value, (list, tuple)):
        return "\n\n".join(str(v) for v in value)
    return str(value)


class Scorer:
    """Scores rows; one instance is shared by the worker threads."""

    def __init__(
        self, checker: rc.RustChecker | None = None, use_rustc: bool = True, warn: bool = True
    ) -> None:
        self.checker = checker or rc.RustChecker()
        self.rust_ok = use_rustc and self.checker.available
        if use_rustc and not self.rust_ok and warn:
            log.warning(
                "rustc (%r) not found: compile and test metrics are UNAVAILABLE; "
                "text and name metrics are still reported",
                self.checker.config.rustc,
            )

    def prediction_for(self, row: Mapping[str, Any], reference: bool) -> str:
        if not reference:
            value = row.get("prediction")
            return "" if value is None else str(value)
        spec = get_task(row.get("task_category"))  # type: ignore[arg-type]
        outputs = parse_json_field(row.get("output_data"), "output_data")
        return build_answer(spec, outputs)

    def dependencies_of(
        self, row: Mapping[str, Any], reference: bool = False, referenced_only: bool = False
    ) -> list[str] | None:
        """Inferred crates of a compiled row (None for text/name or unreadable rows).

        ``referenced_only`` leaves out the row's own ``crate_name`` unless the code names it:
        those are the crates a check needs (and the only ones worth building).
        """
        try:
            spec = get_task(row.get("task_category"))  # type: ignore[arg-type]
            if spec.answer_kind not in COMPILED_KINDS:
                return None
            inputs = parse_json_field(row.get("input_data"), "input_data")
            prediction = self.prediction_for(row, reference)
        except StrandsetFormatError:
            return None
        fields = parse_answer(spec.category, prediction)
        answer = fields.get(_answer_field(spec), "")
        texts = [_opt(inputs, n) for n in _CODE_INPUTS[spec.answer_kind]]
        crate_name = "" if referenced_only else str(row.get("crate_name") or "")
        return cr.infer_dependencies(crate_name, *texts, answer, _opt(row, "test"))

    def _resolve(self, deps: Sequence[str]) -> dict[str, str | None]:
        crates = self.checker.crates
        return crates.resolve(deps) if crates is not None else {d: None for d in deps}

    def score_row(self, row: Mapping[str, Any], index: int, reference: bool = False) -> RowScore:
        category = str(row.get("task_category"))
        base = RowScore(
            key=row_key(row),
            index=index,
            category=category,
            answer_kind=TASKS[category].answer_kind if category in TASKS else "unknown",
            crate_name=str(row.get("crate_name") or ""),
            status=INVALID,
        )
        try:
            spec = get_task(category)
            inputs = parse_json_field(row.get("input_data"), "input_data")
            outputs = parse_json_field(row.get("output_data"), "output_data")
            prediction = self.prediction_for(row, reference)
        except StrandsetFormatError as exc:
            base.messages = [str(exc)]
            return base
        try:
            deps = self.dependencies_of(row, reference)
            if deps is not None:
                base.dependencies = self._resolve(deps)
                base.required_dependencies = self.dependencies_of(
                    row, reference, referenced_only=True
                )
            self._score(base, spec, inputs, outputs, prediction, _opt(row, "test"))
        except Exception as exc:  # a checker bug must not stop the evaluation
            log.debug("scoring row %d failed", index, exc_info=True)
            base.status = ERROR
            base.messages = [f"{type(exc).__name__}: {exc}"]
        return base

    def _score(self, s: RowScore, spec, inputs, outputs, prediction: str, test: str) -> None:
        fields = parse_answer(spec.category, prediction)
        kind = spec.answer_kind
        context = _opt(inputs, "code_context")
        # text parts (lone text answers, or the labelled text after the code)
        for f in spec.outputs:
            if f.kind != "text":
                continue
            ref = _opt(outputs, f.name)
            pred = fields.get(f.name, "")
            if kind == "name":
                s.metrics.update(tm.name_metrics(pred, ref))
            else:
                s.metrics["chrf"] = tm.chrf(pred, ref)
        if kind in ("text", "name"):
            s.status = SCORED
            return
        if kind == "completion":
            ref = _opt(outputs, "completion")
            pred = fields.get("completion", "")
            s.metrics.update(tm.name_metrics(pred, ref))
        if not self.rust_ok:
            s.status = UNAVAILABLE
            return
        answer_field = _answer_field(spec)
        if not fields.get(answer_field, "").strip():
            # An empty answer is no code at all; around a prefix/suffix it could still compile.
            s.status = rc.FRAGMENT
            s.messages = ["empty answer"]
            s.metrics["compiles"] = s.metrics["compiles_or_missing_crate"] = 0.0
            if test or kind == "tests":
                s.metrics["pass@1"] = 0.0
            return
        if kind == "tests":
            result = self.checker.check_test_generation(
                _opt(inputs, "code_to_test"),
                context,
                _opt(inputs, "test_context"),
                [fields.get("test_cases", "")],
            )
            self._apply(s, result)
            s.metrics["pass@1"] = float(result.status == rc.TESTS_PASS)
            s.metrics["compiles"] = float(result.compile_status == rc.COMPILES)
            return
        if kind == "completion":
            code = _opt(inputs, "prefix") + fields.get("completion", "") + _opt(inputs, "suffix")
            ctx = ""
        else:
            code = fields.get(spec.code_output or "", "")
            ctx = context
        result, unit = self.checker.assemble(code, ctx)
        self._apply(s, result)
        s.metrics["compiles"] = float(result.status == rc.COMPILES)
        s.metrics["compiles_or_missing_crate"] = float(
            result.status in (rc.COMPILES, rc.MISSING_CRATE)
        )
        if not test:
            return
        # The row carries tests: build the placed answer with them and run.
        s.metrics["pass@1"] = 0.0
        if unit is None or result.status not in (rc.COMPILES, rc.MISSING_CRATE):
            s.test_status = result.status
            return
        tests = self.checker.run_tests(unit + "\n" + test, compile_status=result.status)
        if tests.status in rc.TEST_STATUSES or tests.status == rc.MISSING_CRATE:
            s.test_status = tests.status
        else:  # the answer compiles but the tests do not build against it
            s.test_status = rc.TESTS_FAIL
        s.status = s.test_status
        s.tests_passed, s.tests_failed = tests.tests_passed, tests.tests_failed
        if tests.status != rc.TESTS_PASS:
            s.error_codes = sorted(set(s.error_codes) | set(tests.error_codes))
            s.messages = list(tests.messages)
        s.metrics["pass@1"] = float(tests.status == rc.TESTS_PASS)

    @staticmethod
    def _apply(s: RowScore, result: rc.CheckResult) -> None:
        s.status = result.status
        s.shape = result.shape
        s.error_codes = list(result.error_codes)
        s.messages = list(result.messages)
        s.tests_passed = result.tests_passed
        s.tests_failed = result.tests_failed

    def score_rows(
        self,
        rows: Sequence[Mapping[str, Any]],
        jobs: int | None = None,
        reference: bool = False,
        description: str = "scoring",
    ) -> list[RowScore]:
        """Score all rows with ``jobs`` worker threads (default: all cores); order kept."""
        jobs = max(1, jobs or os.cpu_count() or 1)
        self.prepare_crates(rows, reference)
        results: list[RowScore | None] = [None] * len(rows)
        with make_progress() as bar:
            task = bar.add_task(description, total=len(rows))
            if jobs == 1:
                for i, row in enumerate(rows):
                    results[i] = self.score_row(row, i, reference)
                    bar.advance(task)
            else:
                with ThreadPoolExecutor(max_workers=jobs) as pool:
                    futures = {
                        pool.submit(self.score_row, row, i, reference): i
                        for i, row in enumerate(rows)
                    }
                    for fut in _as_completed(futures):
                        results[futures[fut]] = fut.result()
                        bar.advance(task)
        return [r for r in results if r is not None]

    def prepare_crates(self, rows: Sequence[Mapping[str, Any]], reference: bool = False) -> None:
        """Build the crate environment once for every crate the rows need (if any)."""
        crates = self.checker.crates
        if crates is None or not self.rust_ok:
            return
        needed: set[str] = set()
        for row in rows:
            needed.update(self.dependencies_of(row, reference, referenced_only=True) or ())
        crates.ensure(sorted(needed))


COMPILED_KINDS = ("code", "completion", "tests")
_CODE_INPUTS = {
    "code": ("code_context",),
    "completion": ("prefix", "suffix"),
    "tests": ("code_context", "code_to_test", "test_context"),
}


def _answer_field(spec: Any) -> str:
    return {"tests": "test_cases", "completion": "completion"}.get(
        spec.answer_kind, spec.code_output or ""
    )


def _as_completed(futures: Iterable[Any]) -> Iterable[Any]:
    from concurrent.futures import as_completed

    return as_completed(list(futures))


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows of a JSONL file; a bad line raises `UserFacingError` naming file and line."""
    p = Path(path)
    if not p.is_file():
        raise UserFacingError(f"no such file: {p}")
    rows: list[dict[str, Any]] = []
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise UserFacingError(f"{p}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise UserFacingError(f"{p}:{lineno}: expected a JSON object per line")
            rows.append(row)
    return rows


def model_label(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str] | None) -> str:
    for row in rows:
        label = row.get("model")
        if isinstance(label, str) and label.strip():
            return label.strip()
    return Path(path).stem if path is not None else "model"


def rustc_version(rustc: str = "rustc") -> str | None:
    import subprocess

    try:
        out = subprocess.run([rustc, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _describe_crates(crates: cr.CrateEnvironment | None) -> str:
    if crates is None:
        return "off"
    info = crates.summary()
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items()) or "none built"
    built = (
        f"environment built in {info['build_seconds']:.1f} s"
        if info["built_now"]
        else "cached environment"
    )
    return f"{info['mode']} from {info['source']}: {versions} ({built})"


def load_reference_rows(data: str, split: str) -> list[dict[str, Any]]:
    """Rows of a dataset split (bundled sample, local file or hub id) via `qwen2_rust.data`."""
    from qwen2_rust import data as data_mod

    loaded = data_mod.load_split(data, split)
    return loaded.valid_rows()


def score_files(
    paths: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    reference: bool = False,
    data: str | None = None,
    split: str = "test",
    config: rc.CheckConfig | None = None,
    charts: bool = True,
    use_rustc: bool = True,
    crates: cr.CrateEnvironment | None = None,
) -> tuple[Any, dict[str, Path]]:
    """Score each file as one model (or the dataset's answers with ``reference``) and write
    ``report.json`` / ``report.md`` / charts under ``out_dir`` (nothing written if None).

    Returns (`report.EvaluationReport`, written paths).
    """
    from qwen2_rust.evaluation import sandbox
    from qwen2_rust.evaluation.report import build_report

    checker = rc.RustChecker(config, crates=crates)
    scorer = Scorer(checker, use_rustc=use_rustc)  # warns once if rustc is missing
    inputs: list[tuple[str, str, list[dict[str, Any]]]] = []
    for p in paths:
        rows = read_jsonl(p)
        label = "reference" if reference else model_label(rows, p)
        inputs.append((label, str(p), rows))
    if not paths:
        if not reference:
            raise UserFacingError("give at least one generations file (or --reference)")
        source = data or "sample"
        inputs.append(("reference", f"{source}:{split}", load_reference_rows(source, split)))
    labels = [lbl for lbl, _, _ in inputs]
    models = []
    for label, source, rows in inputs:
        if labels.count(label) > 1:
            label = f"{label} ({Path(source).stem})"
        if not rows:
            log.warning("%s: no rows to score", source)
        scores = scorer.score_rows(rows, jobs=jobs, reference=reference, description=label)
        models.append((label, source, scores))
    warnings: list[str] = []
    if not scorer.rust_ok:
        warnings.append(
            "rustc not available: compile and test metrics are unavailable (status "
            f"'{UNAVAILABLE}'); only text and name metrics are reported"
        )
    isolation = checker.isolation
    if scorer.rust_ok and isolation == sandbox.ISOLATION_NONE:
        warnings.append("no network isolation was available for compiled code (rlimits only)")
    cfg = checker.config
    environment = {
        "rustc": rustc_version(cfg.rustc) if scorer.rust_ok else "unavailable",
        "edition": cfg.edition,
        "sandbox": sandbox.describe_isolation(isolation) if scorer.rust_ok else "n/a",
        "limits": f"compile {cfg.compile_limits.wall_s:g}s / {cfg.compile_limits.memory_mb} MiB, "
        f"run {cfg.run_limits.wall_s:g}s / {cfg.run_limits.memory_mb} MiB",
        "jobs": max(1, jobs or os.cpu_count() or 1),
        "mode": "reference answers" if reference else "model generations",
        "crates": _describe_crates(crates),
    }
    crate_summary = crates.summary() if crates is not None else {"mode": cr.MODE_OFF}
    if crates is None and scorer.rust_ok:
        warnings.append(
            "crates off: answers that use external crates end as missing_crate "
            "(use --crates offline --crate-source DIR, or --crates online)"
        )
    report = build_report(models, environment, warnings, crates=crate_summary)
    written = report.write(out_dir, charts=charts) if out_dir is not None else {}
    return report, written
