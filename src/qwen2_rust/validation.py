"""Dataset checks -> a report object (the CLI renders it as a table or JSON).

Every row is checked on its own; a malformed row becomes one or more `RowProblem`s
(row index, field, reason) and never stops the run. Token lengths are measured on the
formatted conversations with the real Qwen tokenizer, in one batched pass.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from qwen2_rust.data import LoadedSplit
from qwen2_rust.errors import StrandsetFormatError
from qwen2_rust.format_utils import (
    build_messages,
    is_absent,
    parse_json_field,
    placeholder_missing,
)
from qwen2_rust.tasks import PLACEHOLDER, TASKS

_MAX_DUPLICATE_PAIRS = 50
# Rows checked per pipeline step (tokenized in the background while the next step is checked).
_CHUNK_ROWS = 4096
_REQUIRED_COLUMNS = ("task_category", "input_data", "output_data")


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RowsCheck:
    """Per-row results: problems (by row number), positions of valid rows, their conversations."""

    problems: list[RowProblem] = field(default_factory=list)
    valid_indices: list[int] = field(default_factory=list)
    conversations: list[list[dict[str, str]]] = field(default_factory=list)


def check_row(
    index: int, row: dict[str, Any] | None, unreadable: str = "not a JSON object"
) -> tuple[list[RowProblem], list | None]:
    """Problems of one raw row, and its chat messages when it has none."""
    if row is None:
        return [RowProblem(index, "<row>", unreadable)], None
    problems = [
        RowProblem(index, column, "column is missing")
        for column in _REQUIRED_COLUMNS
        if column not in row
    ]
    if problems:
        return problems, None
    category = row["task_category"]
    spec = TASKS.get(category) if isinstance(category, str) else None
    if spec is None:
        problems.append(RowProblem(index, "task_category", f"unknown category {category!r}"))
    parsed: dict[str, dict] = {}
    for column in ("input_data", "output_data"):
        try:
            parsed[column] = parse_json_field(row[column], column)
        except StrandsetFormatError as exc:
            problems.append(RowProblem(index, column, str(exc)))
    if spec is None or len(parsed) < 2:
        return problems, None
    inputs, outputs = parsed["input_data"], parsed["output_data"]
    for f in spec.inputs:
        if f.required and is_absent(inputs.get(f.name)):
            problems.append(
                RowProblem(index, f"input_data.{f.name}", "required field is missing or empty")
            )
    for f in spec.outputs:
        if is_absent(outputs.get(f.name)):
            problems.append(RowProblem(index, f"output_data.{f.name}", "empty output"))
    for column, values in (("input_data", inputs), ("output_data", outputs)):
        for name, value in values.items():
            token = _control_token_in(value)
            if token:
                problems.append(
                    RowProblem(
                        index,
                        f"{column}.{name}",
                        f"contains the text {token!r}, which the tokenizer reads as a control "
                        "token (it would end the turn mid-answer)",
                    )
                )
    if placeholder_missing(spec, inputs):
        problems.append(
            RowProblem(index, f"input_data.{spec.placeholder_input}", f"no {PLACEHOLDER} to name")
        )
    if problems:
        return problems, None
    try:
        messages = build_messages(spec, inputs, outputs)
    except StrandsetFormatError as exc:
        return [RowProblem(index, exc.field or "<row>", str(exc))], None
    return [], messages


def _check_range(
    loaded: LoadedSplit, start: int, stop: int, unreadable: dict[int, str], result: RowsCheck
) -> Iterator[list[dict[str, str]]]:
    """Check rows ``[start, stop)`` into ``result``; yield the messages of each valid one."""
    rows = loaded.rows
    for index in range(start, stop):
        problems, messages = check_row(
            loaded.row_number(index), rows[index], unreadable.get(index, "not a JSON object")
        )
        if problems:
            result.problems.extend(problems)
        else:
            result.valid_indices.append(index)
            yield messages  # type: ignore[misc]


_CONTROL_TOKENS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>")


def _control_token_in(value: Any) -> str | None:
    texts = value if isinstance(value, (list, tuple)) else [value]
    for text in texts:
        if isinstance(text, str) and "<|" in text:
            for token in _CONTROL_TOKENS:
                if token in text:
                    return token
    return None


def check_rows(loaded: LoadedSplit) -> RowsCheck:
    result = RowsCheck()
    unreadable = {e.row: e.reason for e in loaded.errors}
    result.conversations.extend(_check_range(loaded, 0, len(loaded.rows), unreadable, result))
    return result


def percentile(sorted_values: Sequence[int], q: float) -> int:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return int(sorted_values[rank - 1])


def _row_key(row: dict[str, Any]) -> str:
    payload = "\x1f".join(str(row.get(c)) for c in ("task_category", "input_data", "output_data"))
    return hashlib.blake2b(payload.encode("utf-8", "replace"), digest_size=16).hexdigest()


def find_duplicates(rows: Sequence[dict | None]) -> list[tuple[int, int]]:
    """(row, first occurrence) for every exact repeat of category + input + output."""
    seen: dict[str, int] = {}
    pairs: list[tuple[int, int]] = []
    for index, row in enumerate(rows):
        if row is None:
            continue
        key = _row_key(row)
        if key in seen:
            pairs.append((index, seen[key]))
        else:
            seen[key] = index
    return pairs


def find_leakage(rows: Sequence[dict | None], other: Sequence[dict | None]) -> list[int]:
    """Rows whose ``input_data`` also appears in ``other`` (e.g. train rows seen in test)."""
    other_inputs = {str(r.get("input_data")) for r in other if r is not None}
    return [
        i for i, r in enumerate(rows) if r is not None and str(r.get("input_data")) in other_inputs
    ]


def _check_and_measure(loaded: LoadedSplit, tokenizer: Any) -> tuple[RowsCheck, list[int]]:
    """`check_rows` plus the token length of every valid row, without keeping conversations.

    A pipeline: while the tokenizer (Rust, the GIL released, its own threads) counts the
    tokens of one chunk of rendered texts in a worker thread, this thread checks, formats
    and renders the next chunk. Results are collected in order, so they are the same as
    checking everything first and tokenizing afterwards.
    """
    from qwen2_rust.sft_data import render_conversation, token_lengths

    result = RowsCheck()
    unreadable = {e.row: e.reason for e in loaded.errors}
    lengths: list[int] = []
    total = len(loaded.rows)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="qwen2-tokenize") as pool:
        pending: Future[list[int]] | None = None
        for start in range(0, total, _CHUNK_ROWS):
            stop = min(total, start + _CHUNK_ROWS)
            texts = [
                render_conversation(messages)[0]
                for messages in _check_range(loaded, start, stop, unreadable, result)
            ]
            future = pool.submit(token_lengths, tokenizer, texts)
            if pending is not None:
                lengths.extend(pending.result())
            pending = future
        if pending is not None:
            lengths.extend(pending.result())
    return result, lengths


@dataclass
class ValidationReport:
    source: str
    split: str
    total_rows: int
    valid_rows: int
    invalid_rows: int
    by_category: dict[str, int]
    errors: list[RowProblem]
    token_lengths: dict[str, int]
    max_length: int
    over_max_length: int
    over_max_length_by_category: dict[str, int]
    duplicates: int
    duplicate_pairs: list[tuple[int, int]]
    leakage: dict[str, Any] | None
    sampled_from: int | None = None

    @property
    def ok(self) -> bool:
        return self.invalid_rows == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "split": self.split,
            "total_rows": self.total_rows,
            "sampled_from": self.sampled_from,
            "valid_rows": self.valid_rows,
            "invalid_rows": self.invalid_rows,
            "by_category": self.by_category,
            "errors": [e.to_dict() for e in self.errors],
            "token_lengths": self.token_lengths,
            "max_length": self.max_length,
            "over_max_length": self.over_max_length,
            "over_max_length_by_category": self.over_max_length_by_category,
            "duplicates": self.duplicates,
            "duplicate_pairs": [
                {"row": r, "duplicate_of": d}
                for r, d in self.duplicate_pairs[:_MAX_DUPLICATE_PAIRS]
            ],
            "leakage": self.leakage,
        }


def validate(
    loaded: LoadedSplit,
    tokenizer: Any,
    max_length: int = 2048,
    other_split: LoadedSplit | None = None,
    sampled_from: int | None = None,
) -> ValidationReport:
    """Check every row of ``loaded``; measure token lengths; compare with ``other_split``."""
    checked, lengths = _check_and_measure(loaded, tokenizer)
    categories = [loaded.rows[i]["task_category"] for i in checked.valid_indices]  # type: ignore[index]
    over = Counter(c for c, n in zip(categories, lengths, strict=True) if n > max_length)
    ordered = sorted(lengths)
    by_category = Counter(
        row.get("task_category") if isinstance(row.get("task_category"), str) else "<invalid>"
        for row in loaded.rows
        if row is not None
    )
    number = loaded.row_number
    duplicate_pairs = [(number(r), number(d)) for r, d in find_duplicates(loaded.rows)]
    leakage = None
    if other_split is not None:
        leaked = [number(p) for p in find_leakage(loaded.rows, other_split.rows)]
        leakage = {"other_split": other_split.split, "rows": len(leaked), "examples": leaked[:20]}
    return ValidationReport(
        source=loaded.source,
        split=loaded.split,
        total_rows=len(loaded.rows),
        valid_rows=len(checked.valid_indices),
        invalid_rows=len(loaded.rows) - len(checked.valid_indices),
        by_category=dict(sorted(by_category.items())),
        errors=checked.problems,
        token_lengths={
            "p50": percentile(ordered, 50),
            "p95": percentile(ordered, 95),
            "p99": percentile(ordered, 99),
            "max": ordered[-1] if ordered else 0,
        },
        max_length=max_length,
        over_max_length=sum(over.values()),
        over_max_length_by_category=dict(sorted(over.items())),
        duplicates=len(duplicate_pairs),
        duplicate_pairs=duplicate_pairs,
        leakage=leakage,
        sampled_from=sampled_from,
    )
