"""qwen2-validate: check a Strandset dataset before any GPU hour is spent on it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from qwen2_rust.cli._parser import ArgumentParser

DESCRIPTION = """\
Check a Strandset-format dataset and report: rows per category, every invalid row as
(row, field, reason), exact duplicates, token lengths of the formatted conversations with
the real Qwen tokenizer (p50/p95/p99/max), rows over --max-length (they would be
truncated), and train/test leakage when both splits are available.
"""

EPILOG = """\
examples:
  qwen2-validate --data sample
  qwen2-validate --data strandset.parquet --json > report.json
  qwen2-validate -n 20000 --max-length 4096        # a seeded, stratified sample of the hub data

exit codes: 0 every row valid, 1 some rows invalid (the report is still complete),
2 usage or I/O error (missing file, unreadable format, hub unreachable).
"""

_SHOWN_ERRORS = 30


def build_parser() -> argparse.ArgumentParser:
    from qwen2_rust.data import DEFAULT_DATASET

    parser = ArgumentParser(
        prog="qwen2-validate",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data",
        default=DEFAULT_DATASET,
        help="hub dataset id, local .parquet/.jsonl/.json file or directory, or 'sample' "
        f"(default: {DEFAULT_DATASET})",
    )
    parser.add_argument("--split", default="train", help="split to check (default: train)")
    parser.add_argument(
        "-n",
        "--num-examples",
        type=int,
        default=None,
        help="check a seeded sample of N rows, stratified by category (default: all rows)",
    )
    parser.add_argument("--seed", type=int, default=42, help="sampling seed (default: 42)")
    parser.add_argument(
        "--max-length",
        type=int,
        default=2048,
        help="token budget per example; longer rows are counted (default: 2048)",
    )
    parser.add_argument(
        "--model",
        default="smoke",
        help="whose tokenizer measures lengths: 'smoke' (the bundled Qwen BPE, the same "
        "vocabulary as Qwen2; works offline) or a model id/dir (default: smoke)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of tables"
    )
    return parser


def _sample(loaded: Any, n: int | None, seed: int) -> tuple[Any, int | None]:
    """A stratified sample of the split (invalid rows stay in: they must be reported)."""
    if n is None or n >= len(loaded.rows):
        return loaded, None
    from qwen2_rust.data import stratified_sample_indices

    categories = [
        str(r.get("task_category")) if r is not None else "<unreadable>" for r in loaded.rows
    ]
    return loaded.subset(sorted(stratified_sample_indices(categories, n, seed))), len(loaded.rows)


def _other_split(data: str, split: str) -> Any:
    from qwen2_rust.data import available_splits, load_split
    from qwen2_rust.errors import UserFacingError

    others = [s for s in available_splits(data) if s != split and s in ("train", "test")]
    if not others:
        return None
    try:
        return load_split(data, others[0])
    except UserFacingError:
        return None


def render(report: Any, console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    data = report.to_dict()
    summary = Table(title=escape(f"{report.source} [{report.split}]"), show_header=False)
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    total = f"{report.total_rows:,}"
    if report.sampled_from:
        total += f" (sampled from {report.sampled_from:,})"
    lengths = report.token_lengths
    leakage = report.leakage
    for key, value in (
        ("rows", total),
        ("valid", f"{report.valid_rows:,}"),
        ("invalid", f"{report.invalid_rows:,}"),
        ("exact duplicates", f"{report.duplicates:,}"),
        (
            "tokens p50 / p95 / p99 / max",
            f"{lengths['p50']:,} / {lengths['p95']:,} / {lengths['p99']:,} / {lengths['max']:,}",
        ),
        (
            f"over --max-length {report.max_length}",
            f"{report.over_max_length:,} ({report.over_max_length / max(1, report.valid_rows):.2%})",
        ),
        (
            "leakage",
            "n/a (one split)"
            if leakage is None
            else f"{leakage['rows']:,} rows share input_data with {leakage['other_split']}",
        ),
    ):
        summary.add_row(key, value)
    console.print(summary)

    categories = Table(title="rows per category")
    categories.add_column("task_category")
    categories.add_column("rows", justify="right")
    categories.add_column(f"> {report.max_length} tokens", justify="right")
    for name, count in data["by_category"].items():
        categories.add_row(
            escape(name), f"{count:,}", str(data["over_max_length_by_category"].get(name, 0))
        )
    console.print(categories)

    if report.errors:
        errors = Table(title=f"problems ({len(report.errors):,} in {report.invalid_rows:,} rows)")
        errors.add_column("row", justify="right")
        errors.add_column("field")
        errors.add_column("reason", overflow="fold")
        for problem in report.errors[:_SHOWN_ERRORS]:
            errors.add_row(str(problem.row), escape(problem.field), escape(problem.reason))
        console.print(errors)
        if len(report.errors) > _SHOWN_ERRORS:
            console.print(
                f"... and {len(report.errors) - _SHOWN_ERRORS:,} more (use --json for all)"
            )


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    from qwen2_rust.errors import UserFacingError

    args = build_parser().parse_args(argv)
    err = Console(stderr=True)
    try:
        from qwen2_rust.data import load_split
        from qwen2_rust.modeling import load_token_counter
        from qwen2_rust.validation import validate

        if args.max_length < 1:
            raise UserFacingError("--max-length must be positive")
        loaded = load_split(args.data, args.split)
        loaded, sampled_from = _sample(loaded, args.num_examples, args.seed)
        tokenizer = load_token_counter(args.model)
        report = validate(
            loaded,
            tokenizer,
            max_length=args.max_length,
            other_split=_other_split(args.data, args.split),
            sampled_from=sampled_from,
        )
    except UserFacingError as exc:
        err.print(f"qwen2-validate: error: {exc}", highlight=False, soft_wrap=True, markup=False)
        return exc.exit_code
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        render(report, Console())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
