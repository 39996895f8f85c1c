"""Generate answers for dataset rows with transformers (+ a PEFT LoRA adapter), resumably.

Prompts are the same system + user messages training uses (`format_utils.prompt_messages`,
never the answer), rendered with the tokenizer's chat template and a generation prompt.
Rows are sorted by prompt length and generated in batches with left padding; greedy by
default, seeded sampling when asked. Each finished batch is appended to the output JSONL
(one line per row: the row's own fields + ``prediction`` + ``model``) and flushed, so an
interrupted run resumes where it stopped: rows already in the file are skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qwen2_rust.errors import StrandsetFormatError, UserFacingError
from qwen2_rust.evaluation.scoring import ROW_FIELDS, row_key
from qwen2_rust.format_utils import prompt_messages
from qwen2_rust.log import get_logger, make_progress
from qwen2_rust.tasks import CATEGORIES

log = get_logger(__name__)


@dataclass
class GenerationConfig:
    model: str
    out: str
    adapter: str | None = None
    data: str = "sample"
    split: str = "test"
    n: int | None = None  # rows per category (None: all)
    categories: Sequence[str] | None = None
    max_new_tokens: int = 512
    batch_size: int = 8
    do_sample: bool = False
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int = 42
    device: str | None = None
    label: str | None = None
    system: bool = True

    def model_label(self) -> str:
        if self.label:
            return self.label
        if self.adapter:
            return f"{self.model}+{Path(self.adapter.rstrip('/')).name}"
        return self.model


@dataclass
class GenerationSummary:
    out: Path
    label: str
    total: int
    skipped_existing: int
    generated: int
    invalid: list[str] = field(default_factory=list)


def select_rows(
    rows: Sequence[Mapping[str, Any]],
    n: int | None = None,
    categories: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The first ``n`` rows of each category (file order), restricted to ``categories``."""
    if categories:
        unknown = [c for c in categories if c not in CATEGORIES]
        if unknown:
            raise UserFacingError(
                f"unknown categories: {', '.join(unknown)} (choose from {', '.join(CATEGORIES)})"
            )
    wanted = set(categories) if categories else None
    counts: dict[str, int] = {}
    selected: list[dict[str, Any]] = []
    for row in rows:
        cat = str(row.get("task_category"))
        if wanted is not None and cat not in wanted:
            continue
        if n is not None and counts.get(cat, 0) >= n:
            continue
        counts[cat] = counts.get(cat, 0) + 1
        selected.append(dict(row))
    return selected


def existing_keys(path: Path, label: str | None = None) -> set[str]:
    """Keys of the rows already generated in ``path`` (a truncated last line is ignored).

    With ``label``, a file holding another model's generations is refused: resuming into
    it would silently score that model's answers as this one's.
    """
    keys: set[str] = set()
    if not path.is_file():
        return keys
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and "prediction" in row:
                if label is not None and row.get("model") not in (None, label):
                    raise UserFacingError(
                        f"{path} holds generations of {row.get('model')!r}, not {label!r}; "
                        "choose another --out (or --label)"
                    )
                keys.add(row_key(row))
    return keys


def _repair_tail(path: Path) -> None:
    """Make sure the file ends with a newline (an interrupted write may have cut a line)."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) != b"\n":
            fh.write(b"\n")


def build_prompts(tokenizer: Any, rows: Sequence[Mapping[str, Any]], system: bool) -> list[str]:
    return [
        tokenizer.apply_chat_template(
            prompt_messages(row, system=system), tokenize=False, add_generation_prompt=True
        )
        for row in rows
    ]


def _stop_ids(tokenizer: Any) -> list[int]:
    ids = []
    for tok in ("<|im_end|>", "<|endoftext|>"):
        tid = tokenizer.convert_tokens_to_ids(tok)
        if isinstance(tid, int) and tid >= 0 and tid != tokenizer.unk_token_id:
            ids.append(tid)
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids


def generate_batch(
    model: Any, tokenizer: Any, prompts: Sequence[str], config: GenerationConfig
) -> list[str]:
    """Generate one reply per prompt (left padded batch); returns the decoded new text."""
    import torch

    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    enc = tokenizer(list(prompts), return_tensors="pt", padding=True, add_special_tokens=False)
    device = next(model.parameters()).device
    enc = {k: v.to(device) for k, v in enc.items()}
    kwargs: dict[str, Any] = {
        "max_new_tokens": config.max_new_tokens,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": _stop_ids(tokenizer),
    }
    if config.do_sample:
        kwargs.update(do_sample=True, temperature=config.temperature, top_p=config.top_p)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    with torch.inference_mode():
        out = model.generate(**enc, **kwargs)
    new_tokens = out[:, enc["input_ids"].shape[1] :]
    return [t.strip() for t in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]


def output_record(row: Mapping[str, Any], prediction: str, label: str) -> dict[str, Any]:
    record = {k: row.get(k) for k in ROW_FIELDS}
    record["prediction"] = prediction
    record["model"] = label
    return record


def generate(
    config: GenerationConfig,
    rows: Sequence[Mapping[str, Any]] | None = None,
    model: Any = None,
    tokenizer: Any = None,
) -> GenerationSummary:
    """Generate for the selected rows not yet in ``config.out``; append as it goes.

    ``rows`` defaults to ``config.data`` / ``config.split``; ``model``/``tokenizer``
    default to `qwen2_rust.modeling.load_for_inference(config.model, config.adapter)`.
    """
    if rows is None:
        from qwen2_rust import data as data_mod

        rows = data_mod.load_split(config.data, config.split).valid_rows()
    selected = select_rows(rows, config.n, config.categories)
    out = Path(config.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    label = config.model_label()
    done = existing_keys(out, label)
    pending: list[dict[str, Any]] = []
    seen: set[str] = set()
    skipped = 0
    for row in selected:
        key = row_key(row)
        if key in done:
            skipped += 1
            continue
        if key in seen:
            continue
        seen.add(key)
        pending.append(row)
    summary = GenerationSummary(out, label, len(selected), skipped, 0)
    if skipped:
        log.info("%s: %d rows already generated, skipping them", out, skipped)
    if not pending:
        return summary
    if model is None or tokenizer is None:
        from qwen2_rust import modeling

        model, tokenizer = modeling.load_for_inference(
            config.model, config.adapter, device=config.device
        )
    valid: list[tuple[dict[str, Any], str]] = []
    for row, prompt in zip(
        pending, _safe_prompts(tokenizer, pending, config, summary), strict=True
    ):
        if prompt is not None:
            valid.append((row, prompt))
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for _, p in valid]
    order = sorted(range(len(valid)), key=lambda i: -lengths[i])  # longest first: OOM early
    if config.do_sample:
        import torch

        torch.manual_seed(config.seed)
    _repair_tail(out)
    bs = max(1, config.batch_size)
    with make_progress() as bar, out.open("a", encoding="utf-8") as fh:
        task = bar.add_task(f"generating ({label})", total=len(order))
        for start in range(0, len(order), bs):
            batch = [valid[i] for i in order[start : start + bs]]
            replies = generate_batch(model, tokenizer, [p for _, p in batch], config)
            for (row, _), reply in zip(batch, replies, strict=True):
                fh.write(json.dumps(output_record(row, reply, label), ensure_ascii=False) + "\n")
            fh.flush()
            summary.generated += len(batch)
            bar.advance(task, len(batch))
    return summary


def _safe_prompts(
    tokenizer: Any, rows: Sequence[Mapping[str, Any]], config: GenerationConfig, summary: Any
) -> list[str | None]:
    prompts: list[str | None] = []
    for row in rows:
        try:
            prompts.append(build_prompts(tokenizer, [row], config.system)[0])
        except StrandsetFormatError as exc:
            summary.invalid.append(f"{row.get('crate_name')}/{row.get('task_category')}: {exc}")
            log.warning("skipping a malformed row: %s", exc)
            prompts.append(None)
    return prompts


def resolve_run_adapter(run: str, runs_dir: str | os.PathLike[str] = "outputs") -> str:
    """The LoRA adapter directory of a training run (``<runs_dir>/<run>[/adapter|/final]``)."""
    base = Path(run) if Path(run).is_dir() else Path(runs_dir) / run
    for candidate in (base / "adapter", base / "final", base):
        if (candidate / "adapter_config.json").is_file():
            return str(candidate)
    checkpoints = sorted(
        base.glob("checkpoint-*"),
        key=lambda p: int(p.name.split("-")[-1]) if p.name.split("-")[-1].isdigit() else -1,
    )
    for candidate in reversed(checkpoints):
        if (candidate / "adapter_config.json").is_file():
            return str(candidate)
    raise UserFacingError(
        f"no LoRA adapter found for run {run!r} under {base} "
        "(looked for adapter_config.json in adapter/, final/, the run dir, checkpoint-*/)"
    )
