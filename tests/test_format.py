"""Formatting: golden conversations for every category, parse_json_field and format_for_sft errors,
and the answer layout round trip (`parse_answer` of `build_answer`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qwen2_rust import format_for_sft, parse_json_field
from qwen2_rust.errors import StrandsetFormatError
from qwen2_rust.format_utils import build_answer, parse_answer, prompt_messages
from qwen2_rust.tasks import CATEGORIES, SYSTEM_PROMPT, TASKS

SAMPLE_TRAIN = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "qwen2_rust"
    / "resources"
    / "sample"
    / "train.jsonl"
)

# One bundled-sample row per category (category, crate_name), with its exact user and assistant
# text.
# Layout (format_utils docstring): instruction, then "Label:\n" + value per present input, Rust
# fenced, sections separated by one blank line; answer: Rust fenced, a text field after code
# as "Label: text", a lone text field as-is, test_cases as one ```rust block.
GOLDEN: dict[str, tuple[str, str, str]] = {
    "code_generation": (
        "histo",
        (
            "Write Rust code for the following task.\n"
            "\n"
            "Title:\n"
            "Rank words by frequency\n"
            "\n"
            "Description:\n"
            "Count how often each whitespace-separated word of TEXT occurs and build a vector of (word, count) pairs sorted by descending count, ties broken alphabetically.\n"
            "\n"
            "Context:\n"
            "```rust\n"
            'const TEXT: &str = "the cat and the dog and the bird";\n'
            "```"
        ),
        (
            "```rust\n"
            "let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();\n"
            "for word in TEXT.split_whitespace() {\n"
            "    *counts.entry(word).or_insert(0) += 1;\n"
            "}\n"
            "let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();\n"
            "ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));\n"
            "```"
        ),
    ),
    "docstring_generation": (
        "rand_xorshift",
        (
            "Write a Rust doc comment (///) for the following code.\n"
            "\n"
            "Code:\n"
            "```rust\n"
            "pub fn xorshift32(state: &mut u32) -> u32 {\n"
            "    let mut x = *state;\n"
            "    x ^= x << 13;\n"
            "    x ^= x >> 17;\n"
            "    x ^= x << 5;\n"
            "    *state = x;\n"
            "    x\n"
            "}\n"
            "```"
        ),
        (
            "/// Advances a xorshift32 generator and returns the next pseudo-random value.\n"
            "///\n"
            "/// The new value is also stored back into `state`, so repeated calls produce a\n"
            "/// sequence. `state` must be non-zero: a zero state stays zero forever."
        ),
    ),
    "code_explanation": (
        "iter-demo",
        (
            "Explain what the following Rust code does.\n"
            "\n"
            "Code:\n"
            "```rust\n"
            "let squares_of_evens: Vec<u32> = (1..=20)\n"
            "    .filter(|n| n % 2 == 0)\n"
            "    .map(|n| n * n)\n"
            "    .collect();\n"
            "let total: u32 = squares_of_evens.iter().sum();\n"
            "```"
        ),
        (
            "The snippet builds a lazy iterator over the integers 1 to 20 inclusive, keeps only the even numbers with `filter`, squares each of them with `map`, and collects the results into a `Vec<u32>` (4, 16, 36, ..., 400). It then sums the vector with `iter().sum()`, giving the sum of the squares of the even numbers up to 20, which is 1540."
        ),
    ),
    "comment_generation": (
        "cli-args",
        (
            "Add helpful comments to the following Rust code. Return the commented code.\n"
            "\n"
            "Code:\n"
            "```rust\n"
            "let args: Vec<String> = std::env::args().skip(1).collect();\n"
            'let verbose = args.iter().any(|a| a == "-v" || a == "--verbose");\n'
            "let files: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();\n"
            "if files.is_empty() {\n"
            '    eprintln!("usage: tool [-v] FILE...");\n'
            "}\n"
            "```"
        ),
        (
            "```rust\n"
            "// Collect the command-line arguments, skipping the program name.\n"
            "let args: Vec<String> = std::env::args().skip(1).collect();\n"
            "// Verbose mode is enabled by either the short or the long flag.\n"
            'let verbose = args.iter().any(|a| a == "-v" || a == "--verbose");\n'
            "// Everything that does not look like a flag is treated as a file name.\n"
            "let files: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();\n"
            "// Without files there is nothing to do, so print a usage hint.\n"
            "if files.is_empty() {\n"
            '    eprintln!("usage: tool [-v] FILE...");\n'
            "}\n"
            "```"
        ),
    ),
    "code_summarization": (
        "roster",
        (
            "Summarize what the following Rust code does in one or two sentences.\n"
            "\n"
            "Code:\n"
            "```rust\n"
            'let mut people = vec![("Ada", 36), ("Linus", 28), ("Grace", 45)];\n'
            "people.sort_by_key(|&(_, age)| std::cmp::Reverse(age));\n"
            "let names: Vec<&str> = people.iter().map(|&(name, _)| name).collect();\n"
            "```"
        ),
        (
            "Sorts a list of (name, age) pairs from oldest to youngest and collects the names in that order."
        ),
    ),
    "function_naming": (
        "mathkit",
        (
            "Suggest a name for the function called `__placeholder__`. Answer with the name only.\n"
            "\n"
            "Code:\n"
            "```rust\n"
            "pub fn __placeholder__(n: u64) -> u64 {\n"
            "    if n <= 1 {\n"
            "        1\n"
            "    } else {\n"
            "        n * __placeholder__(n - 1)\n"
            "    }\n"
            "}\n"
            "```"
        ),
        ("factorial"),
    ),
    "variable_naming": (
        "csv-fields",
        (
            "Suggest a name for the variable called `__placeholder__`. Answer with the name only.\n"
            "\n"
            "Code:\n"
            "```rust\n"
            "let __placeholder__: Vec<&str> = LINE.split(',').map(str::trim).collect();\n"
            "let name = __placeholder__[0];\n"
            "```\n"
            "\n"
            "Context:\n"
            "```rust\n"
            'const LINE: &str = "widget, 4, 2.50";\n'
            "```"
        ),
        ("fields"),
    ),
    "code_review": (
        "csv-header",
        (
            "Review the following Rust code. Give the improved code, then your review comment.\n"
            "\n"
            "Code:\n"
            "```rust\n"
            "let mut header = String::new();\n"
            "for column in COLUMNS.iter() {\n"
            '    header = header + column + ",";\n'
            "}\n"
            "header.pop();\n"
            "```\n"
            "\n"
            "Context:\n"
            "```rust\n"
            'const COLUMNS: [&str; 3] = ["id", "name", "email"];\n'
            "```"
        ),
        (
            "```rust\n"
            'let header = COLUMNS.join(",");\n'
            "```\n"
            "\n"
            "Review: Building the header by appending a trailing comma and popping it afterwards is fragile and allocates repeatedly. `join` produces the same result in one call and makes `header` immutable."
        ),
    ),
    "code_completion": (
        "sumtools",
        (
            "Complete the Rust code between the prefix and the suffix. Answer with the missing code only.\n"
            "\n"
            "Prefix:\n"
            "```rust\n"
            "pub fn total(xs: &[i32]) -> i32 {\n"
            "    \n"
            "```\n"
            "\n"
            "Suffix:\n"
            "```rust\n"
            "    sum\n"
            "}\n"
            "```"
        ),
        ("```rust\nlet sum: i32 = xs.iter().sum();\n```"),
    ),
    "code_refactoring": (
        "thermo",
        (
            "Refactor the following Rust code. Give the refactored code, then the rationale.\n"
            "\n"
            "Code:\n"
            "```rust\n"
            "pub fn to_fahrenheit(&self) -> f64 {\n"
            "    let f = self.celsius * 9.0;\n"
            "    let f = f / 5.0;\n"
            "    let f = f + 32.0;\n"
            "    return f;\n"
            "}\n"
            "```\n"
            "\n"
            "Context:\n"
            "```rust\n"
            "pub struct Temperature {\n"
            "    celsius: f64,\n"
            "}\n"
            "```"
        ),
        (
            "```rust\n"
            "pub fn to_fahrenheit(&self) -> f64 {\n"
            "    self.celsius * 9.0 / 5.0 + 32.0\n"
            "}\n"
            "```\n"
            "\n"
            "Rationale: Shadowing `f` three times to build up a simple formula adds noise. Writing the conversion as one expression makes the formula recognisable at a glance, and the explicit `return` is unnecessary for the tail expression."
        ),
    ),
    "bug_detection": (
        "tail-slice",
        (
            "Find and fix the bug in the following Rust code. Give the fixed code, then describe the bug.\n"
            "\n"
            "Code:\n"
            "```rust\n"
            "pub fn last_n(values: &[i32], n: usize) -> &[i32] {\n"
            "    &values[values.len() - n..]\n"
            "}\n"
            "```"
        ),
        (
            "```rust\n"
            "pub fn last_n(values: &[i32], n: usize) -> &[i32] {\n"
            "    &values[values.len().saturating_sub(n)..]\n"
            "}\n"
            "```\n"
            "\n"
            "Bug: When `n` is larger than the slice length, `values.len() - n` underflows: it panics in debug builds and wraps to a huge index (and then panics on slicing) in release builds. `saturating_sub` clamps the start index at 0, so the whole slice is returned instead."
        ),
    ),
    "code_optimization": (
        "fibonacci",
        (
            "Optimize the following Rust code. Give the optimized code, then the rationale.\n"
            "\n"
            "Code:\n"
            "```rust\n"
            "pub fn fib(n: u32) -> u64 {\n"
            "    if n < 2 {\n"
            "        n as u64\n"
            "    } else {\n"
            "        fib(n - 1) + fib(n - 2)\n"
            "    }\n"
            "}\n"
            "```"
        ),
        (
            "```rust\n"
            "pub fn fib(n: u32) -> u64 {\n"
            "    let (mut a, mut b) = (0u64, 1u64);\n"
            "    for _ in 0..n {\n"
            "        (a, b) = (b, a + b);\n"
            "    }\n"
            "    a\n"
            "}\n"
            "```\n"
            "\n"
            "Rationale: The doubly recursive version recomputes the same values exponentially many times. Iterating while keeping only the last two numbers computes the same result in O(n) time and O(1) space, without deep recursion."
        ),
    ),
    "code_search": (
        "scoreboard",
        (
            "Write a Rust code snippet that answers the following query.\n"
            "\n"
            "Query:\n"
            "Sort a slice of structs by an f64 field in descending order\n"
            "\n"
            "Context:\n"
            "```rust\n"
            "pub struct Player {\n"
            "    pub name: String,\n"
            "    pub score: f64,\n"
            "}\n"
            "```"
        ),
        (
            "```rust\n"
            "pub fn sort_by_score_desc(players: &mut [Player]) {\n"
            "    players.sort_by(|a, b| b.score.total_cmp(&a.score));\n"
            "}\n"
            "```"
        ),
    ),
    "test_generation": (
        "percent",
        (
            "Write unit tests for the following Rust code.\n"
            "\n"
            "Code to test:\n"
            "```rust\n"
            "pub fn clamp_percent(value: i32) -> u8 {\n"
            "    value.clamp(0, 100) as u8\n"
            "}\n"
            "```"
        ),
        (
            "```rust\n"
            "    #[test]\n"
            "    fn keeps_values_in_range() {\n"
            "        assert_eq!(clamp_percent(0), 0);\n"
            "        assert_eq!(clamp_percent(42), 42);\n"
            "        assert_eq!(clamp_percent(100), 100);\n"
            "    }\n"
            "\n"
            "    #[test]\n"
            "    fn clamps_out_of_range_values() {\n"
            "        assert_eq!(clamp_percent(-5), 0);\n"
            "        assert_eq!(clamp_percent(250), 100);\n"
            "        assert_eq!(clamp_percent(i32::MIN), 0);\n"
            "    }\n"
            "```"
        ),
    ),
    "api_usage_prediction": (
        "greeting",
        (
            "Predict the next API call in the following Rust code. Answer with the call only.\n"
            "\n"
            "Code:\n"
            "```rust\n"
            "let mut greeting = String::with_capacity(16);\n"
            'greeting.push_str("hello");\n'
            "```"
        ),
        ("greeting.push(' ');"),
    ),
}


def _sample_rows() -> list[dict[str, Any]]:
    with SAMPLE_TRAIN.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


SAMPLE_ROWS = _sample_rows()


def test_golden_covers_every_category() -> None:
    assert sorted(GOLDEN) == sorted(CATEGORIES)


@pytest.mark.parametrize("category", sorted(GOLDEN))
def test_golden_formatted_output(category: str) -> None:
    crate, user, assistant = GOLDEN[category]
    [row] = [r for r in SAMPLE_ROWS if (r["task_category"], r["crate_name"]) == (category, crate)]
    messages = format_for_sft(row)["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert messages[0]["content"] == SYSTEM_PROMPT
    assert messages[1]["content"] == user
    assert messages[2]["content"] == assistant
    # Without the system prompt only the system message goes; generation prompts match.
    assert format_for_sft(row, system=False)["messages"] == messages[1:]
    assert prompt_messages(row) == messages[:2]


# --- parse_json_field ---------------------------------------------------------------------


def test_parse_json_field_json() -> None:
    assert parse_json_field('{"code": "fn main() {}", "n": 1}') == {"code": "fn main() {}", "n": 1}


def test_parse_json_field_python_literal() -> None:
    text = "{'code': 'let s = \"hi\";', 'code_context': None, 'tests': ['a', 'b'], 'ok': True}"
    assert parse_json_field(text) == {
        "code": 'let s = "hi";',
        "code_context": None,
        "tests": ["a", "b"],
        "ok": True,
    }


def test_parse_json_field_surrounding_whitespace() -> None:
    assert parse_json_field("  \n{'a': 'b'}\n") == {"a": "b"}


def test_parse_json_field_dict_passthrough() -> None:
    value = {"code": "x"}
    parsed = parse_json_field(value)
    assert parsed == value
    parsed["other"] = 1  # a copy: the caller's dict is not modified
    assert value == {"code": "x"}


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (None, "is missing (None)"),
        (42, "must be a string or dict, got int"),
        (["code"], "must be a string or dict, got list"),
        (b"{'a': 1}", "must be a string or dict, got bytes"),
        ("", "is an empty string"),
        ("   \n ", "is an empty string"),
        ("{'code': 'fn main() {'", "neither JSON nor a Python literal (SyntaxError)"),
        ("not a dict at all", "neither JSON nor a Python literal"),
        ("['a', 'b']", "must hold a dict, got list"),
        ('["a", "b"]', "must hold a dict, got list"),
        ("'just a string'", "must hold a dict, got str"),
        ("42", "must hold a dict, got int"),
        ("None", "must hold a dict, got NoneType"),
    ],
)
def test_parse_json_field_errors(value: Any, fragment: str) -> None:
    with pytest.raises(StrandsetFormatError) as info:
        parse_json_field(value, "input_data")
    message = str(info.value)
    assert message.startswith("input_data ")
    assert fragment in message
    assert info.value.field == "input_data"
    assert isinstance(info.value, ValueError)


def test_parse_json_field_error_shows_start_of_value() -> None:
    bad = "{'code': 'fn broken(' " + "x" * 500
    with pytest.raises(StrandsetFormatError) as info:
        parse_json_field(bad, "output_data")
    message = str(info.value)
    assert "{'code': 'fn broken(' xxx" in message  # the start of the bad value
    assert "..." in message
    assert "x" * 200 not in message  # only the start
    with pytest.raises(StrandsetFormatError, match=r"got list: .*\[1, 2, 3\]"):
        parse_json_field("[1, 2, 3]")


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('touch {marker}')",
        "{'a': __import__('os').system('touch {marker}')}",
        "{'a': open('{marker}', 'w')}",
        "(lambda: open('{marker}', 'w'))()",
    ],
)
def test_parse_json_field_never_evaluates(text: str, tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    with pytest.raises(StrandsetFormatError, match="neither JSON nor a Python literal"):
        parse_json_field(text.replace("{marker}", str(marker)))
    assert not marker.exists()


# --- format_for_sft -------------------------------------------------------------------------


def _row(category: str, inputs: Any, outputs: Any) -> dict[str, Any]:
    return {
        "crate_name": "demo",
        "task_category": category,
        "input_data": inputs if isinstance(inputs, str) else repr(inputs),
        "output_data": outputs if isinstance(outputs, str) else json.dumps(outputs),
        "test": "",
    }


def test_unknown_category() -> None:
    row = _row("poetry_generation", {"code": "x"}, {"poem": "y"})
    with pytest.raises(
        StrandsetFormatError, match="unknown task_category 'poetry_generation'"
    ) as info:
        format_for_sft(row)
    assert info.value.field == "task_category"
    assert "code_generation" in str(info.value)  # lists the known ones


def test_missing_category() -> None:
    row = _row("code_summarization", {"code": "x"}, {"summary": "y"})
    del row["task_category"]
    with pytest.raises(StrandsetFormatError, match="unknown task_category None"):
        format_for_sft(row)


@pytest.mark.parametrize("absent", ["missing", None, "None", ""])
def test_missing_required_input(absent: Any) -> None:
    inputs: dict[str, Any] = {"title": "Add", "code_context": "const A: i32 = 1;"}
    if absent != "missing":
        inputs["description"] = absent
    row = _row("code_generation", inputs, {"code": "fn add() {}"})
    with pytest.raises(StrandsetFormatError) as info:
        format_for_sft(row)
    assert "code_generation" in str(info.value)
    assert "'description'" in str(info.value)
    assert info.value.field == "input_data.description"


@pytest.mark.parametrize("absent", ["missing", None, "None", ""])
def test_missing_required_output(absent: Any) -> None:
    outputs: dict[str, Any] = {"code_after": "let x = 1;"}
    if absent != "missing":
        outputs["review_comment"] = absent
    row = _row("code_review", {"code_before": "let x = 1 ;"}, outputs)
    with pytest.raises(StrandsetFormatError) as info:
        format_for_sft(row)
    assert "code_review" in str(info.value)
    assert "'review_comment'" in str(info.value)
    assert info.value.field == "output_data.review_comment"


@pytest.mark.parametrize("column", ["input_data", "output_data"])
def test_unparsable_field_names_the_column(column: str) -> None:
    row = _row("code_summarization", {"code": "x"}, {"summary": "y"})
    row[column] = "{'code': "
    with pytest.raises(StrandsetFormatError) as info:
        format_for_sft(row)
    assert info.value.field == column


def test_wrong_value_type() -> None:
    row = _row("code_summarization", {"code": {"nested": 1}}, {"summary": "y"})
    with pytest.raises(
        StrandsetFormatError, match="input_data field 'code' must be a string, got dict"
    ) as info:
        format_for_sft(row)
    assert info.value.field == "input_data.code"
    row = _row("code_summarization", {"code": "fn f() {}"}, {"summary": {"a": 1}})
    with pytest.raises(StrandsetFormatError) as info:
        format_for_sft(row)
    assert info.value.field == "output_data.summary"


@pytest.mark.parametrize("absent", ["missing", None, "None", "", "  "])
def test_optional_context_absent(absent: Any) -> None:
    inputs: dict[str, Any] = {"code": "fn f() {}"}
    if absent != "missing":
        inputs["code_context"] = absent
    row = _row("code_summarization", inputs, {"summary": "Does nothing."})
    user = format_for_sft(row)["messages"][1]["content"]
    assert user == (
        "Summarize what the following Rust code does in one or two sentences.\n\n"
        "Code:\n```rust\nfn f() {}\n```"
    )
    assert "Context" not in user
    assert "None" not in user


def test_optional_context_present() -> None:
    row = _row(
        "code_summarization",
        {"code": "fn f() {}", "code_context": "struct S;\n"},
        {"summary": "Does nothing."},
    )
    user = format_for_sft(row)["messages"][1]["content"]
    assert user.endswith("Code:\n```rust\nfn f() {}\n```\n\nContext:\n```rust\nstruct S;\n```")


def test_test_cases_list_becomes_one_rust_block() -> None:
    row = _row(
        "test_generation",
        {"code_to_test": "pub fn one() -> i32 { 1 }", "test_context": "use super::*;"},
        {"test_cases": ["#[test]\nfn a() { assert_eq!(one(), 1); }", "\n#[test]\nfn b() {}\n"]},
    )
    messages = format_for_sft(row)["messages"]
    assert messages[1]["content"] == (
        "Write unit tests for the following Rust code.\n\n"
        "Code to test:\n```rust\npub fn one() -> i32 { 1 }\n```\n\n"
        "Test context:\n```rust\nuse super::*;\n```"
    )
    answer = messages[2]["content"]
    assert answer == (
        "```rust\n#[test]\nfn a() { assert_eq!(one(), 1); }\n\n#[test]\nfn b() {}\n```"
    )
    assert answer.count("```") == 2


@pytest.mark.parametrize(
    ("category", "outputs", "expected"),
    [
        (
            "code_review",
            {"review_comment": "Use join.", "code_after": 'let h = C.join(",");'},
            '```rust\nlet h = C.join(",");\n```\n\nReview: Use join.',
        ),
        (
            "bug_detection",
            {"bug_description": "Off by one.", "fixed_code": "let i = n - 1;"},
            "```rust\nlet i = n - 1;\n```\n\nBug: Off by one.",
        ),
        (
            "code_refactoring",
            {"rationale": "Shorter.", "code_after": "x.max(y)"},
            "```rust\nx.max(y)\n```\n\nRationale: Shorter.",
        ),
        (
            "code_optimization",
            {"rationale": "O(n).", "code_after": "v.iter().sum()"},
            "```rust\nv.iter().sum()\n```\n\nRationale: O(n).",
        ),
    ],
)
def test_multi_field_answer_code_first(
    category: str, outputs: dict[str, str], expected: str
) -> None:
    row = _row(category, {"code_before": "let a = 1;", "buggy_code": "let a = 1;"}, outputs)
    answer = format_for_sft(row)["messages"][2]["content"]
    assert answer == expected
    assert answer.startswith("```rust\n")


def test_input_as_json_and_as_dict() -> None:
    inputs = {"code": "fn f() {}", "code_context": None}
    as_literal = _row("code_summarization", repr(inputs), {"summary": "s"})
    as_json = _row("code_summarization", json.dumps(inputs), {"summary": "s"})
    as_dicts = {**as_literal, "input_data": inputs, "output_data": {"summary": "s"}}
    expected = format_for_sft(as_literal)
    assert format_for_sft(as_json) == expected
    assert format_for_sft(as_dicts) == expected


# --- parse_answer round trip ------------------------------------------------------------------


@pytest.mark.parametrize("category", CATEGORIES)
def test_parse_answer_round_trip_sample(category: str) -> None:
    spec = TASKS[category]
    for row in SAMPLE_ROWS:
        if row["task_category"] != category:
            continue
        outputs = parse_json_field(row["output_data"])
        parsed = parse_answer(category, build_answer(spec, outputs))
        assert set(parsed) == set(spec.output_names)
        for field in spec.outputs:
            value = outputs[field.name]
            if isinstance(value, list):
                expected = "\n\n".join(v.strip("\n") for v in value)
            else:
                expected = value.strip("\n")
            if field.kind == "text":
                expected = expected.strip()
            assert parsed[field.name] == expected, (category, field.name)


@pytest.mark.parametrize("category", CATEGORIES)
def test_parse_answer_round_trip_synthetic(category: str) -> None:
    spec = TASKS[category]
    outputs: dict[str, Any] = {}
    for i, field in enumerate(spec.outputs):
        if field.kind == "rust_list":
            outputs[field.name] = ["#[test]\nfn t1() {}", "#[test]\nfn t2() {}"]
        elif field.kind == "rust":
            outputs[field.name] = f"fn f{i}() {{\n    let x = {i};\n}}"
        else:
            outputs[field.name] = f"Some text {i}.\nSecond line: with a colon."
    parsed = parse_answer(category, build_answer(spec, outputs))
    for field in spec.outputs:
        value = outputs[field.name]
        expected = "\n\n".join(value) if isinstance(value, list) else value
        assert parsed[field.name] == expected


def test_parse_answer_tolerates_free_text() -> None:
    parsed = parse_answer("code_review", "no code here")
    assert parsed == {"code_after": "no code here", "review_comment": ""}
    assert parse_answer("function_naming", "  factorial\n") == {"function_name": "factorial"}
