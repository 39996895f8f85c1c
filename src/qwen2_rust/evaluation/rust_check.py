"""Compile (and test) Rust answers for real: unit assembly, rustc in the sandbox, classification.

Answers are often fragments. A compilable *unit* is built by trying shapes, cheapest guess
first (a syntactic look at the answer decides the order):

- ``items``: the answer is one or more items. Unit = ``code_context`` minus the items the
  answer redefines (matched by kind and name; identical ``use`` lines too) + the answer,
  compiled as ``--crate-type lib``;
- ``impl``: methods taking ``self`` outside their ``impl``. Unit = context + ``impl Type {``
  answer ``}`` for each struct/enum/union the context declares, first that works;
- ``snippet``: statements or an expression. Unit = context + ``fn __snippet() {`` answer
  ``}`` (``async fn`` when it awaits); an expression whose value is not ``()`` is retried
  as ``let _ = { answer };``, and an answer using ``?`` inside a function returning
  ``Result<(), Box<dyn Error>>``; statements that use ``self`` go into a
  ``fn __snippet(&mut self)`` in an ``impl`` of each declared type.

Statuses of a compile check:

- ``compiles``;
- ``missing_crate``: every error is an unresolved external crate or path (E0432 / E0433 /
  E0463, or a resolution error on a name rooted at such a crate) — the code may be fine,
  the crate just is not available; with a crate environment (`crates`), crates it provides
  never count as missing (an unknown path in them is a real error: ``fails``);
- ``fragment``: no shape could place the answer (every try failed to parse or to place);
- ``fails``: a shape placed it and rustc reported real errors (type errors, borrow errors…);
- ``timeout``: rustc ran past its limit.

Tests (test_generation's ``test_cases``, or a row's ``test`` field) are built with
``--test`` and run: ``tests_pass`` / ``tests_fail`` / ``timeout``; a test build that does
not compile reports its compile status (``fails``, ``missing_crate``, ``fragment``).

With a `qwen2_rust.evaluation.crates.CrateEnvironment`, each rustc call gets ``--extern``
for the environment's crates (grown on demand to the crates the unit uses) and
``-L dependency=`` its build directory.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from qwen2_rust.evaluation.sandbox import Limits, SandboxResult, detect_isolation, run_sandboxed
from qwen2_rust.io_utils import json_lines

if TYPE_CHECKING:
    from qwen2_rust.evaluation.crates import CrateEnvironment

COMPILES = "compiles"
MISSING_CRATE = "missing_crate"
FRAGMENT = "fragment"
FAILS = "fails"
TIMEOUT = "timeout"
TESTS_PASS = "tests_pass"
TESTS_FAIL = "tests_fail"
COMPILE_STATUSES = (COMPILES, MISSING_CRATE, FRAGMENT, FAILS, TIMEOUT)
TEST_STATUSES = (TESTS_PASS, TESTS_FAIL, TIMEOUT)

STD_ROOTS = frozenset({"std", "core", "alloc", "crate", "self", "super", "Self", "proc_macro"})
_MISSING_CODES = frozenset({"E0432", "E0433", "E0463"})
_RESOLUTION_CODES = frozenset({"E0412", "E0425", "E0405", "E0422", "E0531", "E0532", "E0433"})
# Errors that mean "this shape cannot hold the answer", not "the code is wrong".
_PLACEMENT_CODES = frozenset({"E0424", "E0411", "E0428", "E0201", "E0592", "E0119", "E0252"})
_ITEM_KEYWORDS = (
    "fn",
    "struct",
    "enum",
    "union",
    "trait",
    "impl",
    "type",
    "const",
    "static",
    "mod",
    "use",
    "extern",
    "macro_rules!",
    "async",
    "unsafe",
    "pub",
    "default",
)


@dataclass(frozen=True)
class CheckConfig:
    rustc: str = "rustc"
    edition: str = "2021"
    compile_limits: Limits = field(default_factory=lambda: Limits(wall_s=20.0, memory_mb=2048))
    run_limits: Limits = field(
        default_factory=lambda: Limits(wall_s=10.0, memory_mb=1024, processes=64)
    )
    isolation: str | None = None  # None: detect


@dataclass
class CheckResult:
    status: str
    shape: str | None = None  # items / impl / snippet / completion / tests
    error_codes: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # first few error messages
    tests_passed: int | None = None
    tests_failed: int | None = None
    compile_status: str | None = None  # for test checks: status of the test build
    seconds: float = 0.0
    rustc_calls: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "shape": self.shape,
            "error_codes": self.error_codes,
            "messages": self.messages,
            "tests_passed": self.tests_passed,
            "tests_failed": self.tests_failed,
            "compile_status": self.compile_status,
        }


# --------------------------------------------------------------------------- lexing


def _skip_string(src: str, i: int) -> int:
    """``src[i]`` is the opening quote of a (byte) string; return the index after it."""
    i += 1
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        i += 1
    return n


def _raw_string_end(src: str, i: int) -> int | None:
    """If a raw string (r"..", r#".."#, br#".."#) starts at ``i``, return its end index."""
    m = re.compile(r'b?r(#*)"').match(src, i)
    if not m:
        return None
    closing = '"' + m.group(1)
    end = src.find(closing, m.end())
    return len(src) if end < 0 else end + len(closing)


_CHAR_LIT = re.compile(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}|.)|[^\\'\n])'")


def mask_rust(src: str) -> str:
    """``src`` with comments, strings and char literals blanked (same length, newlines kept).

    Structure (braces, ``;``, keywords) can then be scanned with plain string operations.
    """
    out = list(src)
    n = len(src)
    i = 0

    def blank(a: int, b: int) -> None:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = src[i]
        if c == "/" and src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif c == "/" and src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif c in "rb" and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            end = _raw_string_end(src, i)
            if end is not None:
                blank(i, end)
                i = end
            elif c == "b" and src.startswith('b"', i):
                end = _skip_string(src, i + 1)
                blank(i, end)
                i = end
            elif c == "b" and src.startswith("b'", i):
                m = _CHAR_LIT.match(src, i + 1)
                end = m.end() if m else i + 1
                blank(i, end)
                i = max(end, i + 1)
            else:
                i += 1
        elif c == '"':
            end = _skip_string(src, i)
            blank(i, end)
            i = end
        elif c == "'":
            m = _CHAR_LIT.match(src, i)
            if m:
                blank(i, m.end())
                i = m.end()
            else:
                i += 1  # a lifetime
        else:
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class Chunk:
    """One top-level piece of source: an item (with its attributes) or a statement."""

    text: str
    masked: str

    @property
    def head(self) -> str:
        """The masked text without leading attributes / doc comments / whitespace."""
        return _strip_attrs(self.masked)


def _strip_attrs(masked: str) -> str:
    s = masked.lstrip()
    while s.startswith("#"):
        m = re.match(r"#!?\s*\[", s)
        if not m:
            break
        depth, j = 0, m.end() - 1
        while j < len(s):
            if s[j] == "[":
                depth += 1
            elif s[j] == "]":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        s = s[j + 1 :].lstrip()
    return s


def split_top_level(src: str) -> list[Chunk]:
    """Split source into top-level chunks: ``;``-terminated or ``{...}``-bodied pieces."""
    masked = mask_rust(src)
    chunks: list[Chunk] = []
    depth = 0
    start = 0
    n = len(masked)
    i = 0
    while i < n:
        c = masked[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0 and c == "}":
                # an item body ends here unless more follows on the same statement
                j = i + 1
                while j < n and masked[j] in " \t\r\n":
                    j += 1
                rest = masked[j:]
                if rest.startswith(";"):
                    i = j
                elif rest.startswith(
                    ("else", ".", "?", ")", ",", "as ", "=", "+", "-", "*")
                ) or _is_expression_block(masked[start : i + 1]):
                    i += 1
                    continue
                _push(chunks, src, masked, start, i + 1)
                start = i + 1
            elif depth < 0:
                depth = 0
        elif c == ";" and depth == 0:
            _push(chunks, src, masked, start, i + 1)
            start = i + 1
        i += 1
    _push(chunks, src, masked, start, n)
    return chunks


def _is_expression_block(masked_piece: str) -> bool:
    """A ``let x = Foo { .. }`` / ``match`` / ``if`` block that a ``;`` may still follow."""
    head = _strip_attrs(masked_piece)
    return bool(re.match(r"(let|return)\b", head)) and not head.rstrip().endswith(";")


def _push(chunks: list[Chunk], src: str, masked: str, a: int, b: int) -> None:
    if masked[a:b].strip() or src[a:b].strip():
        text = src[a:b]
        if not masked[a:b].strip():  # only comments: attach to the next chunk
            return
        chunks.append(Chunk(text=text.strip("\n"), masked=masked[a:b].strip("\n")))


_VIS = r"(?:pub(?:\s*\([^)]*\))?\s+)?"
_QUALS = r"(?:(?:default|const|async|unsafe|extern(?:\s+\"[^\"]*\"|\s+)?)\s*)*"
_ITEM_RE = re.compile(
    rf"^{_VIS}{_QUALS}(fn|struct|enum|union|trait|type|const|static|mod)\s+(?:mut\s+)?"
    r"([A-Za-z_][A-Za-z0-9_]*)"
)
_MACRO_RULES_RE = re.compile(r"^macro_rules!\s*([A-Za-z_][A-Za-z0-9_]*)")
_IMPL_RE = re.compile(rf"^{_VIS}(?:unsafe\s+)?impl\b")
_USE_RE = re.compile(rf"^{_VIS}use\b")
_EXTERN_CRATE_RE = re.compile(rf"^{_VIS}extern\s+crate\b")


def item_key(chunk: Chunk) -> tuple[str, str] | None:
    """(kind, name) of an item chunk; impls and uses are keyed by their normalised text."""
    head = chunk.head
    m = _ITEM_RE.match(head)
    if m:
        kind = m.group(1)
        namespace = "value" if kind in ("fn", "const", "static") else "type"
        return (namespace, m.group(2))
    m = _MACRO_RULES_RE.match(head)
    if m:
        return ("macro", m.group(1))
    if _IMPL_RE.match(head):
        header = head.split("{", 1)[0]
        return ("impl", " ".join(header.split()))
    if _USE_RE.match(head) or _EXTERN_CRATE_RE.match(head):
        return ("use", " ".join(head.split()))
    return None


def is_item(chunk: Chunk) -> bool:
    head = chunk.head
    if item_key(chunk) is not None:
        return True
    # macro invocations at item level (e.g. `lazy_static! { .. }`)
    return bool(re.match(r"^[A-Za-z_][A-Za-z0-9_:]*!\s*[\[({]", head)) and not head.startswith(
        ("println!", "print!", "eprintln!", "assert", "dbg!", "vec!", "write", "panic!")
    )


_SELF_PARAM_RE = re.compile(r"\(\s*(?:&\s*(?:'[A-Za-z_]+\s+)?(?:mut\s+)?self|mut\s+self|self)\b")
_ASSOC_SELF_RE = re.compile(r"\bSelf\b")


def is_method(chunk: Chunk) -> bool:
    """A ``fn`` that takes ``self`` (or returns / takes ``Self``): belongs in an ``impl``."""
    m = _ITEM_RE.match(chunk.head)
    if not m or m.group(1) != "fn":
        return False
    signature = chunk.head.split("{", 1)[0]
    return bool(_SELF_PARAM_RE.search(signature) or _ASSOC_SELF_RE.search(signature))


def declared_types(context: str) -> list[str]:
    """Names of the structs / enums / unions a context declares, in order."""
    names = []
    for chunk in split_top_level(context):
        m = _ITEM_RE.match(chunk.head)
        if m and m.group(1) in ("struct", "enum", "union") and m.group(2) not in names:
            names.append(m.group(2))
    return names


def drop_redefined(context: str, answer: str) -> str:
    """The context without the items that ``answer`` (re)defines."""
    if not context.strip():
        return context
    answer_keys = {k for c in split_top_level(answer) if (k := item_key(c)) is not None}
    if not answer_keys:
        return context
    kept = [c.text for c in split_top_level(context) if item_key(c) not in answer_keys]
    return "\n".join(kept)


def classify_answer(answer: str) -> list[str]:
    """Shapes to try, most likely first: some of "items", "impl", "snippet"."""
    chunks = split_top_level(answer)
    if not chunks:
        return ["items"]
    items = [is_item(c) for c in chunks]
    methods = [is_method(c) for c in chunks]
    if all(items):
        if any(methods):
            return ["impl", "items", "snippet"]
        return ["items", "snippet", "impl"]
    return ["snippet", "items", "impl"]


# --------------------------------------------------------------------------- rustc


@dataclass
class Diagnostics:
    errors: list[tuple[str | None, str, str]]  # (code, message, primary label)

    @property
    def codes(self) -> list[str]:
        return sorted({c for c, _, _ in self.errors if c})


def parse_diagnostics(stderr: str) -> Diagnostics:
    errors: list[tuple[str | None, str, str]] = []
    for diag in json_lines(stderr):
        if diag.get("level") not in ("error", "error: internal compiler error"):
            continue
        message = str(diag.get("message", ""))
        if message.startswith("aborting due to"):
            continue
        code = (diag.get("code") or {}).get("code")
        label = ""
        for span in diag.get("spans") or []:
            if span.get("is_primary") and span.get("label"):
                label = str(span["label"])
                break
        errors.append((code, message, label))
    return Diagnostics(errors)


_BACKTICKED = re.compile(r"`([^`]+)`")


def _root_names(text: str) -> list[str]:
    return [name.split("::")[0].strip() for name in _BACKTICKED.findall(text)]


def is_missing_crate(diags: Diagnostics, available: frozenset[str] = frozenset()) -> bool:
    """True when every error is an unresolved external crate / a path rooted at one.

    Crates in ``available`` (those passed with ``--extern``) are never missing.
    """
    if not diags.errors:
        return False
    missing: set[str] = set()
    for code, message, label in diags.errors:
        if code in _MISSING_CODES:
            roots = [r for r in _root_names(message + " " + label) if r not in STD_ROOTS]
            if "crate" in (message + label) or "unresolved import" in message:
                missing.update(r for r in roots if r and r[0].islower())
    missing -= available
    if not missing:
        return False
    for code, message, label in diags.errors:
        text = message + " " + label
        roots = set(_root_names(text))
        if code in _MISSING_CODES and roots & missing:
            continue
        if code in _RESOLUTION_CODES and roots & missing:
            continue
        if code is None and (
            "cannot determine resolution" in message
            or re.search(r"cannot find (derive |attribute )?macro", message)
        ):
            continue
        return False
    return True


_PLACEMENT_MESSAGE = re.compile(
    r"^(expected |unexpected |mismatched closing delimiter|this file contains an unclosed"
    r"|unclosed delimiter|`self` parameter is only allowed|non-item in item list|missing `"
    r"|macro expansion ignores|visibility .* not permitted|.* is not permitted|"
    r".*not allowed (in|on|here|outside)|.*only allowed (in|inside)|.* outside of |"
    r"found keyword|expected one of|incorrect (function|visibility)|free (function|constant)"
    r"|associated .* in `impl` without body|`await` is only allowed)"
)


def _is_placement_error(diags: Diagnostics) -> bool:
    """Errors that say the shape is wrong (parse errors, `self` outside impl, duplicates)."""
    for code, message, _ in diags.errors:
        if code in _PLACEMENT_CODES:
            return True
        if code is None and _PLACEMENT_MESSAGE.match(message):
            return True
    return False


@functools.cache
def rustc_available(rustc: str = "rustc") -> bool:
    path = shutil.which(rustc)
    if not path:
        return False
    try:
        result = subprocess.run([path, "--version"], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


@dataclass
class _Compiled:
    status: str  # compiles / missing_crate / fails / timeout / placement
    diags: Diagnostics
    result: SandboxResult


class RustChecker:
    """Assemble, compile and run answers; thread-safe (each check has its own temp dir)."""

    def __init__(
        self, config: CheckConfig | None = None, crates: CrateEnvironment | None = None
    ) -> None:
        self.config = config or CheckConfig()
        self.crates = crates
        self.isolation = (
            self.config.isolation if self.config.isolation is not None else detect_isolation()
        )

    @property
    def available(self) -> bool:
        return rustc_available(self.config.rustc)

    # -- low level -----------------------------------------------------------------

    def _rustc(self, source: str, workdir: Path, test: bool) -> _Compiled:
        src = workdir / "unit.rs"
        src.write_text(source, encoding="utf-8")
        extern: list[str] = []
        available: frozenset[str] = frozenset()
        if self.crates is not None:
            from qwen2_rust.evaluation.crates import infer_dependencies

            self.crates.ensure(infer_dependencies("", source))
            extern = self.crates.rustc_args()
            available = self.crates.crate_names()
        argv = [
            self.config.rustc,
            "--edition",
            self.config.edition,
            "--error-format=json",
            "--crate-name",
            "unit",
            "-A",
            "warnings",
            *extern,
        ]
        if test:
            argv += ["--test", "-C", "opt-level=0", "-C", "debuginfo=0", "-o", "unit_test"]
        else:
            argv += ["--crate-type", "lib", "--emit=metadata", "-o", "unit.rmeta"]
        argv.append("unit.rs")
        result = run_sandboxed(argv, workdir, self.config.compile_limits, isolation=self.isolation)
        diags = parse_diagnostics(result.stderr)
        if result.timed_out:
            status = TIMEOUT
        elif result.returncode == 0:
            status = COMPILES
        elif is_missing_crate(diags, available):
            status = MISSING_CRATE
        elif _is_placement_error(diags) or not diags.errors:
            status = "placement"
        else:
            status = FAILS
        return _Compiled(status, diags, result)

    # -- shapes --------------------------------------------------------------------

    def _candidates(self, answer: str, context: str) -> list[tuple[str, str]]:
        units: list[tuple[str, str]] = []
        ctx = context.rstrip()
        for shape in classify_answer(answer):
            if shape == "items":
                kept = drop_redefined(ctx, answer)
                units.append(("items", (kept + "\n" if kept.strip() else "") + answer))
            elif shape == "impl":
                for ty in declared_types(ctx):
                    units.append(("impl", f"{ctx}\nimpl {ty} {{\n{answer}\n}}"))
            else:
                masked = mask_rust(answer)
                asyn = "async " if ".await" in masked else ""
                if re.search(r"\bself\b", masked):  # a method body: inside an impl
                    for ty in declared_types(ctx):
                        units.append(
                            (
                                "snippet",
                                f"{ctx}\nimpl {ty} {{\n{asyn}fn __snippet(&mut self) {{\n"
                                f"let _ = {{\n{answer}\n}};\n}}\n}}",
                            )
                        )
                head = f"{ctx}\n{asyn}fn __snippet()"
                units.append(("snippet", f"{head} {{\n{answer}\n}}"))
                units.append(("snippet", f"{head} {{\nlet _ = {{\n{answer}\n}};\n}}"))
                if "?" in masked:  # uses `?`: give it a fallible function to live in
                    units.append(
                        (
                            "snippet",
                            f"{head} -> Result<(), Box<dyn std::error::Error>> {{\n"
                            f"{answer}\n;\nOk(())\n}}",
                        )
                    )
        return units

    def assemble(self, answer: str, context: str = "") -> tuple[CheckResult, str | None]:
        """Find a unit that holds ``answer``: (compile result, the unit source or None).

        Shapes are tried in `classify_answer` order; the first that compiles (or only lacks
        external crates) wins. Once a shape *places* the answer but rustc reports real
        errors, only the other variants of that same shape are still tried (another impl
        type, the ``let _ =`` snippet); if none works the result is ``fails``.
        """
        calls = 0
        first_fail: tuple[str, _Compiled, str] | None = None
        with tempfile.TemporaryDirectory(prefix="qwen2-rust-check-") as tmp:
            workdir = Path(tmp)
            for shape, unit in self._candidates(answer, context):
                if first_fail is not None and shape != first_fail[0]:
                    break
                compiled = self._rustc(unit, workdir, test=False)
                calls += 1
                if compiled.status in (COMPILES, MISSING_CRATE, TIMEOUT):
                    return self._result(compiled.status, shape, compiled, calls), unit
                if compiled.status == FAILS and first_fail is None:
                    first_fail = (shape, compiled, unit)
        if first_fail is not None:
            shape, compiled, unit = first_fail
            return self._result(FAILS, shape, compiled, calls), unit
        return CheckResult(status=FRAGMENT, rustc_calls=calls), None

    @staticmethod
    def _result(status: str, shape: str | None, compiled: _Compiled, calls: int) -> CheckResult:
        return CheckResult(
            status=status,
            shape=shape,
            error_codes=compiled.diags.codes,
            messages=[m for _, m, _ in compiled.diags.errors[:5]],
            seconds=compiled.result.wall_s,
            rustc_calls=calls,
        )

    # -- public checks ---------------------------------------------------------------

    def check_code(self, answer: str, context: str = "") -> CheckResult:
        """Compile-only check of an answer (placed as items, impl methods or a snippet)."""
        result, _ = self.assemble(answer, context)
        return result

    def check_completion(self, prefix: str, completion: str, suffix: str) -> CheckResult:
        """code_completion: prefix + completion + suffix, concatenated exactly."""
        result, _ = self.assemble(prefix + completion + suffix, "")
        result.shape = f"completion/{result.shape}" if result.shape else "completion"
        return result

    def check_with_tests(self, answer: str, context: str, tests: str) -> CheckResult:
        """Place ``answer``, append ``tests`` (a row's ``test`` field), build --test, run."""
        compiled, unit = self.assemble(answer, context)
        if unit is None or compiled.status == TIMEOUT:
            compiled.compile_status = compiled.status
            return compiled
        return self.run_tests(unit + "\n" + tests, compile_status=compiled.status)

    def check_test_generation(
        self, code_to_test: str, context: str, test_context: str, test_cases: Sequence[str]
    ) -> CheckResult:
        """test_generation: context + code + ``mod tests { use super::*; ... }``, run."""
        body = "\n".join(t.strip("\n") for t in test_cases)
        prelude = (test_context.strip("\n") + "\n") if test_context.strip() else ""
        unit = (
            f"{context.rstrip()}\n{code_to_test.rstrip()}\n"
            f"#[cfg(test)]\nmod tests {{\n    use super::*;\n{prelude}{body}\n}}"
        )
        return self.run_tests(unit)

    def run_tests(self, source: str, compile_status: str | None = None) -> CheckResult:
        """Build ``source`` with ``--test`` and run the harness."""
        with tempfile.TemporaryDirectory(prefix="qwen2-rust-test-") as tmp:
            workdir = Path(tmp)
            compiled = self._rustc(source, workdir, test=True)
            if compiled.status != COMPILES:
                status = FRAGMENT if compiled.status == "placement" else compiled.status
                result = self._result(status, "tests", compiled, 1)
                result.compile_status = status
                return result
            run = run_sandboxed(
                ["./unit_test", "--test-threads=2"],
                workdir,
                self.config.run_limits,
                isolation=self.isolation,
            )
        passed, failed = _test_counts(run.stdout)
        if run.timed_out:
            status = TIMEOUT
        elif run.returncode == 0 and passed > 0 and failed == 0:
            status = TESTS_PASS
        else:
            status = TESTS_FAIL
        messages = [] if status == TESTS_PASS else _tail(run.stdout + run.stderr)
        return CheckResult(
            status=status,
            shape="tests",
            messages=messages,
            tests_passed=passed,
            tests_failed=failed,
            compile_status=compile_status or COMPILES,
            seconds=compiled.result.wall_s + run.wall_s,
            rustc_calls=1,
        )


_RESULT_RE = re.compile(r"test result: \w+\. (\d+) passed; (\d+) failed")


def _test_counts(stdout: str) -> tuple[int, int]:
    passed = failed = 0
    for m in _RESULT_RE.finditer(stdout):
        passed += int(m.group(1))
        failed += int(m.group(2))
    return passed, failed


def _tail(text: str, lines: int = 5) -> list[str]:
    return [ln for ln in text.strip().splitlines()[-lines:] if ln.strip()]
