"""Model cards for pushed adapters and merged models, rendered from ``run.json`` (+ evaluation)."""

from __future__ import annotations

import re
from typing import Any

_CARD_METRICS = ("compiles", "pass@1", "chrf", "exact_match")


def _fmt(value: Any, spec: str = ".4f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _hub_link(name: str, kind: str = "") -> str:
    """A Hub link for a repo id; a local path or a preset name stays plain text."""
    if _HUB_ID.match(name) and not name.startswith((".", "/")):
        return f"[{name}](https://huggingface.co/{kind}{name})"
    return f"`{name}`"


def _front_matter(base_model: str, dataset: str, merged: bool) -> str:
    tags = ["qwen2-rust", "rust", "code", "sft", "trl", "lora"]
    lines = [
        "---",
        *([f"base_model: {base_model}"] if _HUB_ID.match(base_model) else []),
        "library_name: " + ("transformers" if merged else "peft"),
        "pipeline_tag: text-generation",
        "license: apache-2.0",
    ]
    if "/" in dataset:
        lines += ["datasets:", f"- {dataset}"]
    lines += ["tags:", *(f"- {t}" for t in tags), "---"]
    return "\n".join(lines)


def _evaluation_section(report: dict[str, Any]) -> list[str]:
    lines = ["## Evaluation", ""]
    models = report.get("models") or []
    for model in models:
        lines += [f"### {model.get('label', 'model')}", ""]
        header = "| category | n | " + " | ".join(_CARD_METRICS) + " |"
        lines += [header, "|" + "---|" * (len(_CARD_METRICS) + 2)]
        rows = {**model.get("categories", {}), "**overall**": model.get("overall", {})}
        for category, stats in rows.items():
            metrics = stats.get("metrics", {})
            cells = []
            for name in _CARD_METRICS:
                metric = metrics.get(name)
                if metric is None:
                    cells.append("")
                else:
                    low, high = metric.get("ci95", [None, None])
                    cells.append(f"{metric['mean']:.3f} [{_fmt(low, '.2f')}, {_fmt(high, '.2f')}]")
            lines.append(f"| {category} | {stats.get('n', '')} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "Code answers are compiled with `rustc --edition 2021` (and their tests run) in a "
        "sandbox; text answers are scored with chrF; names with exact match. Intervals are "
        "95% bootstrap; Strandset's test split has 15 rows per category, so they are wide.",
        "",
    ]
    return lines


def render_model_card(
    record: dict[str, Any],
    repo_id: str,
    evaluation: dict[str, Any] | None = None,
    merged: bool = False,
) -> str:
    """Markdown card: base model, data, LoRA and training settings, results, how to load."""
    config = record.get("config", {})
    stats = record.get("data_stats", {})
    metrics = record.get("metrics", {})
    base_model = record.get("model") or config.get("model") or "Qwen/Qwen2-7B-Instruct"
    dataset = record.get("data") or "Fortytwo-Network/Strandset-Rust-v1"
    kind = "merged model" if merged else "LoRA adapter"
    lines = [
        _front_matter(base_model, dataset, merged),
        "",
        f"# {repo_id.split('/')[-1]}",
        "",
        f"A {kind} of {_hub_link(base_model)} fine-tuned on "
        f"{_hub_link(dataset, 'datasets/')} (Rust tasks in 15 "
        "categories) with TRL's SFT trainer, made with qwen2-rust. The loss covered the "
        "assistant answers and their closing `<|im_end|>` only.",
        "",
        "## Data",
        "",
        f"- examples: {stats.get('train_examples', '-')} train / "
        f"{stats.get('eval_examples', '-')} eval, sampled with seed {config.get('seed', '-')} "
        f"(stratified by category) from {stats.get('rows_in_split', '-')} rows of split "
        f"`{config.get('split', 'train')}`",
        f"- longer than {stats.get('max_length', '-')} tokens: {stats.get('over_max_length', 0)} "
        f"({config.get('overlong', 'drop')})",
        "",
        "| category | train examples |",
        "|---|---|",
        *(f"| {c} | {n} |" for c, n in sorted(stats.get("train_by_category", {}).items())),
        "",
        "## Training",
        "",
        "| setting | value |",
        "|---|---|",
    ]
    settings = [
        (
            "LoRA r / alpha / dropout",
            f"{config.get('lora_r')} / {config.get('lora_alpha')} / {config.get('lora_dropout')}",
        ),
        ("target modules", ", ".join(config.get("target_modules", []))),
        ("learning rate", f"{config.get('learning_rate')} ({config.get('lr_scheduler')})"),
        ("epochs / max steps", f"{config.get('epochs')} / {config.get('max_steps')}"),
        (
            "batch",
            f"{config.get('batch_size')} x {config.get('grad_accum')} accumulation"
            + (
                f" x {record['distributed']['world_size']} processes"
                if record.get("distributed", {}).get("world_size", 1) > 1
                else ""
            ),
        ),
        ("max length / packing", f"{config.get('max_length')} / {config.get('packing')}"),
        ("precision", (record.get("device") or {}).get("precision", "-")),
        ("steps", metrics.get("global_step", "-")),
        ("final train loss", _fmt(metrics.get("train_loss"))),
        ("eval loss", _fmt(metrics.get("eval_loss"))),
        ("wall time", f"{_fmt(metrics.get('wall_time_s'), '.0f')} s"),
        ("libraries", ", ".join(f"{k} {v}" for k, v in (record.get("versions") or {}).items())),
    ]
    lines += [f"| {k} | {v} |" for k, v in settings]
    lines.append("")
    if evaluation:
        lines += _evaluation_section(evaluation)
    lines += ["## How to use", "", "```python"]
    if merged:
        lines += [
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            "",
            f'model = AutoModelForCausalLM.from_pretrained("{repo_id}", dtype="auto")',
            f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}")',
        ]
    else:
        lines += [
            "from peft import AutoPeftModelForCausalLM",
            "from transformers import AutoTokenizer",
            "",
            f'model = AutoPeftModelForCausalLM.from_pretrained("{repo_id}", dtype="auto")',
            f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}")',
        ]
    lines += [
        'messages = [{"role": "user", "content": "Write a Rust function that reverses a string."}]',
        "inputs = tokenizer.apply_chat_template(",
        '    messages, add_generation_prompt=True, return_tensors="pt", return_dict=True',
        ")",
        "output = model.generate(**inputs, max_new_tokens=256)",
        'print(tokenizer.decode(output[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True))',
        "```",
        "",
        "Reproduce: `qwen2-train -n "
        f"{config.get('num_examples', 1000)} --seed {config.get('seed', 42)}` "
        f"(run `{record.get('run_name', '')}`, commit `{record.get('git_commit') or 'unknown'}`).",
        "",
    ]
    return "\n".join(lines)
