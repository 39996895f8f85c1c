"""Load Strandset rows (hub, local file/dir, bundled sample), seeded stratified sampling, splits.

`--data` accepts:

- ``sample``: the bundled sample (`qwen2_rust/resources/sample/{train,test}.jsonl`);
- a local ``.parquet``, ``.jsonl`` or ``.json`` file (one split: the file itself);
- a local directory holding ``<split>.parquet|jsonl|json`` or hub-style
  ``data/<split>-*.parquet`` files;
- a Hugging Face dataset id (default ``Fortytwo-Network/Strandset-Rust-v1``).

Rows are plain dicts with the raw Strandset columns. A line of a JSONL file that is not a
JSON object does not stop loading: it becomes a `LoadError` (row index, reason) and a
``None`` placeholder, so row indices keep matching line numbers.
"""

from __future__ import annotations

import json
import os
import random
import socket
import urllib.parse
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from qwen2_rust.errors import UserFacingError
from qwen2_rust.log import get_logger

DEFAULT_DATASET = "Fortytwo-Network/Strandset-Rust-v1"
SAMPLE = "sample"
COLUMNS = ("crate_name", "task_category", "input_data", "output_data", "test")
LOCAL_SUFFIXES = (".parquet", ".jsonl", ".json")
_HUB_PROBE_TIMEOUT_S = 5.0

log = get_logger(__name__)


@dataclass
class LoadError:
    row: int
    reason: str


@dataclass
class LoadedSplit:
    """Rows of one split; ``rows[i] is None`` where line ``i`` could not be read."""

    source: str
    split: str
    rows: list[dict[str, Any] | None]
    errors: list[LoadError] = field(default_factory=list)
    # Original row numbers when this is a subset of a split (None: rows[i] is row i).
    row_numbers: list[int] | None = None

    def row_number(self, position: int) -> int:
        return self.row_numbers[position] if self.row_numbers is not None else position

    def subset(self, positions: Sequence[int]) -> LoadedSplit:
        """The rows at ``positions`` (in that order), keeping their original numbers and errors."""
        wanted = set(positions)
        errors = [e for e in self.errors if e.row in wanted]
        position_of = {p: i for i, p in enumerate(positions)}
        return LoadedSplit(
            self.source,
            self.split,
            [self.rows[p] for p in positions],
            [LoadError(position_of[e.row], e.reason) for e in errors],
            [self.row_number(p) for p in positions],
        )

    def valid_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r is not None]


def sample_dir() -> Path:
    return Path(str(resources.files("qwen2_rust") / "resources" / "sample"))


def _read_jsonl(path: Path) -> tuple[list[dict | None], list[LoadError]]:
    rows: list[dict | None] = []
    errors: list[LoadError] = []
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for index, line in enumerate(handle):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                rows.append(None)
                errors.append(LoadError(len(rows) - 1, f"line {index + 1} is not JSON: {exc}"))
                continue
            if not isinstance(value, dict):
                rows.append(None)
                errors.append(
                    LoadError(
                        len(rows) - 1,
                        f"line {index + 1} is a {type(value).__name__}, not an object",
                    )
                )
                continue
            rows.append(value)
    return rows, errors


def _read_json(path: Path) -> tuple[list[dict | None], list[LoadError]]:
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        value = json.loads(text)
    except ValueError:
        # Many ".json" dataset files are really JSON lines.
        return _read_jsonl(path)
    if isinstance(value, dict):
        for key in ("rows", "data", "train"):
            if isinstance(value.get(key), list):
                value = value[key]
                break
    if not isinstance(value, list):
        raise UserFacingError(f"{path}: expected a JSON array of rows (or JSON lines)")
    rows: list[dict | None] = []
    errors: list[LoadError] = []
    for index, item in enumerate(value):
        if isinstance(item, dict):
            rows.append(item)
        else:
            rows.append(None)
            errors.append(
                LoadError(index, f"item {index} is a {type(item).__name__}, not an object")
            )
    return rows, errors


def _read_parquet(paths: Sequence[Path]) -> list[dict | None]:
    import pyarrow.parquet as pq

    rows: list[dict | None] = []
    for path in paths:
        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several unrelated types for bad files
            raise UserFacingError(f"{path}: not a readable parquet file ({exc})") from None
        rows.extend(table.to_pylist())
    return rows


def read_file(path: Path) -> tuple[list[dict | None], list[LoadError]]:
    """Rows of one local data file."""
    if not path.is_file():
        raise UserFacingError(f"data file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return _read_parquet([path]), []
        if suffix == ".jsonl":
            return _read_jsonl(path)
        if suffix == ".json":
            return _read_json(path)
    except (OSError, UnicodeError) as exc:
        raise UserFacingError(f"{path}: cannot read ({exc})") from None
    raise UserFacingError(
        f"{path}: unsupported file type {suffix!r} (use .parquet, .jsonl or .json)"
    )


def _split_files(directory: Path, split: str) -> list[Path]:
    for suffix in LOCAL_SUFFIXES:
        candidate = directory / f"{split}{suffix}"
        if candidate.is_file():
            return [candidate]
    hub_style = sorted((directory / "data").glob(f"{split}-*.parquet"))
    return hub_style or sorted(directory.glob(f"{split}-*.parquet"))


def _looks_local(data: str) -> bool:
    return (
        data.startswith((".", "/", "~"))
        or data.lower().endswith(LOCAL_SUFFIXES)
        or os.path.exists(os.path.expanduser(data))
    )


def available_splits(data: str) -> list[str]:
    """Splits that `load_split` can read for ``data`` without downloading anything new."""
    if data == SAMPLE:
        return sorted(p.stem for p in sample_dir().glob("*.jsonl"))
    path = Path(os.path.expanduser(data))
    if path.is_dir():
        return [s for s in ("train", "validation", "test") if _split_files(path, s)]
    if path.is_file():
        return []
    return ["train", "test"]


def load_split(data: str = DEFAULT_DATASET, split: str = "train") -> LoadedSplit:
    """Load one split of a dataset given as ``sample``, a local path or a hub id."""
    if data == SAMPLE:
        path = sample_dir() / f"{split}.jsonl"
        if not path.is_file():
            raise UserFacingError(
                f"the bundled sample has no split {split!r} (it has: {', '.join(available_splits(SAMPLE))})"
            )
        rows, errors = _read_jsonl(path)
        return LoadedSplit(SAMPLE, split, rows, errors)
    if _looks_local(data):
        path = Path(os.path.expanduser(data))
        if path.is_dir():
            files = _split_files(path, split)
            if not files:
                raise UserFacingError(
                    f"{path}: no file for split {split!r} "
                    f"(looked for {split}.parquet|jsonl|json and data/{split}-*.parquet)"
                )
            if len(files) > 1 or files[0].suffix == ".parquet":
                return LoadedSplit(str(path), split, _read_parquet(files))
            rows, errors = read_file(files[0])
            return LoadedSplit(str(path), split, rows, errors)
        rows, errors = read_file(path)
        return LoadedSplit(str(path), split, rows, errors)
    return LoadedSplit(data, split, _load_hub(data, split))


def _hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def hub_reachable(timeout: float = _HUB_PROBE_TIMEOUT_S) -> bool:
    """A quick TCP probe of the Hub endpoint, so offline machines fail in seconds, not minutes."""
    parsed = urllib.parse.urlparse(_hub_endpoint())
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_offline_mode() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _offline_hint(data: str, split: str) -> str:
    return (
        f"cannot load dataset {data!r} (split {split!r}) from the Hugging Face Hub at "
        f"{_hub_endpoint()}: {{why}}. Offline, use --data FILE (.parquet/.jsonl/.json), "
        "--data DIR, or --data sample; or pre-download it with "
        f"`hf download --repo-type dataset {data}` while online."
    )


def _cache_dirs() -> tuple[Path, Path]:
    """The Hub cache and the `datasets` cache, resolved the way both libraries do it."""
    xdg = os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
    home = Path(os.path.expanduser(os.environ.get("HF_HOME", os.path.join(xdg, "huggingface"))))
    hub = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    datasets_cache = os.environ.get("HF_DATASETS_CACHE")
    return (
        Path(os.path.expanduser(hub)) if hub else home / "hub",
        Path(os.path.expanduser(datasets_cache)) if datasets_cache else home / "datasets",
    )


def maybe_cached(data: str) -> bool:
    """False only when neither cache can hold ``data`` (so offline loading must fail)."""
    hub, datasets_cache = _cache_dirs()
    if (hub / f"datasets--{data.replace('/', '--')}").exists():
        return True
    wanted = data.replace("/", "___").lower()
    try:
        return any(entry.name.lower() == wanted for entry in datasets_cache.iterdir())
    except OSError:
        return False


def _load_hub(data: str, split: str) -> list[dict | None]:
    hint = _offline_hint(data, split)
    if hub_offline_mode():
        if not maybe_cached(data):
            # Fail in milliseconds instead of importing `datasets` only to hear the same.
            raise UserFacingError(
                hint.format(why="HF_HUB_OFFLINE is set and it is not in the local cache")
            )
    elif not hub_reachable():
        raise UserFacingError(hint.format(why="the Hub is unreachable (no network?)"))
    import datasets

    datasets.logging.set_verbosity_error()
    try:
        dataset = datasets.load_dataset(data, split=split)
    except Exception as exc:  # datasets raises many types; all mean "could not load"
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if hub_offline_mode():
            why = f"HF_HUB_OFFLINE is set and it is not in the local cache ({why[:200]})"
        raise UserFacingError(hint.format(why=why)) from None
    log.info("loaded %s rows of %s[%s] from the Hub", f"{len(dataset):,}", data, split)
    return dataset.to_list()


def _largest_remainder(counts: dict[str, int], n: int, floor: dict[str, int]) -> dict[str, int]:
    """Allocate ``n`` among categories proportionally to ``counts``, at least ``floor``, capped."""
    alloc = dict(floor)
    remaining = n - sum(alloc.values())
    while remaining > 0:
        spare = {c: counts[c] - alloc[c] for c in counts if counts[c] > alloc[c]}
        if not spare:
            break
        spare_total = sum(counts[c] for c in spare)
        shares = {c: remaining * counts[c] / spare_total for c in spare}
        extra = {c: min(int(shares[c]), spare[c]) for c in spare}
        given = sum(extra.values())
        if given == 0:
            # Hand out the leftovers by largest fractional share; ties by name for determinism.
            order = sorted(spare, key=lambda c: (-(shares[c] - int(shares[c])), -counts[c], c))
            for c in order[:remaining]:
                extra[c] += 1
            given = sum(extra.values())
        for c, k in extra.items():
            alloc[c] += k
        remaining -= given
    return alloc


def stratified_sample_indices(
    categories: Sequence[str], n: int | None, seed: int = 42
) -> list[int]:
    """Indices of a seeded sample of ``n`` rows, stratified by category.

    Every category present gets at least one row when ``n`` >= the number of categories;
    the rest is proportional to each category's share. Deterministic for a given input order
    and seed, on any machine (only `random.Random` with sorted keys is used). The result is
    shuffled (with the same seed) so categories are interleaved for training.
    """
    by_category: dict[str, list[int]] = defaultdict(list)
    for index, category in enumerate(categories):
        by_category[category].append(index)
    total = len(categories)
    rng = random.Random(seed)
    if n is None or n >= total:
        chosen = list(range(total))
        rng.shuffle(chosen)
        return chosen
    if n <= 0:
        return []
    counts = {c: len(v) for c, v in sorted(by_category.items())}
    floor = {c: (1 if n >= len(counts) else 0) for c in counts}
    alloc = _largest_remainder(counts, n, floor)
    chosen = []
    for category in sorted(counts):
        pool = list(by_category[category])
        rng.shuffle(pool)
        chosen.extend(pool[: alloc[category]])
    rng.shuffle(chosen)
    return chosen


def stratified_split(
    categories: Sequence[str], eval_fraction: float, seed: int = 42, max_eval: int | None = None
) -> tuple[list[int], list[int]]:
    """Split positions into (train, eval), holding out ``eval_fraction`` of the rows.

    The held-out count, at most ``max_eval``, is shared among categories in proportion to
    their size (each category with two or more rows gets at least one when the count allows;
    every category keeps at least one row in train). Deterministic for a given seed.
    """
    if not 0 <= eval_fraction < 1:
        raise UserFacingError(f"--eval-fraction must be in [0, 1), got {eval_fraction}")
    by_category: dict[str, list[int]] = defaultdict(list)
    for index, category in enumerate(categories):
        by_category[category].append(index)
    spare = {c: len(pool) - 1 for c, pool in sorted(by_category.items()) if len(pool) > 1}
    wanted = round(len(categories) * eval_fraction) if eval_fraction > 0 else 0
    if eval_fraction > 0 and spare:
        wanted = max(wanted, 1)
    if max_eval is not None:
        wanted = min(wanted, max_eval)
    wanted = min(wanted, sum(spare.values()))
    floor = {c: (1 if wanted >= len(spare) else 0) for c in spare}
    alloc = _largest_remainder(spare, wanted, floor) if wanted else {}
    rng = random.Random(seed + 1)
    train: list[int] = []
    evaluation: list[int] = []
    for category in sorted(by_category):
        pool = by_category[category]
        rng.shuffle(pool)
        k = alloc.get(category, 0)
        evaluation.extend(pool[:k])
        train.extend(pool[k:])
    train.sort()
    evaluation.sort()
    return train, evaluation
