"""Read a run's Trackio metrics (local store or a Trackio Space) into plain JSON, list runs, plot.

The JSON shape (one file per run, steps ascending within each metric)::

    {"run": "sft-1000-...", "run_id": "...", "project": "qwen2-rust",
     "source": "local:/path/to/trackio" | "space:user/space",
     "config": {...},
     "metrics": {"train/loss": [{"step": 0, "value": 2.1, "timestamp": "..."}, ...], ...}}

`step` is Trackio's step. Runs logged through transformers' `TrackioCallback` call
`trackio.log` without a step, so Trackio counts log calls; the trainer's own step is the
`train/global_step` metric, which `plot_run` uses for its x axis when present.
Non-finite floats are written the way Trackio stores them: "NaN", "Infinity", "-Infinity".

Reading goes through Trackio's own API: `SQLiteStorage` for the local store (no server, no
network) and `RemoteClient` for a Space. Library code raises, never exits or prints:
`RunNotFoundError` / `ProjectNotFoundError` (exit 1) and `UserFacingError` (exit 2).
"""

from __future__ import annotations

import contextlib
import difflib
import math
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from qwen2_rust.errors import UserFacingError
from qwen2_rust.io_utils import atomic_target
from qwen2_rust.log import get_logger

logger = get_logger(__name__)

DEFAULT_PROJECT = "qwen2-rust"
DEFAULT_OUTPUT_DIR = Path(".data")
SPACE_CONNECT_TIMEOUT_S = 25.0
SPACE_REQUEST_TIMEOUT_S = 20.0

_TOKEN_RE = re.compile(r"hf_[A-Za-z0-9]{8,}")
_TRUE = {"1", "on", "yes", "true"}


class MetricsLookupError(LookupError):
    """A project or run that is not there: the CLI prints the message and exits 1."""

    exit_code = 1


class ProjectNotFoundError(MetricsLookupError):
    """The project has no runs where we looked (or the store is empty)."""

    def __init__(self, message: str, where: str, available: list[str]) -> None:
        super().__init__(message)
        self.where = where
        self.available = available


class RunNotFoundError(MetricsLookupError):
    """The project exists but has no run of that name."""

    def __init__(self, message: str, run: str, suggestions: list[str]) -> None:
        super().__init__(message)
        self.run = run
        self.suggestions = suggestions


@dataclass(frozen=True)
class RunRecord:
    """One run as Trackio lists it; names may repeat, `run_id` does not."""

    name: str
    run_id: str | None
    created: str | None


@dataclass(frozen=True)
class RunSummary:
    """A row of `--list`."""

    name: str
    created: str | None
    steps: int | None
    last_train_loss: float | str | None
    last_eval_loss: float | str | None


class MetricsSource(Protocol):
    """Where runs are read from: the local store or a Space."""

    label: str  # e.g. "local:/root/.cache/huggingface/trackio" or "space:user/space"
    where: str  # human wording for error messages

    def projects(self) -> list[str]: ...

    def runs(self, project: str) -> list[RunRecord]: ...

    def metrics(self, project: str, run: RunRecord) -> dict[str, list[dict[str, Any]]]: ...

    def config(self, project: str, run: RunRecord) -> dict[str, Any]: ...


# --------------------------------------------------------------------------- local store


def default_store_dir() -> Path:
    """`TRACKIO_DIR`, else Trackio's default (`$HF_HOME/trackio`), resolved now."""
    env = os.environ.get("TRACKIO_DIR")
    if env:
        return Path(env).expanduser()
    from huggingface_hub.constants import HF_HOME

    return Path(HF_HOME) / "trackio"


_STORE_LOCK = threading.Lock()


@contextlib.contextmanager
def _trackio_storage(store_dir: Path) -> Iterator[Any]:
    """Trackio's `SQLiteStorage`, reading from `store_dir`.

    Trackio binds its directory once, at import (`trackio.sqlite_storage.TRACKIO_DIR`); we
    point it at `store_dir` for the duration of a read so that `TRACKIO_DIR` set later in the
    process (tests, notebooks) is honoured. The reading functions we call neither start a
    server nor touch the network, and do not create a database that is missing.
    """
    from trackio import sqlite_storage

    with _STORE_LOCK:
        previous = sqlite_storage.TRACKIO_DIR
        sqlite_storage.TRACKIO_DIR = store_dir
        try:
            yield sqlite_storage.SQLiteStorage
        finally:
            sqlite_storage.TRACKIO_DIR = previous


@dataclass
class LocalStore:
    """The Trackio SQLite store on this machine (one `<project>.db` per project)."""

    store_dir: Path

    @property
    def label(self) -> str:
        return f"local:{self.store_dir}"

    @property
    def where(self) -> str:
        return f"the local Trackio store {self.store_dir}"

    def projects(self) -> list[str]:
        with _trackio_storage(self.store_dir) as storage:
            return list(storage.get_projects())

    def runs(self, project: str) -> list[RunRecord]:
        with _trackio_storage(self.store_dir) as storage:
            if not storage.get_project_db_path(project).exists():
                return []
            return [_record(r) for r in storage.get_run_records(project)]

    def metrics(self, project: str, run: RunRecord) -> dict[str, list[dict[str, Any]]]:
        with _trackio_storage(self.store_dir) as storage:
            return storage.get_snapshot(project, run.name, run_id=run.run_id)

    def config(self, project: str, run: RunRecord) -> dict[str, Any]:
        with _trackio_storage(self.store_dir) as storage:
            return storage.get_run_config(project, run.name, run_id=run.run_id) or {}


# --------------------------------------------------------------------------- Space


def _is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def hub_offline() -> bool:
    """Offline mode as huggingface_hub understands it, read now from the environment too."""
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")
    return _is_true(env) or bool(constants.HF_HUB_OFFLINE and env is None)


def _secrets() -> list[str]:
    values = [os.environ.get(k) for k in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")]
    with contextlib.suppress(Exception):
        from huggingface_hub import get_token

        values.append(get_token())
    return [v for v in values if v]


def scrub(text: str) -> str:
    """One line, with any Hugging Face token replaced by `***`."""
    for secret in _secrets():
        text = text.replace(secret, "***")
    text = _TOKEN_RE.sub("hf_***", text)
    return " ".join(text.split())


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    # RemoteClient's ConnectionError puts the cause on its second line: keep both.
    text = "; ".join(lines[:2]) if lines else type(exc).__name__
    return scrub(text)


def _is_hub_space(space: str) -> bool:
    if space.startswith(("http://", "https://")):
        from urllib.parse import urlparse

        return (urlparse(space).hostname or "").lower().endswith(".hf.space")
    return True


def _run_with_deadline(fn: Callable[[], Any], seconds: float, what: str) -> Any:
    """Run `fn` in a daemon thread; give up after `seconds` (the thread is left behind)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="trackio-space", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise UserFacingError(f"{what}: no answer within {seconds:.0f} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


class SpaceSource:
    """A Trackio Space (or self-hosted Trackio server URL), read with `trackio.RemoteClient`."""

    def __init__(self, space: str, client: Any) -> None:
        self.space = space
        self._client = client

    @classmethod
    def connect(cls, space: str, timeout_s: float = SPACE_CONNECT_TIMEOUT_S) -> SpaceSource:
        if "/" not in space:
            raise UserFacingError(
                f"--space {space!r} is not a Space id: use USER/SPACE or an https:// URL"
            )
        if _is_hub_space(space) and hub_offline():
            raise UserFacingError(
                f"cannot read Trackio Space {space}: offline mode is on (HF_HUB_OFFLINE=1); "
                "unset it, or drop --space to read the local store"
            )
        from huggingface_hub import get_token
        from trackio.remote_client import RemoteClient

        token = get_token() if _is_hub_space(space) else None
        httpx_kwargs = {"timeout": SPACE_REQUEST_TIMEOUT_S}
        what = f"cannot reach Trackio Space {space}"
        logger.debug("connecting to Trackio Space %s", space)
        try:
            client = _run_with_deadline(
                lambda: RemoteClient(space, hf_token=token, httpx_kwargs=httpx_kwargs),
                timeout_s,
                what,
            )
        except UserFacingError:
            raise
        except Exception as exc:
            raise UserFacingError(f"{what}: {_first_line(exc)}") from None
        return cls(space, client)

    @property
    def label(self) -> str:
        return f"space:{self.space}"

    @property
    def where(self) -> str:
        return f"the Trackio Space {self.space}"

    def _call(self, api_name: str, **kwargs: Any) -> Any:
        try:
            return self._client.predict(api_name=api_name, **kwargs)
        except Exception as exc:
            raise UserFacingError(
                f"Trackio Space {self.space}: {api_name} failed: {_first_line(exc)}"
            ) from None

    def projects(self) -> list[str]:
        return list(self._call("/get_all_projects") or [])

    def runs(self, project: str) -> list[RunRecord]:
        records = self._call("/get_runs_for_project", project=project) or []
        return [_record(r if isinstance(r, dict) else {"name": r}) for r in records]

    def metrics(self, project: str, run: RunRecord) -> dict[str, list[dict[str, Any]]]:
        try:
            return self._client.predict(
                project=project, run=run.name, run_id=run.run_id, api_name="/get_snapshot"
            )
        except RuntimeError as exc:  # a Space deployed before /get_snapshot existed
            if "does not support" not in str(exc):
                raise UserFacingError(
                    f"Trackio Space {self.space}: /get_snapshot failed: {_first_line(exc)}"
                ) from None
        except Exception as exc:
            raise UserFacingError(
                f"Trackio Space {self.space}: /get_snapshot failed: {_first_line(exc)}"
            ) from None
        logger.warning(
            "Space %s has no /get_snapshot; using /get_logs (max 3000 points)", self.space
        )
        logs = self._call("/get_logs", project=project, run=run.name, run_id=run.run_id) or []
        return _logs_to_series(logs)

    def config(self, project: str, run: RunRecord) -> dict[str, Any]:
        summary = self._call("/get_run_summary", project=project, run=run.name, run_id=run.run_id)
        return (summary or {}).get("config") or {}


def open_source(space: str | None = None, store_dir: Path | None = None) -> MetricsSource:
    """The local store (default) or a Space."""
    if space:
        return SpaceSource.connect(space)
    return LocalStore((store_dir or default_store_dir()).expanduser().resolve())


# --------------------------------------------------------------------------- reading


def _record(raw: dict[str, Any]) -> RunRecord:
    run_id = raw.get("id")
    return RunRecord(
        name=str(raw.get("name")),
        run_id=str(run_id) if run_id is not None else None,
        created=raw.get("created_at"),
    )


def _logs_to_series(logs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    series: dict[str, list[dict[str, Any]]] = {}
    for row in logs:
        for key, value in row.items():
            if key in ("step", "timestamp"):
                continue
            series.setdefault(key, []).append(
                {"step": row.get("step"), "value": value, "timestamp": row.get("timestamp")}
            )
    return series


def json_safe(value: Any) -> Any:
    """Non-finite floats as Trackio stores them ("NaN", "Infinity"); numpy scalars as Python."""
    if hasattr(value, "item") and not isinstance(value, (dict, list, tuple, str)):
        with contextlib.suppress(Exception):
            value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _step_key(point: dict[str, Any]) -> tuple[int, str]:
    step = point.get("step")
    return (int(step) if step is not None else -1, str(point.get("timestamp") or ""))


def normalize_series(
    raw: dict[str, list[dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]]:
    """Every metric's points as {step, value, timestamp}, steps ascending, keys sorted."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(raw):
        points = [
            {
                "step": int(p["step"]) if p.get("step") is not None else None,
                "value": json_safe(p.get("value")),
                "timestamp": p.get("timestamp"),
            }
            for p in raw[name]
        ]
        out[name] = sorted(points, key=_step_key)
    return out


def closest_names(name: str, candidates: list[str], n: int = 3) -> list[str]:
    """Up to `n` candidates closest to `name` (difflib), then substring matches."""
    close = difflib.get_close_matches(name, candidates, n=n, cutoff=0.4)
    for candidate in candidates:
        if len(close) >= n:
            break
        if candidate not in close and (name in candidate or candidate in name):
            close.append(candidate)
    return close


def _project_runs(source: MetricsSource, project: str) -> list[RunRecord]:
    runs = source.runs(project)
    if runs:
        return runs
    available = [p for p in source.projects() if p != project]
    if available:
        hint = "projects there: " + ", ".join(available[:10])
        close = closest_names(project, available)
        if close:
            hint = f"did you mean {', '.join(close)}? ({hint})"
    else:
        hint = "it has no Trackio projects at all"
    raise ProjectNotFoundError(
        f"no runs for project {project!r} in {source.where}; {hint}",
        where=source.where,
        available=available,
    )


def find_run(source: MetricsSource, project: str, run: str) -> RunRecord:
    """The latest run named `run` (Trackio's own rule when names repeat)."""
    runs = _project_runs(source, project)
    matches = [r for r in runs if r.name == run]
    if matches:
        return max(matches, key=lambda r: r.created or "")
    names = list(dict.fromkeys(r.name for r in runs))
    suggestions = closest_names(run, names)
    if suggestions:
        hint = "closest: " + ", ".join(suggestions)
    else:
        hint = "runs there: " + ", ".join(names[-5:]) + (" ..." if len(names) > 5 else "")
    raise RunNotFoundError(
        f"no run {run!r} in project {project!r} ({source.where}); {hint}",
        run=run,
        suggestions=suggestions,
    )


def fetch_run(source: MetricsSource, project: str, run: str) -> dict[str, Any]:
    """The run as the JSON-shaped dict described in the module docstring."""
    record = find_run(source, project, run)
    logger.debug("reading run %s (%s) from %s", record.name, record.run_id, source.label)
    return {
        "run": record.name,
        "run_id": record.run_id,
        "project": project,
        "source": source.label,
        "config": json_safe(source.config(project, record)),
        "metrics": normalize_series(source.metrics(project, record)),
    }


def _last_value(points: list[dict[str, Any]] | None) -> Any:
    return points[-1]["value"] if points else None


def last_step(metrics: dict[str, list[dict[str, Any]]]) -> int | None:
    """The trainer's last global step if logged, else the last Trackio step."""
    global_steps = [
        p["value"]
        for p in metrics.get("train/global_step", [])
        if isinstance(p["value"], (int, float))
    ]
    if global_steps:
        return int(max(global_steps))
    steps = [p["step"] for points in metrics.values() for p in points if p["step"] is not None]
    return max(steps) if steps else None


def list_runs(source: MetricsSource, project: str) -> list[RunSummary]:
    """Every run of the project, oldest first."""
    summaries = []
    for record in _project_runs(source, project):
        metrics = normalize_series(source.metrics(project, record))
        summaries.append(
            RunSummary(
                name=record.name,
                created=record.created,
                steps=last_step(metrics),
                last_train_loss=_last_value(metrics.get("train/loss")),
                last_eval_loss=_last_value(metrics.get("eval/loss")),
            )
        )
    return summaries


# --------------------------------------------------------------------------- writing


def default_output_path(run: str, suffix: str, out_dir: Path = DEFAULT_OUTPUT_DIR) -> Path:
    """`.data/<run>.<suffix>`, with path separators in the run name made safe."""
    safe = re.sub(r"[\\/:]+", "_", run).strip(". ") or "run"
    return out_dir / f"{safe}{suffix}"


def write_json_atomic(data: Any, path: Path) -> Path:
    """Write `data` as JSON; a failure at any point leaves `path` as it was, and no temp file."""
    import json

    with atomic_target(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, allow_nan=False)
        fh.write("\n")
    return path


# --------------------------------------------------------------------------- plotting

_PANELS: list[tuple[str, list[str], str]] = [
    ("Loss", ["train/loss", "eval/loss"], "loss"),
    ("Learning rate", ["train/learning_rate"], "learning rate"),
    ("Gradient norm", ["train/grad_norm"], "grad norm"),
    ("Token accuracy", ["train/mean_token_accuracy", "eval/mean_token_accuracy"], "accuracy"),
]


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if value in ("NaN", "Infinity", "-Infinity"):
        return float(value.replace("Infinity", "inf"))
    return None


def _x_mapping(metrics: dict[str, list[dict[str, Any]]]) -> tuple[dict[int, float], str]:
    """Trackio step -> trainer global step, when the run logged `train/global_step`."""
    mapping = {
        p["step"]: v
        for p in metrics.get("train/global_step", [])
        if (v := _as_float(p["value"])) is not None and p["step"] is not None
    }
    return (mapping, "trainer global step") if mapping else ({}, "Trackio step")


def plot_run(data: dict[str, Any], path: Path) -> Path:
    """A 2x2 PNG: loss (train, eval), learning rate, grad norm, token accuracy, against step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics: dict[str, list[dict[str, Any]]] = data["metrics"]
    mapping, x_label = _x_mapping(metrics)
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), constrained_layout=True)
    try:
        for ax, (title, keys, y_label) in zip(axes.flat, _PANELS, strict=True):
            drawn = False
            for key in keys:
                xy = [
                    (mapping.get(p["step"], p["step"]), y)
                    for p in metrics.get(key, [])
                    if p["step"] is not None and (y := _as_float(p["value"])) is not None
                ]
                if not xy:
                    continue
                xs, ys = zip(*sorted(xy), strict=True)
                ax.plot(xs, ys, marker="o" if len(xs) <= 30 else None, markersize=3, label=key)
                drawn = True
            ax.set_title(title)
            ax.set_xlabel(x_label)
            ax.set_ylabel(y_label)
            ax.grid(True, alpha=0.3)
            if drawn:
                ax.legend(loc="best", fontsize="small")
                if title == "Learning rate":
                    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
            else:
                ax.text(
                    0.5,
                    0.5,
                    "not logged",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    color="gray",
                )
        fig.suptitle(f"{data['run']}  ({data['project']}, {data['source']})", fontsize=12)
        with atomic_target(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)
    return path
