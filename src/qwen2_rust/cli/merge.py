"""qwen2-merge: fold a LoRA adapter into its base model (safetensors + tokenizer + card)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qwen2_rust.cli._parser import ArgumentParser

DESCRIPTION = """\
Merge a LoRA adapter (a qwen2-train run directory) into its base model, named in the
adapter's adapter_config.json, and save a standalone model in safetensors with the
tokenizer and chat template. With --push-to-hub the write token is checked before the
merge, and the upload carries a model card made from run.json (and --eval-report).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="qwen2-merge",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  qwen2-merge outputs/sft-1000-20251205-175811 --push-to-hub me/qwen2-rust-7b",
    )
    parser.add_argument("adapter", type=Path, help="adapter directory (e.g. outputs/<run-name>)")
    parser.add_argument("--out", type=Path, help="output directory (default: ADAPTER-merged)")
    parser.add_argument(
        "--dtype",
        choices=("auto", "bf16", "fp16", "fp32"),
        default="auto",
        help="precision of the merged weights (default: the base model's)",
    )
    parser.add_argument("--push-to-hub", metavar="REPO_ID", help="upload the merged model here")
    parser.add_argument(
        "--eval-report", help="report.json (or its directory) from qwen2-evaluate, for the card"
    )
    parser.add_argument("--private", action="store_true", help="create the Hub repo private")
    return parser


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    from qwen2_rust.errors import UserFacingError

    args = build_parser().parse_args(argv)
    out = Console()
    err = Console(stderr=True)
    try:
        from qwen2_rust.hub import check_write_token, load_evaluation, push_folder, write_model_card
        from qwen2_rust.merge import adapter_base_model, merge_adapter

        adapter_base_model(args.adapter)  # fail on a bad adapter before anything else
        evaluation = load_evaluation(args.eval_report)
        if args.push_to_hub:
            check_write_token("--push-to-hub")
        target = args.out or args.adapter.with_name(args.adapter.name + "-merged")
        merged = merge_adapter(args.adapter, target, args.dtype)
        write_model_card(merged, args.push_to_hub or merged.name, evaluation, merged=True)
        out.print(f"merged model in {merged}", highlight=False)
        if args.push_to_hub:
            url = push_folder(
                merged, args.push_to_hub, evaluation, merged=True, private=args.private
            )
            out.print(f"pushed to {url}", highlight=False)
    except UserFacingError as exc:
        err.print(f"qwen2-merge: error: {exc}", highlight=False, soft_wrap=True, markup=False)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
