"""The 15 Strandset-Rust task categories: the single source of truth.

Formatting (`format_utils`), validation (`validation`) and evaluation (`evaluation`) all
read this table; nothing else in the project lists fields or prompt wording.

Field kinds decide how a value is rendered in a conversation:

- ``rust``: Rust source, fenced as a ```rust block;
- ``text``: prose or a short identifier, written as-is;
- ``rust_list``: a list of Rust snippets (``test_cases``), joined into one ```rust block.

How each category's *answer* is scored:

- ``code``: the first ```rust block of the reply is compiled (and tested where tests exist);
- ``completion``: the completion is compiled between prefix and suffix, and also matched as text;
- ``tests``: the predicted tests are compiled and run against the code under test;
- ``text``: chrF against the reference;
- ``name``: exact / normalised match and edit similarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["rust", "text", "rust_list"]
AnswerKind = Literal["code", "completion", "tests", "text", "name"]

SYSTEM_PROMPT = "You are an expert Rust programmer. Answer precisely and idiomatically."
PLACEHOLDER = "__placeholder__"


@dataclass(frozen=True)
class Field:
    name: str
    kind: FieldKind
    label: str
    required: bool = True


@dataclass(frozen=True)
class TaskSpec:
    category: str
    instruction: str
    inputs: tuple[Field, ...]
    outputs: tuple[Field, ...]
    answer_kind: AnswerKind
    # Output field holding the answer's Rust code (compiled by evaluation), if any.
    code_output: str | None = None
    # Input field whose code contains the `__placeholder__` to name, if any.
    placeholder_input: str | None = None

    @property
    def required_inputs(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.inputs if f.required)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.outputs)

    def input_field(self, name: str) -> Field:
        return next(f for f in self.inputs if f.name == name)


def _ctx(name: str = "code_context", label: str = "Context") -> Field:
    return Field(name, "rust", label, required=False)


def _code(name: str = "code", label: str = "Code") -> Field:
    return Field(name, "rust", label)


TASKS: dict[str, TaskSpec] = {
    spec.category: spec
    for spec in (
        TaskSpec(
            "code_generation",
            "Write Rust code for the following task.",
            (Field("title", "text", "Title"), Field("description", "text", "Description"), _ctx()),
            (_code(),),
            "code",
            code_output="code",
        ),
        TaskSpec(
            "docstring_generation",
            "Write a Rust doc comment (///) for the following code.",
            (_code(), _ctx()),
            (Field("docstring", "text", "Docstring"),),
            "text",
        ),
        TaskSpec(
            "code_explanation",
            "Explain what the following Rust code does.",
            (_code(), _ctx()),
            (Field("explanation", "text", "Explanation"),),
            "text",
        ),
        TaskSpec(
            "comment_generation",
            "Add helpful comments to the following Rust code. Return the commented code.",
            (_code(), _ctx()),
            (_code("commented_code", "Commented code"),),
            "code",
            code_output="commented_code",
        ),
        TaskSpec(
            "code_summarization",
            "Summarize what the following Rust code does in one or two sentences.",
            (_code(), _ctx()),
            (Field("summary", "text", "Summary"),),
            "text",
        ),
        TaskSpec(
            "function_naming",
            f"Suggest a name for the function called `{PLACEHOLDER}`. Answer with the name only.",
            (_code(), _ctx()),
            (Field("function_name", "text", "Function name"),),
            "name",
            placeholder_input="code",
        ),
        TaskSpec(
            "variable_naming",
            f"Suggest a name for the variable called `{PLACEHOLDER}`. Answer with the name only.",
            (_code(), _ctx()),
            (Field("variable_name", "text", "Variable name"),),
            "name",
            placeholder_input="code",
        ),
        TaskSpec(
            "code_review",
            "Review the following Rust code. Give the improved code, then your review comment.",
            (_code("code_before", "Code"), _ctx()),
            (_code("code_after", "Improved code"), Field("review_comment", "text", "Review")),
            "code",
            code_output="code_after",
        ),
        TaskSpec(
            "code_completion",
            "Complete the Rust code between the prefix and the suffix. "
            "Answer with the missing code only.",
            (_code("prefix", "Prefix"), _code("suffix", "Suffix")),
            (_code("completion", "Completion"),),
            "completion",
            code_output="completion",
        ),
        TaskSpec(
            "code_refactoring",
            "Refactor the following Rust code. Give the refactored code, then the rationale.",
            (_code("code_before", "Code"), _ctx()),
            (_code("code_after", "Refactored code"), Field("rationale", "text", "Rationale")),
            "code",
            code_output="code_after",
        ),
        TaskSpec(
            "bug_detection",
            "Find and fix the bug in the following Rust code. "
            "Give the fixed code, then describe the bug.",
            (_code("buggy_code", "Code"), _ctx()),
            (_code("fixed_code", "Fixed code"), Field("bug_description", "text", "Bug")),
            "code",
            code_output="fixed_code",
        ),
        TaskSpec(
            "code_optimization",
            "Optimize the following Rust code. Give the optimized code, then the rationale.",
            (_code("code_before", "Code"), _ctx()),
            (_code("code_after", "Optimized code"), Field("rationale", "text", "Rationale")),
            "code",
            code_output="code_after",
        ),
        TaskSpec(
            "code_search",
            "Write a Rust code snippet that answers the following query.",
            (Field("query", "text", "Query"), _ctx()),
            (_code("code_snippet", "Code"),),
            "code",
            code_output="code_snippet",
        ),
        TaskSpec(
            "test_generation",
            "Write unit tests for the following Rust code.",
            (_code("code_to_test", "Code to test"), _ctx(), _ctx("test_context", "Test context")),
            (Field("test_cases", "rust_list", "Tests"),),
            "tests",
        ),
        TaskSpec(
            "api_usage_prediction",
            "Predict the next API call in the following Rust code. Answer with the call only.",
            (_code(), _ctx()),
            (Field("next_api_call", "text", "Next API call"),),
            "name",
        ),
    )
}

CATEGORIES: tuple[str, ...] = tuple(TASKS)

# Train-split counts of the real dataset; used for realistic synthetic benchmarks.
STRANDSET_TRAIN_COUNTS: dict[str, int] = {
    "code_generation": 17_241,
    "docstring_generation": 16_889,
    "code_explanation": 16_505,
    "comment_generation": 16_143,
    "code_summarization": 15_884,
    "function_naming": 15_776,
    "variable_naming": 15_754,
    "code_review": 15_195,
    "code_completion": 14_527,
    "code_refactoring": 14_324,
    "bug_detection": 12_765,
    "code_optimization": 12_569,
    "code_search": 3_766,
    "test_generation": 3_180,
    "api_usage_prediction": 490,
}


def get_task(category: str) -> TaskSpec:
    """The spec for ``category``; raises `StrandsetFormatError` for an unknown one."""
    from qwen2_rust.errors import StrandsetFormatError

    try:
        return TASKS[category]
    except KeyError:
        raise StrandsetFormatError(
            f"unknown task_category {category!r} (expected one of: {', '.join(CATEGORIES)})",
            field="task_category",
        ) from None
