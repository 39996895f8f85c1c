"""The bundled sample (resources/sample/*.jsonl): raw Strandset format, and real Rust.

Fragment assembly used here (the evaluator implements the same rules):

- *item* answers (every top-level piece is a fn/struct/enum/impl/trait/use/mod/const/...):
  ``context + "\\n" + answer``;
  context items the answer redefines (same name) are dropped first;
- *method* answers (``fn name(&self, ...)`` outside an impl):
  ``context + "\\nimpl Type {\\n" + answer + "\\n}"``, Type = first struct/enum of the context;
- *statement* answers: ``context + "\\nfn __snippet() {\\n" + answer + "\\n}"``;
- code_completion: ``prefix + completion + suffix``;
- test_generation: ``context + "\\n" + code_to_test + "\\n#[cfg(test)]\\nmod tests {\\n    use
  super::*;\\n" + test_context + tests + "\\n}"``, built with ``--test`` and run.

Rows whose code uses external crates (found by the evaluator's dependency inference) are
built against the offline crate environment (Debian's librust-*-dev crates, see
``crate_env.py``) with ``--extern``; without it those units are skipped, with the reason.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import crate_env
import pytest

from qwen2_rust import format_for_sft
from qwen2_rust.evaluation.crates import infer_dependencies
from qwen2_rust.format_utils import is_absent
from qwen2_rust.tasks import CATEGORIES, PLACEHOLDER, TASKS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "src" / "qwen2_rust" / "resources" / "sample"
BUILDER = ROOT / "scripts" / "build_sample.py"
RAW_KEYS = ["crate_name", "input_data", "output_data", "task_category", "test"]
CODE_INPUTS = ("code", "code_before", "buggy_code", "code_to_test")
RUSTC = shutil.which("rustc")
needs_rustc = pytest.mark.skipif(RUSTC is None, reason="rustc is not on PATH")

# ---------------------------------------------------------------------------- assembly

_QUAL = r"(?:pub(?:\s*\([^)]*\))?\s+)?(?:(?:const|async|unsafe|extern\s+\"[^\"]*\")\s+)*"
_ITEM = re.compile(
    rf"^{_QUAL}(?:fn|struct|enum|union|impl|trait|use|mod|const|static|type|extern|macro_rules!)\b"
)
_NAMED = re.compile(rf"^{_QUAL}(?:fn|struct|enum|union|trait|type|const|static|mod)\s+(\w+)")
_SELF_FN = re.compile(
    rf"^{_QUAL}fn\s+\w+\s*(?:<[^(]*>)?\s*\(\s*(?:&\s*(?:'\w+\s+)?)?(?:mut\s+)?self\b"
)
_TYPE_DECL = re.compile(r"^(?:pub(?:\s*\([^)]*\))?\s+)?(?:struct|enum)\s+(\w+)", re.MULTILINE)
_STRINGS = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])'")


def _is_trivia(line: str) -> bool:
    s = line.strip()
    return not s or s.startswith(("//", "#[", "#![", "/*", "*"))


def _significant(code: str) -> str:
    """The code from its first line that is not blank, a comment or an attribute."""
    lines = code.splitlines()
    for i, line in enumerate(lines):
        if not _is_trivia(line):
            return "\n".join(lines[i:]).strip()
    return ""


def split_items(src: str) -> list[str]:
    """Top-level items of ``src`` (leading comments/attributes included), by brace depth."""
    items: list[str] = []
    buf: list[str] = []
    depth = 0
    for line in src.splitlines():
        buf.append(line)
        clean = _STRINGS.sub('""', line).split("//", 1)[0]
        depth += clean.count("{") - clean.count("}")
        if depth == 0 and clean.strip().endswith(("}", ";")) and _significant("\n".join(buf)):
            items.append("\n".join(buf))
            buf = []
    if any(line.strip() for line in buf):
        items.append("\n".join(buf))
    return items


def fragment_shape(code: str) -> str:
    """'method' (first item is a fn taking self), 'item' (every top-level piece is an item)
    or 'statements'."""
    heads = [h for h in map(_significant, split_items(code)) if h]
    if heads and _SELF_FN.match(heads[0]):
        return "method"
    return "item" if heads and all(_ITEM.match(h) for h in heads) else "statements"


def _item_key(item: str) -> str | None:
    head = _significant(item)
    named = _NAMED.match(head)
    if named:
        return named.group(1)
    if head.startswith(("impl", "unsafe impl")):
        return " ".join(head.split("{", 1)[0].split())
    return None


def drop_redefined(context: str, answer: str) -> tuple[str, bool]:
    """``context`` without the items ``answer`` redefines; and whether any was dropped."""
    defined = {k for k in map(_item_key, split_items(answer)) if k}
    kept = [item for item in split_items(context) if _item_key(item) not in defined]
    return "\n".join(kept), len(kept) != len(split_items(context))


def assemble(context: str, code: str) -> str:
    """One compilable unit for an answer (or input) fragment placed after its context."""
    shape = fragment_shape(code)
    if shape == "statements":
        return f"{context}\nfn __snippet() {{\n{code}\n}}"
    if shape == "method":
        decl = _TYPE_DECL.search(context)
        assert decl, "a method fragment needs a struct/enum in its context"
        return f"{context}\nimpl {decl.group(1)} {{\n{code}\n}}"
    return f"{drop_redefined(context, code)[0]}\n{code}"


def with_tests(context: str, code: str, tests: list[str], test_context: str = "") -> str:
    body = (test_context + "\n" if test_context else "") + "\n".join(tests)
    return f"{context}\n{code}\n#[cfg(test)]\nmod tests {{\n    use super::*;\n{body}\n}}"


# ---------------------------------------------------------------------------- data


def load(split: str) -> list[dict[str, Any]]:
    lines = (SAMPLE_DIR / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def parsed(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return ast.literal_eval(row["input_data"]), json.loads(row["output_data"])


def _opt(inputs: dict[str, Any], name: str) -> str:
    value = inputs.get(name)
    return "" if is_absent(value) else value


ROWS = {split: load(split) for split in ("train", "test")}
ALL_ROWS = [(split, i, row) for split, rows in ROWS.items() for i, row in enumerate(rows)]


@dataclass(frozen=True)
class Unit:
    label: str
    source: str
    run: bool = False
    crates: bool = False  # needs the crate environment


def row_crates(row: dict[str, Any]) -> list[str]:
    """External crates a row's code uses (not counting its own crate_name)."""
    inputs, outputs = parsed(row)
    texts = [v for v in inputs.values() if isinstance(v, str)]
    for value in outputs.values():
        texts += value if isinstance(value, list) else [value]
    return infer_dependencies("", *texts, row["test"])


def units_for(label: str, row: dict[str, Any]) -> list[Unit]:
    """Compile units for the row's code answer, code inputs, test cases and `test` field."""
    inputs, outputs = parsed(row)
    ctx = _opt(inputs, "code_context")
    if row_crates(row):
        return [
            Unit(u.label, u.source, u.run, crates=True)
            for u in units_for_std(label, row, inputs, outputs, ctx)
        ]
    return units_for_std(label, row, inputs, outputs, ctx)


def units_for_std(
    label: str, row: dict[str, Any], inputs: dict[str, Any], outputs: dict[str, Any], ctx: str
) -> list[Unit]:
    category = row["task_category"]
    spec = TASKS[category]
    units: list[Unit] = []
    for name in CODE_INPUTS:
        if name in inputs:
            code = inputs[name]
            if spec.placeholder_input == name:
                code = code.replace(PLACEHOLDER, next(iter(outputs.values())))
            units.append(Unit(f"{label} input {name}", assemble(ctx, code)))
    if category == "code_completion":
        whole = inputs["prefix"] + outputs["completion"] + inputs["suffix"]
        units.append(Unit(f"{label} completion", whole))
    elif category == "test_generation":
        src = with_tests(
            ctx, inputs["code_to_test"], outputs["test_cases"], _opt(inputs, "test_context")
        )
        units.append(Unit(f"{label} test_cases", src, run=True))
    elif category == "api_usage_prediction":
        code = inputs["code"] + "\n" + outputs["next_api_call"]
        units.append(Unit(f"{label} code+next_api_call", assemble(ctx, code)))
    elif category == "docstring_generation":
        code = outputs["docstring"] + "\n" + inputs["code"]
        units.append(Unit(f"{label} docstring+code", assemble(ctx, code)))
    elif spec.code_output:
        answer = assemble(ctx, outputs[spec.code_output])
        units.append(Unit(f"{label} {spec.code_output}", answer))
        if row["test"]:
            units.append(Unit(f"{label} test field", answer + "\n" + row["test"], run=True))
    return units


def compile_unit(unit: Unit, workdir: Path, extern: list[str] | None = None) -> str | None:
    """None when the unit builds (and its tests pass); else the compiler/test output."""
    assert RUSTC is not None
    workdir.mkdir(parents=True)
    src = workdir / "unit.rs"
    src.write_text(unit.source, encoding="utf-8")
    base = [RUSTC, "--edition", "2021", "-A", "warnings", "--crate-name", "unit", *(extern or [])]
    if unit.run:
        cmd = [*base, "--test", "-o", str(workdir / "unit"), str(src)]
    else:
        cmd = [*base, "--crate-type", "lib", "--emit=metadata", "-o", str(workdir / "u.rmeta")]
        cmd.append(str(src))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        return done.stderr
    if unit.run:
        ran = subprocess.run(
            [str(workdir / "unit"), "-q"], capture_output=True, text=True, timeout=60
        )
        if ran.returncode != 0:
            return ran.stdout + ran.stderr
    return None


@pytest.fixture(scope="module")
def build_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bool, str | None]]:
    """Every std-only unit of both splits, built in parallel: label -> (test run, failure)."""
    base = tmp_path_factory.mktemp("rust_units")
    units = [u for split, i, row in ALL_ROWS for u in units_for(f"{split}[{i}]", row)]
    return _build_all([u for u in units if not u.crates], base)


@pytest.fixture(scope="module")
def crate_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bool, str | None]]:
    """The units of the rows that use real crates, built with --extern against them."""
    reason = crate_env.skip_reason()
    if reason:
        pytest.skip(reason)
    extern = crate_env.environment().rustc_args()
    base = tmp_path_factory.mktemp("crate_units")
    units = [u for split, i, row in ALL_ROWS for u in units_for(f"{split}[{i}]", row)]
    return _build_all([u for u in units if u.crates], base, extern)


def _build_all(
    units: list[Unit], base: Path, extern: list[str] | None = None
) -> dict[str, tuple[bool, str | None]]:
    def work(pair: tuple[int, Unit]) -> str | None:
        return compile_unit(pair[1], base / f"u{pair[0]}", extern)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        outcomes = list(pool.map(work, enumerate(units)))
    return {u.label: (u.run, out) for u, out in zip(units, outcomes, strict=True)}


def _failures(results: dict[str, tuple[bool, str | None]], run: bool) -> str:
    failed = [
        f"--- {label}\n{out[-3000:]}"
        for label, (is_run, out) in results.items()
        if is_run == run and out is not None
    ]
    return f"{len(failed)} unit(s) failed:\n" + "\n".join(failed) if failed else ""


# ---------------------------------------------------------------------------- tests


def test_row_counts_per_category() -> None:
    train = Counter(r["task_category"] for r in ROWS["train"])
    test = Counter(r["task_category"] for r in ROWS["test"])
    assert set(train) == set(CATEGORIES) == set(test)
    assert all(train[c] >= 5 for c in CATEGORIES), train
    assert all(test[c] == 2 for c in CATEGORIES), test
    assert len(ROWS["test"]) == 30
    assert len(ROWS["train"]) >= 75


@pytest.mark.parametrize(
    ("split", "index", "row"),
    [pytest.param(*r, id=f"{r[0]}[{r[1]}]-{r[2]['task_category']}") for r in ALL_ROWS],
)
def test_raw_format(split: str, index: int, row: dict[str, Any]) -> None:
    assert list(row) == RAW_KEYS
    assert all(isinstance(row[k], str) for k in RAW_KEYS)
    assert re.fullmatch(r"[a-z][a-z0-9_-]*", row["crate_name"])
    spec = TASKS[row["task_category"]]
    raw_in = row["input_data"]
    if "'" in raw_in:
        with pytest.raises(ValueError):
            json.loads(raw_in)
    inputs = ast.literal_eval(raw_in)
    assert isinstance(inputs, dict)
    assert raw_in == repr(inputs)
    outputs = json.loads(row["output_data"])
    assert isinstance(outputs, dict)
    assert set(spec.required_inputs) <= set(inputs) <= {f.name for f in spec.inputs}
    assert list(outputs) == list(spec.output_names)
    if spec.placeholder_input:
        assert PLACEHOLDER in inputs[spec.placeholder_input]
        assert re.fullmatch(r"[A-Za-z_]\w*", next(iter(outputs.values())))
    if row["task_category"] == "test_generation":
        assert outputs["test_cases"] and all("#[test]" in t for t in outputs["test_cases"])
    messages = format_for_sft(row)["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert all(m["content"].strip() for m in messages)


def test_absent_context_variants_present() -> None:
    kinds: set[str] = set()
    for _, _, row in ALL_ROWS:
        inputs, _ = parsed(row)
        for name in ("code_context", "test_context"):
            if name not in inputs and name in {f.name for f in TASKS[row["task_category"]].inputs}:
                kinds.add("missing")
            elif name in inputs and inputs[name] is None:
                kinds.add("None")
            elif inputs.get(name) == "None":
                kinds.add("'None'")
    assert kinds == {"missing", "None", "'None'"}


def test_splits_do_not_share_inputs() -> None:
    train = {r["input_data"] for r in ROWS["train"]}
    assert not train & {r["input_data"] for r in ROWS["test"]}
    for rows in ROWS.values():
        assert len({r["input_data"] for r in rows}) == len(rows)


def test_fragment_shapes_covered() -> None:
    shapes: Counter[str] = Counter()
    for _, _, row in ALL_ROWS:
        spec = TASKS[row["task_category"]]
        if not spec.code_output or row["task_category"] == "code_completion":
            continue
        inputs, outputs = parsed(row)
        answer = outputs[spec.code_output]
        shape = fragment_shape(answer)
        shapes[shape] += 1
        if shape == "statements" and answer.lstrip().startswith("//"):
            shapes["commented statements"] += 1
        if shape == "item" and drop_redefined(_opt(inputs, "code_context"), answer)[1]:
            shapes["redefined"] += 1
    assert shapes["method"] >= 3 and shapes["redefined"] >= 2, shapes
    assert shapes["statements"] >= 3 and shapes["commented statements"] >= 1, shapes
    assert sum(bool(r["test"]) for _, _, r in ALL_ROWS) >= 4


def test_builder_reproduces_files() -> None:
    spec = importlib.util.spec_from_file_location("build_sample", BUILDER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for split in ("train", "test"):
        expected = (SAMPLE_DIR / f"{split}.jsonl").read_text(encoding="utf-8")
        assert module.render(split) == expected


@needs_rustc
def test_code_compiles(build_results: dict[str, tuple[bool, str | None]]) -> None:
    failures = _failures(build_results, run=False)
    assert not failures, failures


@needs_rustc
def test_tests_pass(build_results: dict[str, tuple[bool, str | None]]) -> None:
    failures = _failures(build_results, run=True)
    assert not failures, failures


def test_crate_rows_cover_the_common_crates() -> None:
    used = {c for _, _, row in ALL_ROWS for c in row_crates(row)}
    assert {"tokio", "futures", "serde_json", "bytes", "async_stream"} <= used
    crate_rows = [(split, row) for split, _, row in ALL_ROWS if row_crates(row)]
    assert len(crate_rows) >= 4 and all(split == "train" for split, _ in crate_rows)


@needs_rustc
@pytest.mark.slow
def test_crate_rows_compile_against_real_crates(
    crate_results: dict[str, tuple[bool, str | None]],
) -> None:
    assert crate_results and any(run for run, _ in crate_results.values())
    failures = _failures(crate_results, run=False) + _failures(crate_results, run=True)
    assert not failures, failures
