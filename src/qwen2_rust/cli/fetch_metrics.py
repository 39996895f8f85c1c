"""`qwen2-fetch-metrics`: a run's Trackio metrics as JSON (and a plot), or a project's run list.

Exit codes: 0 done; 1 unknown run or project (or an empty store); 2 a problem with the request
or the environment (Space unreachable or offline, unwritable output).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from qwen2_rust.cli._parser import ArgumentParser
from qwen2_rust.errors import UserFacingError
from qwen2_rust.metrics import (
    DEFAULT_PROJECT,
    MetricsLookupError,
    RunSummary,
    default_output_path,
    fetch_run,
    last_step,
    list_runs,
    open_source,
    plot_run,
    scrub,
    write_json_atomic,
)

PROG = "qwen2-fetch-metrics"

EPILOG = """\
examples:
  qwen2-fetch-metrics --list
  qwen2-fetch-metrics --run sft-1000-20251205-175811 --plot
  qwen2-fetch-metrics --run sft-1000-20251205-175811 --stdout | jq '.metrics["eval/loss"]'
  qwen2-fetch-metrics --run my-run --project other --space me/trackio --out report/run.json

JSON: {"run", "run_id", "project", "source", "config", "metrics": {"train/loss":
[{"step", "value", "timestamp"}, ...], ...}}, every logged metric, steps ascending.
Non-finite values are written as "NaN" / "Infinity", as Trackio stores them.

exit codes: 0 ok; 1 unknown run or project, or empty store; 2 Space unreachable or
offline, output not writable.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description=(
            "Read a Trackio run's metrics into a JSON file you can diff, plot and commit. "
            "Reads the local Trackio store ($TRACKIO_DIR, else $HF_HOME/trackio) or, with "
            "--space, a Trackio Space on the Hub. Works with any Trackio project."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", metavar="NAME", help="run name, as Trackio shows it")
    what.add_argument(
        "--list",
        action="store_true",
        help="list the project's runs (name, created, steps, last train/eval loss)",
    )
    parser.add_argument(
        "--project",
        default=DEFAULT_PROJECT,
        help=f"Trackio project (default: {DEFAULT_PROJECT})",
    )
    parser.add_argument(
        "--space",
        metavar="USER/SPACE",
        help="read from this Trackio Space (or a https:// Trackio server URL) instead of the "
        "local store; uses your Hugging Face token (HF_TOKEN or `hf auth login`) if any",
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--stdout", action="store_true", help="print the JSON instead of a file")
    out.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help="JSON file to write (default: .data/NAME.json; directories are created)",
    )
    parser.add_argument(
        "--plot",
        action="store_true",
        help="also write a PNG of loss, learning rate, grad norm and token accuracy against "
        "step (.data/NAME.png, or next to --out)",
    )
    return parser


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _created(value: str | None) -> str:
    return value.replace("T", " ")[:19] if value else "-"


def _print_table(console: Console, project: str, where: str, rows: list[RunSummary]) -> None:
    table = Table(title=f"Trackio runs in {project!r} ({where})", title_justify="left")
    # Names are what users copy into --run: never truncate or wrap them.
    longest = max((len(row.name) for row in rows), default=3)
    table.add_column("run", no_wrap=True, min_width=longest)
    table.add_column("created (UTC)", no_wrap=True, min_width=19)
    table.add_column("steps", justify="right")
    table.add_column("last train/loss", justify="right")
    table.add_column("last eval/loss", justify="right")
    for row in rows:
        table.add_row(
            row.name,
            _created(row.created),
            _fmt(row.steps),
            _fmt(row.last_train_loss),
            _fmt(row.last_eval_loss),
        )
    console.print(table)


def _summary(data: dict[str, Any], path: Path) -> str:
    metrics = data["metrics"]
    points = sum(len(v) for v in metrics.values())
    train = metrics.get("train/loss")
    evals = metrics.get("eval/loss")
    parts = [
        f"Wrote {path}: run {data['run']} from {data['source']}",
        f"{len(metrics)} metrics, {points} points, last step {_fmt(last_step(metrics))}",
    ]
    if train:
        parts.append(f"last train/loss {_fmt(train[-1]['value'])}")
    if evals:
        parts.append(f"last eval/loss {_fmt(evals[-1]['value'])}")
    return "; ".join(parts)


def _error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {scrub(message)}\n")
    sys.stderr.flush()


def _run(args: argparse.Namespace, stdout: Console, stderr: Console) -> int:
    source = open_source(args.space)
    if args.list:
        _print_table(stdout, args.project, source.label, list_runs(source, args.project))
        return 0

    data = fetch_run(source, args.project, args.run)
    if args.stdout:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        sys.stdout.flush()
        json_path = None
    else:
        json_path = write_json_atomic(data, args.out or default_output_path(data["run"], ".json"))
        stdout.print(_summary(data, json_path), soft_wrap=True, highlight=False)
    if args.plot:
        png = json_path.with_suffix(".png") if args.out else None
        png = plot_run(data, png or default_output_path(data["run"], ".png"))
        # With --stdout, stdout is the JSON alone.
        (stderr if args.stdout else stdout).print(f"Wrote {png}", soft_wrap=True, highlight=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (the console script passes it to sys.exit)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error (argparse printed it)
        return exc.code if isinstance(exc.code, int) else 2
    # Piped or redirected output gets room for the whole table (rich assumes 80 columns).
    stdout = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
    stderr = Console(stderr=True, soft_wrap=True)
    try:
        return _run(args, stdout, stderr)
    except MetricsLookupError as exc:
        _error(str(exc))
        return exc.exit_code
    except UserFacingError as exc:
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
