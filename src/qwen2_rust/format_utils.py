"""Raw Strandset row -> chat conversation, and the answer layout evaluation parses back.

Conversation layout (every category, read from `qwen2_rust.tasks`):

- system: `tasks.SYSTEM_PROMPT` (omitted with ``system=False``);
- user: the category's instruction, then each *present* input field as a section,
  ``Label:`` on its own line followed by the value; Rust values are fenced as ```rust blocks,
  text values are written as they are. Sections are separated by one blank line;
- assistant: the output fields in table order, separated by one blank line. A Rust output
  is a ```rust block; a text output that follows a Rust output is written ``Label: text``
  (e.g. ``Review: ...``); a text output on its own (a summary, a name) is the text alone;
  ``test_cases`` (a list) become one ```rust block, the tests separated by blank lines.

So the code of a multi-field answer (code_after + review_comment, fixed_code +
bug_description, code_after + rationale) is always the *first* ```rust block of the answer,
and `parse_answer` recovers the fields from a reply written in this layout.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from typing import Any

from qwen2_rust.errors import StrandsetFormatError
from qwen2_rust.tasks import PLACEHOLDER, SYSTEM_PROMPT, Field, TaskSpec, get_task

_PREVIEW_CHARS = 60
_PYTHON_LITERAL = object()  # sentinel: "parse this with ast.literal_eval"
_ABSENT_STRINGS = frozenset({"", "none", "null"})
_RUST_BLOCK = re.compile(r"```[ \t]*(?:rust|rs)?[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL)


def _preview(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text[:_PREVIEW_CHARS] + ("..." if len(text) > _PREVIEW_CHARS else ""))


def parse_json_field(value: Any, field: str = "field") -> dict[str, Any]:
    """Parse a Strandset ``input_data`` / ``output_data`` value into a dict.

    JSON first, then a Python literal via `ast.literal_eval` (never `eval`): Strandset's
    ``input_data`` is a Python ``repr`` of a dict (single quotes, ``None``). A dict passes
    through unchanged. Anything else raises `StrandsetFormatError` naming the problem and
    showing the start of the bad value.
    """
    if isinstance(value, Mapping):
        return dict(value)
    if value is None:
        raise StrandsetFormatError(f"{field} is missing (None)", field=field)
    if not isinstance(value, str):
        raise StrandsetFormatError(
            f"{field} must be a string or dict, got {type(value).__name__}: {_preview(value)}",
            field=field,
        )
    text = value.strip()
    if not text:
        raise StrandsetFormatError(f"{field} is an empty string", field=field)
    try:
        # "{'" can never start JSON: skip straight to the Python literal (Strandset's input_data).
        parsed = _PYTHON_LITERAL if text.startswith("{'") else json.loads(text)
    except ValueError:
        parsed = _PYTHON_LITERAL
    if parsed is _PYTHON_LITERAL:
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
            reason = type(exc).__name__
            raise StrandsetFormatError(
                f"{field} is neither JSON nor a Python literal ({reason}); "
                f"it starts with {_preview(text)}",
                field=field,
            ) from None
    if not isinstance(parsed, dict):
        raise StrandsetFormatError(
            f"{field} must hold a dict, got {type(parsed).__name__}: {_preview(text)}",
            field=field,
        )
    return parsed


def is_absent(value: Any) -> bool:
    """Strandset's convention: missing, None, the string "None" or empty mean *absent*."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().lower() in _ABSENT_STRINGS
    if isinstance(value, (list, tuple, dict)):
        return len(value) == 0
    return False


def _as_text(value: Any, field: Field, category: str, column: str) -> str:
    if isinstance(value, str):
        return value.strip("\n")
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return "\n\n".join(v.strip("\n") for v in value)
    if isinstance(value, (int, float)) and field.kind == "text":
        return str(value)
    raise StrandsetFormatError(
        f"{category}: {column} field {field.name!r} must be a string, got {type(value).__name__}",
        field=f"{column}.{field.name}",
    )


def fence(code: str) -> str:
    return f"```rust\n{code}\n```"


def _render(field: Field, text: str) -> str:
    return fence(text) if field.kind in ("rust", "rust_list") else text


def build_user_prompt(spec: TaskSpec, inputs: Mapping[str, Any]) -> str:
    sections = [spec.instruction]
    for field in spec.inputs:
        value = inputs.get(field.name)
        if is_absent(value):
            if field.required:
                raise StrandsetFormatError(
                    f"{spec.category}: required input field {field.name!r} is missing or empty",
                    field=f"input_data.{field.name}",
                )
            continue
        sections.append(
            f"{field.label}:\n{_render(field, _as_text(value, field, spec.category, 'input_data'))}"
        )
    return "\n\n".join(sections)


def build_answer(spec: TaskSpec, outputs: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for field in spec.outputs:
        value = outputs.get(field.name)
        if is_absent(value):
            raise StrandsetFormatError(
                f"{spec.category}: required output field {field.name!r} is missing or empty",
                field=f"output_data.{field.name}",
            )
        text = _as_text(value, field, spec.category, "output_data")
        if field.kind == "text" and parts:
            parts.append(f"{field.label}: {text}")
        else:
            parts.append(_render(field, text))
    return "\n\n".join(parts)


def row_inputs_outputs(example: Mapping[str, Any]) -> tuple[TaskSpec, dict, dict]:
    """Parse a raw row's category, ``input_data`` and ``output_data``."""
    spec = get_task(example.get("task_category"))  # type: ignore[arg-type]
    inputs = parse_json_field(example.get("input_data"), "input_data")
    outputs = parse_json_field(example.get("output_data"), "output_data")
    return spec, inputs, outputs


def _prompt(spec: TaskSpec, inputs: Mapping[str, Any], system: bool) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": SYSTEM_PROMPT}] if system else []
    messages.append({"role": "user", "content": build_user_prompt(spec, inputs)})
    return messages


def prompt_messages(example: Mapping[str, Any], system: bool = True) -> list[dict[str, str]]:
    """The system + user messages of a row (what a model sees at generation time)."""
    spec = get_task(example.get("task_category"))  # type: ignore[arg-type]
    return _prompt(spec, parse_json_field(example.get("input_data"), "input_data"), system)


def build_messages(
    spec: TaskSpec, inputs: Mapping[str, Any], outputs: Mapping[str, Any], system: bool = True
) -> list[dict[str, str]]:
    """The full conversation of a row whose fields are already parsed."""
    messages = _prompt(spec, inputs, system)
    messages.append({"role": "assistant", "content": build_answer(spec, outputs)})
    return messages


def format_for_sft(example: Mapping[str, Any], system: bool = True) -> dict[str, list]:
    """Turn a raw Strandset row into ``{"messages": [system?, user, assistant]}``.

    Raises `StrandsetFormatError` for an unknown category, an unparsable field or a
    missing required field (the message names the category and the field).
    """
    spec, inputs, outputs = row_inputs_outputs(example)
    return {"messages": build_messages(spec, inputs, outputs, system)}


def extract_rust_blocks(text: str) -> list[str]:
    """All fenced code blocks (```rust, ```rs or bare ```) in order; an unclosed last block counts."""
    return [m.group(1) for m in _RUST_BLOCK.finditer(text)]


def parse_answer(category: str, reply: str) -> dict[str, str]:
    """Recover output fields from a reply written in this module's answer layout.

    Best effort for model output: code fields take the first fenced block (or the whole
    reply), a labelled text field takes what follows ``Label:``, a lone text field is the
    stripped reply. Fields that cannot be found come back as empty strings.
    """
    spec = get_task(category)
    fields: dict[str, str] = {}
    has_code = any(f.kind != "text" for f in spec.outputs)
    remainder = reply
    for field in spec.outputs:
        if field.kind != "text":
            blocks = list(_RUST_BLOCK.finditer(reply))
            if blocks:
                fields[field.name] = blocks[0].group(1)
                remainder = reply[blocks[0].end() :]
            else:
                fields[field.name] = reply.strip()
                remainder = ""
        elif has_code:
            match = re.search(rf"(?im)^\s*\**{re.escape(field.label)}\**\s*:\s*", remainder)
            fields[field.name] = remainder[match.end() :].strip() if match else remainder.strip()
        else:
            fields[field.name] = reply.strip()
    return fields


def placeholder_missing(spec: TaskSpec, inputs: Mapping[str, Any]) -> bool:
    """True for a naming row whose code lacks the `__placeholder__` to name."""
    if spec.placeholder_input is None:
        return False
    value = inputs.get(spec.placeholder_input)
    return isinstance(value, str) and PLACEHOLDER not in value
