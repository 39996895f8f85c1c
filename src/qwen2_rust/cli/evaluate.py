"""`qwen2-evaluate`: generate answers, then score them on Rust that is really compiled.

qwen2-evaluate generate --model smoke --data sample --out gens/base.jsonl
qwen2-evaluate generate --model Qwen/Qwen2-7B-Instruct --run sft-1000-... --out gens/ft.jsonl
qwen2-evaluate score gens/base.jsonl gens/ft.jsonl --out-dir eval/
qwen2-evaluate score --reference --data sample --split test --out-dir eval-ref/
qwen2-evaluate score gens/ft.jsonl --crates offline --crate-source /usr/share/cargo/registry
qwen2-evaluate score gens/ft.jsonl --crates online
qwen2-evaluate run --model smoke --data sample --out-dir eval/
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from qwen2_rust.cli._parser import ArgumentParser
from qwen2_rust.data import DEFAULT_DATASET
from qwen2_rust.errors import UserFacingError

_EPILOG = """\
statuses of compiled answers: compiles, missing_crate (only unresolved external crates),
fragment (empty, or could not be placed in any unit), fails (real compiler errors), timeout;
rows with tests: tests_pass, tests_fail, timeout. Text answers: chrF; names, single
calls and completions: exact / normalised match and edit similarity.
Outputs: report.json, report.md, categories.png (+ comparison_*.png for two or more files).

crates: each compiled row's dependencies (its crate_name + the external roots of its `use`
and qualified paths) are built once with cargo into a cached environment (under
$QWEN2_RUST_CACHE or ~/.cache/qwen2-rust, /crates) and each answer is compiled by rustc
with --extern against it. --crates offline reads a cargo directory source or vendor
directory (--crate-source DIR; Debian: apt-get install librust-tokio-dev ... puts crates in
/usr/share/cargo/registry), with no network; --crates online uses crates.io through cargo's
normal cache. The report records versions and the dependency coverage per category.
"""


def _add_generation_args(p: argparse.ArgumentParser, out_required: bool) -> None:
    p.add_argument("--model", required=True, help="base model id, local dir, or 'smoke'")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--adapter", help="LoRA adapter directory (fine-tuned model)")
    src.add_argument("--run", help="training run name; its adapter is looked up in --runs-dir")
    p.add_argument("--runs-dir", default="outputs", help="where training runs live (outputs)")
    p.add_argument(
        "--data",
        default=DEFAULT_DATASET,
        help=f"hub id, local file/dir, or 'sample' (default: {DEFAULT_DATASET})",
    )
    p.add_argument("--split", default="test", help="dataset split (test)")
    p.add_argument("-n", type=int, default=None, help="first N rows of each category (all)")
    p.add_argument("--categories", default=None, help="comma-separated categories (all)")
    p.add_argument("--max-new-tokens", type=int, default=512, help="(512)")
    p.add_argument("--batch-size", type=int, default=8, help="(8)")
    p.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--temperature", type=float, default=0.7, help="with --sample (0.7)")
    p.add_argument("--top-p", type=float, default=0.95, help="with --sample (0.95)")
    p.add_argument("--seed", type=int, default=42, help="sampling seed (42)")
    p.add_argument("--device", default=None, help="cuda / mps / cpu (auto)")
    p.add_argument("--label", default=None, help="model label in outputs and reports")
    if out_required:
        p.add_argument(
            "--out", required=True, help="generations JSONL (appended; existing rows skipped)"
        )


def _add_scoring_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", type=int, default=None, help="parallel checks (all cores)")
    p.add_argument("--compile-timeout", type=float, default=20.0, help="seconds (20)")
    p.add_argument("--run-timeout", type=float, default=10.0, help="seconds per test run (10)")
    p.add_argument("--rustc", default="rustc", help="rustc executable (rustc)")
    p.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    p.add_argument(
        "--crates",
        choices=("off", "online", "offline"),
        default=None,
        help="where external crates come from: offline = a local cargo directory source "
        "(--crate-source), online = crates.io via cargo, off = none (rows that need crates "
        "end as missing_crate). Default: offline when --crate-source is given or "
        "/usr/share/cargo/registry holds crates (and cargo is installed), else off",
    )
    p.add_argument(
        "--crate-source",
        metavar="DIR",
        default=None,
        help="cargo directory source / vendor dir for --crates offline "
        "(default: /usr/share/cargo/registry, Debian's librust-*-dev crates)",
    )
    p.add_argument(
        "--crate-build-timeout",
        type=float,
        default=900.0,
        help="seconds for building the crate environment once (900)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="qwen2-evaluate",
        description="Generate with a base and/or fine-tuned model and score the answers per "
        "Strandset task category: code is compiled with rustc (and tests run) in a sandbox, "
        "text is scored with chrF, names with exact/normalised match and edit similarity.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{generate,score,run}")

    gen = sub.add_parser(
        "generate",
        help="generate answers into a JSONL file (resumable)",
        description="Generate one answer per row with transformers (+ PEFT adapter): same "
        "prompts as training, batched, left padded, greedy unless --sample. Appends to --out "
        "and skips rows already there.",
    )
    _add_generation_args(gen, out_required=True)

    score = sub.add_parser(
        "score",
        help="score generation files (or the dataset's own answers) and write the report",
        description="Score each FILE as one model; two or more files also get a paired "
        "comparison (each later file against the first).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    score.add_argument("files", nargs="*", metavar="FILE.jsonl", help="generation files")
    score.add_argument("--out-dir", default="eval", help="report directory (eval)")
    score.add_argument(
        "--reference",
        action="store_true",
        help="score the dataset's own answers instead of predictions (checks the checker and "
        "the data); without FILEs reads --data/--split",
    )
    score.add_argument(
        "--data",
        default=DEFAULT_DATASET,
        help="with --reference and no FILE (default: %(default)s)",
    )
    score.add_argument("--split", default="test", help="with --reference and no FILE (test)")
    _add_scoring_args(score)

    run = sub.add_parser(
        "run",
        help="generate then score in one go",
        description="generate into OUT_DIR/generations-<label>.jsonl (resumable), then score "
        "it (plus any --compare files) into OUT_DIR",
    )
    _add_generation_args(run, out_required=False)
    run.add_argument("--out-dir", default="eval", help="(eval)")
    run.add_argument(
        "--compare", nargs="*", default=[], help="earlier generation files to compare against"
    )
    _add_scoring_args(run)
    return parser


def _generation_config(args: argparse.Namespace, out: str):
    from qwen2_rust.evaluation.generate import GenerationConfig, resolve_run_adapter

    adapter = args.adapter
    if args.run:
        adapter = resolve_run_adapter(args.run, args.runs_dir)
    if adapter and not Path(adapter).is_dir():
        raise UserFacingError(f"adapter directory not found: {adapter}")
    categories = (
        [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
    )
    label = args.label or (f"{args.model}+{args.run}" if args.run else None)
    return GenerationConfig(
        model=args.model,
        out=out,
        adapter=adapter,
        data=args.data,
        split=args.split,
        n=args.n,
        categories=categories,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        do_sample=args.sample,
        temperature=args.temperature,
        top_p=args.top_p,
        seed=args.seed,
        device=args.device,
        label=label,
    )


def _check_config(args: argparse.Namespace):
    from qwen2_rust.evaluation.rust_check import CheckConfig
    from qwen2_rust.evaluation.sandbox import Limits

    if args.jobs is not None and args.jobs < 1:
        raise UserFacingError("--jobs must be at least 1")
    return CheckConfig(
        rustc=args.rustc,
        compile_limits=Limits(wall_s=args.compile_timeout, memory_mb=2048),
        run_limits=Limits(wall_s=args.run_timeout, memory_mb=1024, processes=64),
    )


def _crate_environment(args: argparse.Namespace):
    from qwen2_rust.evaluation.crates import make_environment

    if args.crate_source is not None and args.crates == "off":
        raise UserFacingError("--crate-source has no effect with --crates off")
    return make_environment(
        args.crates,
        args.crate_source,
        rustc=args.rustc,
        build_timeout_s=args.crate_build_timeout,
    )


def _score(files: Sequence[str], args: argparse.Namespace, reference: bool) -> int:
    from qwen2_rust.evaluation.scoring import score_files

    report, written = score_files(
        files,
        out_dir=args.out_dir,
        jobs=args.jobs,
        reference=reference,
        data=getattr(args, "data", None),
        split=getattr(args, "split", "test"),
        config=_check_config(args),
        charts=not args.no_charts,
        crates=_crate_environment(args),
    )
    for m in report.models:
        overall = m.overall()
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(overall.statuses.items()))
        print(f"{m.label}: {overall.n} rows ({statuses})")
    crates = report.crates
    if crates.get("mode", "off") != "off":
        versions = ", ".join(f"{k} {v}" for k, v in crates.get("versions", {}).items())
        print(f"crates ({crates['mode']}): {versions or 'none needed'}")
    for w in report.warnings:
        if not w.startswith("rustc not available"):  # already logged once on stderr
            print(f"warning: {w}")
    for name, path in written.items():
        if name in ("json", "md"):
            print(f"wrote {path}")
    charts = [p for k, p in written.items() if k.startswith("chart")]
    if charts:
        print(f"wrote {len(charts)} chart(s) in {Path(args.out_dir)}")
    return 0


def _generate(args: argparse.Namespace, out: str) -> None:
    from qwen2_rust.evaluation.generate import generate

    summary = generate(_generation_config(args, out))
    print(
        f"{summary.label}: {summary.generated} generated, {summary.skipped_existing} already in "
        f"{summary.out}"
        + (f", {len(summary.invalid)} malformed rows skipped" if summary.invalid else "")
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "generate":
            _generate(args, args.out)
            return 0
        if args.command == "score":
            if not args.files and not args.reference:
                raise UserFacingError("give at least one generations FILE.jsonl (or --reference)")
            return _score(args.files, args, reference=args.reference)
        # run: one generations file per model *and adapter*, so base and fine-tuned never mix
        label = _generation_config(args, "").model_label()
        slug = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)
        out = os.path.join(args.out_dir, f"generations-{slug}.jsonl")
        _generate(args, out)
        return _score([*args.compare, out], args, reference=False)
    except UserFacingError as exc:
        print(f"qwen2-evaluate: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"qwen2-evaluate: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
