"""Text metrics: chrF (sacrebleu) for prose, exact / normalised match and edit similarity
for names, single calls and completions. All values are in [0, 1] (chrF is divided by 100).
"""

from __future__ import annotations

import re
import unicodedata

from qwen2_rust.format_utils import extract_rust_blocks


def chrf(prediction: str, reference: str) -> float:
    """Sentence-level chrF (sacrebleu defaults: char n-grams up to 6, beta 2), in [0, 1]."""
    from sacrebleu.metrics import CHRF

    if not reference.strip() and not prediction.strip():
        return 1.0
    return float(CHRF().sentence_score(prediction, [reference]).score) / 100.0


_FENCE_LINE = re.compile(r"^\s*```[\w+-]*\s*$")


def normalise(text: str) -> str:
    """Canonical form of a short answer (a name, a call, a completion).

    Takes the first fenced block if any, drops fence lines, a leading ``Label:``,
    surrounding backticks/quotes and trailing ``;``/``.``/``,``, removes all whitespace and
    lower-cases: ``Vec::new();`` and ```` `vec :: new ( )` ```` normalise alike, while
    underscores and other punctuation are kept (``parse_cfg`` != ``parsecfg``).
    """
    text = unicodedata.normalize("NFKC", text)
    blocks = extract_rust_blocks(text)
    if blocks:
        text = blocks[0]
    lines = [ln for ln in text.strip().splitlines() if ln.strip() and not _FENCE_LINE.match(ln)]
    text = "\n".join(lines).strip()
    text = re.sub(r"^[A-Za-z ]{1,30}:\s+(?=\S)", "", text) if "\n" not in text else text
    text = text.strip().strip("`'\"").strip()
    text = text.rstrip(";.,").strip()
    return re.sub(r"\s+", "", text).lower()


def exact_match(prediction: str, reference: str) -> float:
    return float(prediction.strip() == reference.strip())


def normalised_match(prediction: str, reference: str) -> float:
    return float(normalise(prediction) == normalise(reference))


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert / delete / substitute, each cost 1)."""
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def edit_similarity(prediction: str, reference: str, normalised: bool = True) -> float:
    """1 - Levenshtein / max length, on normalised strings by default; 1.0 for two empties."""
    if normalised:
        prediction, reference = normalise(prediction), normalise(reference)
    longest = max(len(prediction), len(reference))
    if longest == 0:
        return 1.0
    return 1.0 - levenshtein(prediction, reference) / longest


def name_metrics(prediction: str, reference: str) -> dict[str, float]:
    return {
        "exact_match": exact_match(prediction, reference),
        "normalised_match": normalised_match(prediction, reference),
        "edit_similarity": edit_similarity(prediction, reference),
    }
