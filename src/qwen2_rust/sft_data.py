"""Chat conversations -> token ids and loss labels (assistant-only, stop token included).

`render_conversation` renders exactly what the training chat template
(`resources/chat_templates/qwen2_training.jinja`) renders, in plain Python, and also returns
the character spans inside ``{% generation %}`` (each assistant reply plus its ``<|im_end|>``).
A test checks both against ``tokenizer.apply_chat_template`` on real rows. Doing it here
instead of through Jinja makes tokenizing 191K rows a single batched call of the Rust
tokenizer: labels come from the token offsets, a token is trained when it lies inside a
generation span, everything else is ``-100``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

IGNORE_INDEX = -100
DEFAULT_SYSTEM = "You are a helpful assistant."
_BATCH = 1024


@dataclass(frozen=True)
class Tokenized:
    input_ids: list[int]
    labels: list[int]

    @property
    def trained_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


def render_conversation(messages: Sequence[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The training template's text for ``messages`` and its generation spans ``[start, end)``."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0

    def emit(text: str) -> None:
        nonlocal length
        parts.append(text)
        length += len(text)

    if messages and messages[0]["role"] != "system":
        emit(f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n")
    for message in messages:
        if message["role"] == "assistant":
            emit("<|im_start|>assistant\n")
            start = length
            emit(message["content"] + "<|im_end|>")
            spans.append((start, length))
            emit("\n")
        else:
            emit(f"<|im_start|>{message['role']}\n{message['content']}<|im_end|>\n")
    return "".join(parts), spans


def _backend(tokenizer: Any) -> Any:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise TypeError("a fast (Rust-backed) tokenizer is required")
    return backend


def _labels(
    ids: list[int], offsets: list[tuple[int, int]], spans: list[tuple[int, int]]
) -> list[int]:
    # Offsets are sorted, so each span is one contiguous token range found by bisection;
    # a token straddling a span boundary stays masked.
    labels = [IGNORE_INDEX] * len(ids)
    for start, end in spans:
        first = bisect_left(offsets, start, key=_token_start)
        last = bisect_right(offsets, end, key=_token_end)
        labels[first:last] = ids[first:last]
    return labels


def _token_start(offset: tuple[int, int]) -> int:
    return offset[0]


def _token_end(offset: tuple[int, int]) -> int:
    return offset[1]


def tokenize_conversations(
    tokenizer: Any, conversations: Iterable[Sequence[dict[str, str]]], batch_size: int = _BATCH
) -> Iterator[Tokenized]:
    """Token ids and assistant-only labels, in order, tokenized in batches."""
    backend = _backend(tokenizer)
    batch: list[tuple[str, list[tuple[int, int]]]] = []

    def flush() -> Iterator[Tokenized]:
        encodings = backend.encode_batch([text for text, _ in batch], add_special_tokens=False)
        for (_, spans), encoding in zip(batch, encodings, strict=True):
            ids = list(encoding.ids)
            yield Tokenized(ids, _labels(ids, encoding.offsets, spans))
        batch.clear()

    for messages in conversations:
        batch.append(render_conversation(messages))
        if len(batch) >= batch_size:
            yield from flush()
    if batch:
        yield from flush()


def token_lengths(tokenizer: Any, texts: Sequence[str], batch_size: int = _BATCH) -> list[int]:
    """Token counts of already-rendered texts (batched; no offsets are computed)."""
    backend = _backend(tokenizer)
    encode = getattr(backend, "encode_batch_fast", backend.encode_batch)
    lengths: list[int] = []
    for i in range(0, len(texts), batch_size):
        encodings = encode(list(texts[i : i + batch_size]), add_special_tokens=False)
        lengths.extend(len(e) for e in encodings)  # len(): no list of ids is built
    return lengths


def token_label_view(tokenizer: Any, tokenized: Tokenized) -> list[tuple[str, bool]]:
    """Each token's text and whether it is trained: what ``--preview`` shows."""
    return [
        (tokenizer.decode([token_id]), label != IGNORE_INDEX)
        for token_id, label in zip(tokenized.input_ids, tokenized.labels, strict=True)
    ]


def trained_spans(tokenized: Tokenized) -> list[tuple[int, int]]:
    """Token index ranges ``[start, end)`` that are trained."""
    spans: list[tuple[int, int]] = []
    start = None
    for i, label in enumerate([*tokenized.labels, IGNORE_INDEX]):
        if label != IGNORE_INDEX and start is None:
            start = i
        elif label == IGNORE_INDEX and start is not None:
            spans.append((start, i))
            start = None
    return spans
