"""Unit assembly, classification and the sandbox: each status on real rustc calls."""

from __future__ import annotations

import shutil

import pytest

from qwen2_rust.evaluation import rust_check as rc
from qwen2_rust.evaluation.sandbox import Limits, detect_isolation, run_sandboxed

needs_rustc = pytest.mark.skipif(shutil.which("rustc") is None, reason="rustc not installed")

CONTEXT = """use std::collections::HashMap;

pub struct Store {
    map: HashMap<String, String>,
}

pub fn helper(x: i32) -> i32 {
    x * 2
}"""


@pytest.fixture(scope="module")
def checker() -> rc.RustChecker:
    return rc.RustChecker(
        rc.CheckConfig(
            compile_limits=Limits(wall_s=20.0),
            run_limits=Limits(wall_s=2.0, memory_mb=256, processes=32),
        )
    )


# --------------------------------------------------------------------------- pure helpers


def test_mask_rust_blanks_strings_comments_and_chars_not_lifetimes() -> None:
    src = "fn f<'a>(s: &'a str) -> char { let _ = \"}{\"; // }\n '}' } /* { */"
    masked = rc.mask_rust(src)
    assert len(masked) == len(src)
    assert masked.count("{") == masked.count("}") == 1
    assert "'a" in masked


def test_split_top_level_items_and_statements() -> None:
    src = (
        "#[derive(Debug)]\nstruct A { x: u8 }\nimpl A { fn get(&self) -> u8 { self.x } }\n"
        'let y = if true { 1 } else { 2 };\nfor i in 0..3 { println!("{i}"); }\nx + 1'
    )
    chunks = rc.split_top_level(src)
    assert [c.text.split()[0] for c in chunks] == ["#[derive(Debug)]", "impl", "let", "for", "x"]
    assert chunks[0].head.startswith("struct A")


def test_item_keys_and_declared_types() -> None:
    keys = {rc.item_key(c) for c in rc.split_top_level(CONTEXT)}
    assert ("type", "Store") in keys and ("value", "helper") in keys
    assert rc.declared_types(CONTEXT + "\nenum Mode { A }") == ["Store", "Mode"]


def test_drop_redefined_removes_only_the_redefined_item() -> None:
    kept = rc.drop_redefined(CONTEXT, "pub fn helper(x: i32) -> i32 { x + 1 }")
    assert "x * 2" not in kept and "pub struct Store" in kept and "use std::collections" in kept


@pytest.mark.parametrize(
    ("answer", "first"),
    [
        ("fn f() {}", "items"),
        ("/// doc\n#[inline]\npub fn f() {}", "items"),
        ("pub fn get(&self) -> u8 { 1 }", "impl"),
        ("fn new() -> Self { Self {} }", "impl"),
        ("let x = 1;\nx + 1", "snippet"),
        ("vec![1, 2].len()", "snippet"),
    ],
)
def test_classify_answer_order(answer: str, first: str) -> None:
    assert rc.classify_answer(answer)[0] == first


def test_missing_crate_detection_on_diagnostics() -> None:
    missing = rc.Diagnostics(
        [
            ("E0432", "unresolved import `serde`", "use of unresolved module or unlinked crate"),
            ("E0433", "cannot find module or crate `tokio` in this scope", ""),
        ]
    )
    assert rc.is_missing_crate(missing)
    mixed = rc.Diagnostics([*missing.errors, ("E0308", "mismatched types", "")])
    assert not rc.is_missing_crate(mixed)
    std_only = rc.Diagnostics([("E0432", "unresolved import `std::nope`", "")])
    assert not rc.is_missing_crate(std_only)
    # a crate passed with --extern is never "missing": an unknown path in it is a real error
    assert not rc.is_missing_crate(missing, available=frozenset({"serde", "tokio"}))


# --------------------------------------------------------------------------- rustc


@needs_rustc
def test_item_that_compiles(checker: rc.RustChecker) -> None:
    r = checker.check_code("pub fn add(a: i32, b: i32) -> i32 { a + b }")
    assert (r.status, r.shape) == (rc.COMPILES, "items")


@needs_rustc
def test_type_error_fails_with_code(checker: rc.RustChecker) -> None:
    r = checker.check_code('pub fn add(a: i32) -> i32 { "not a number" }')
    assert r.status == rc.FAILS
    assert "E0308" in r.error_codes


@needs_rustc
def test_only_missing_external_crate(checker: rc.RustChecker) -> None:
    answer = (
        "use serde::{Deserialize, Serialize};\n#[derive(Serialize, Deserialize)]\n"
        "pub struct A { x: u8 }\npub fn to_json(a: &A) -> String { "
        "serde_json::to_string(a).unwrap() }"
    )
    r = checker.check_code(answer)
    assert r.status == rc.MISSING_CRATE
    assert set(r.error_codes) <= {"E0432", "E0433"}


@needs_rustc
def test_missing_crate_plus_type_error_fails(checker: rc.RustChecker) -> None:
    r = checker.check_code("use tokio::sync::Mutex;\npub fn f() -> u8 { 'x' }")
    assert r.status == rc.FAILS


@needs_rustc
def test_statements_are_wrapped_in_a_function(checker: rc.RustChecker) -> None:
    r = checker.check_code("let doubled = helper(21);\nassert_eq!(doubled, 42);", CONTEXT)
    assert (r.status, r.shape) == (rc.COMPILES, "snippet")


@needs_rustc
def test_expression_with_a_value_is_placed(checker: rc.RustChecker) -> None:
    r = checker.check_code("helper(3) + 1", CONTEXT)
    assert (r.status, r.shape) == (rc.COMPILES, "snippet")


@needs_rustc
def test_self_method_goes_into_impl_of_context_type(checker: rc.RustChecker) -> None:
    answer = "pub fn len(&self) -> usize {\n    self.map.len()\n}"
    r = checker.check_code(answer, CONTEXT)
    assert (r.status, r.shape) == (rc.COMPILES, "impl")


@needs_rustc
def test_self_method_tries_each_declared_type(checker: rc.RustChecker) -> None:
    ctx = "pub struct Other;\n" + CONTEXT
    r = checker.check_code("pub fn keys(&self) -> usize { self.map.keys().count() }", ctx)
    assert (r.status, r.shape) == (rc.COMPILES, "impl")


@needs_rustc
def test_redefined_context_item_is_dropped(checker: rc.RustChecker) -> None:
    r = checker.check_code("pub fn helper(x: i32) -> i32 {\n    x << 1\n}", CONTEXT)
    assert (r.status, r.shape) == (rc.COMPILES, "items")


@needs_rustc
def test_async_snippet_with_await(checker: rc.RustChecker) -> None:
    ctx = "async fn get() -> u8 { 1 }"
    r = checker.check_code("let v = get().await;\nassert_eq!(v, 1);", ctx)
    assert r.status == rc.COMPILES


@needs_rustc
@pytest.mark.parametrize("answer", ["this is not rust {", "Here is the answer: it works."])
def test_unplaceable_text_is_fragment_not_fails(checker: rc.RustChecker, answer: str) -> None:
    assert checker.check_code(answer).status == rc.FRAGMENT


@needs_rustc
def test_self_method_without_a_type_to_hold_it_is_fragment(checker: rc.RustChecker) -> None:
    assert checker.check_code("fn get(&self) -> u8 { 1 }").status == rc.FRAGMENT


@needs_rustc
def test_completion_is_prefix_plus_completion_plus_suffix(checker: rc.RustChecker) -> None:
    prefix = "pub fn square(x: i64) -> i64 {\n    "
    assert checker.check_completion(prefix, "x * x", "\n}").status == rc.COMPILES
    assert checker.check_completion(prefix, 'x * "x"', "\n}").status == rc.FAILS


ADD = "pub fn add(a: i32, b: i32) -> i32 { a + b }"


@needs_rustc
def test_generated_tests_pass(checker: rc.RustChecker) -> None:
    r = checker.check_test_generation(
        ADD, "", "", ["#[test]\nfn t() { assert_eq!(add(1, 2), 3); }"]
    )
    assert (r.status, r.tests_passed, r.tests_failed) == (rc.TESTS_PASS, 1, 0)


@needs_rustc
def test_generated_tests_fail(checker: rc.RustChecker) -> None:
    tests = [
        "#[test]\nfn ok() { assert_eq!(add(1, 2), 3); }",
        "#[test]\nfn bad() { assert_eq!(add(1, 2), 4); }",
    ]
    r = checker.check_test_generation(ADD, "", "", tests)
    assert (r.status, r.tests_passed, r.tests_failed) == (rc.TESTS_FAIL, 1, 1)


@needs_rustc
def test_tests_that_do_not_compile_report_compile_status(checker: rc.RustChecker) -> None:
    r = checker.check_test_generation(ADD, "", "", ["#[test]\nfn t() { add(1); }"])
    assert r.status == rc.FAILS
    assert "E0061" in r.error_codes


@needs_rustc
def test_row_test_field_runs_against_the_placed_answer(checker: rc.RustChecker) -> None:
    unit_result, unit = checker.assemble("pub fn len(&self) -> usize { self.map.len() }", CONTEXT)
    assert unit_result.status == rc.COMPILES and unit is not None
    test = (
        "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn empty() {\n"
        "        let s = Store { map: HashMap::new() };\n        assert_eq!(s.len(), 0);\n    }\n}"
    )
    assert checker.run_tests(unit + "\n" + test).status == rc.TESTS_PASS


@needs_rustc
def test_infinite_loop_is_killed_at_the_run_limit(checker: rc.RustChecker) -> None:
    r = checker.check_test_generation(ADD, "", "", ["#[test]\nfn spin() { loop {} }"])
    assert r.status == rc.TIMEOUT


@needs_rustc
def test_memory_bomb_is_stopped_by_the_memory_limit(checker: rc.RustChecker) -> None:
    bomb = (
        "#[test]\nfn bomb() {\n    let mut v: Vec<Vec<u8>> = Vec::new();\n"
        "    loop { v.push(vec![1u8; 1 << 24]); }\n}"
    )
    r = checker.check_test_generation(ADD, "", "", [bomb])
    assert r.status in (rc.TESTS_FAIL, rc.TIMEOUT)
    assert r.tests_passed == 0


@needs_rustc
def test_fork_bomb_costs_at_most_its_limit(checker: rc.RustChecker) -> None:
    bomb = (
        "#[test]\nfn fork() {\n    loop {\n        let _ = std::process::Command::new"
        '("/proc/self/exe").spawn();\n    }\n}'
    )
    r = checker.check_test_generation(ADD, "", "", [bomb])
    assert r.status in (rc.TIMEOUT, rc.TESTS_FAIL)


@needs_rustc
def test_compile_timeout(tmp_path) -> None:
    slow = rc.RustChecker(rc.CheckConfig(compile_limits=Limits(wall_s=0.01)))
    assert slow.check_code("pub fn f() {}").status == rc.TIMEOUT


# --------------------------------------------------------------------------- sandbox


def test_sandbox_caps_huge_output(tmp_path) -> None:
    limits = Limits(wall_s=5, output_bytes=1000)
    r = run_sandboxed(["sh", "-c", "yes spam | head -c 2000000"], tmp_path, limits)
    assert r.returncode == 0 and r.truncated and len(r.stdout) == 1000


def test_sandbox_kills_the_whole_group_on_timeout(tmp_path) -> None:
    marker = tmp_path / "late"
    r = run_sandboxed(
        ["sh", "-c", f"(sleep 2; touch {marker}) & sleep 30"], tmp_path, Limits(wall_s=0.5)
    )
    assert r.timed_out
    import time

    time.sleep(2.5)
    assert not marker.exists()


def test_sandbox_file_size_limit(tmp_path) -> None:
    r = run_sandboxed(
        ["sh", "-c", "head -c 5000000 /dev/zero > big"], tmp_path, Limits(file_size_mb=1)
    )
    assert r.returncode != 0
    assert (tmp_path / "big").stat().st_size <= 1024 * 1024


def test_sandbox_missing_program_does_not_raise(tmp_path) -> None:
    r = run_sandboxed(["/no/such/program"], tmp_path, Limits(wall_s=2))
    assert not r.ok


def test_isolation_is_detected() -> None:
    assert detect_isolation() in ("bwrap", "unshare", "none")


# --------------------------------------------------------------------------- no rustc


def test_no_rustc_is_detected() -> None:
    checker = rc.RustChecker(rc.CheckConfig(rustc="/no/such/rustc"))
    assert not checker.available


@needs_rustc
def test_snippet_using_question_mark_gets_a_fallible_function(checker: rc.RustChecker) -> None:
    r = checker.check_code('let n: i32 = "42".parse()?;\nassert_eq!(n, 42);')
    assert (r.status, r.shape) == (rc.COMPILES, "snippet")


def test_sandbox_has_no_network_when_isolated(tmp_path) -> None:
    if detect_isolation() == "none":
        pytest.skip("no network isolation available on this machine")
    r = run_sandboxed(["cat", "/proc/net/dev"], tmp_path, Limits(wall_s=5))
    interfaces = [ln.split(":")[0].strip() for ln in r.stdout.splitlines()[2:]]
    assert interfaces == ["lo"]


@needs_rustc
def test_statements_using_self_become_a_method_body(checker: rc.RustChecker) -> None:
    r = checker.check_code("self.map.values().map(|v| v.len()).sum::<usize>()", CONTEXT)
    assert (r.status, r.shape) == (rc.COMPILES, "snippet")


@needs_rustc
def test_generic_self_method_goes_into_impl(checker: rc.RustChecker) -> None:
    answer = "pub fn count_by<F: Fn(&str) -> bool>(&self, f: F) -> usize {\n"
    answer += "    self.map.keys().filter(|k| f(k)).count()\n}"
    r = checker.check_code(answer, CONTEXT)
    assert (r.status, r.shape, r.rustc_calls) == (rc.COMPILES, "impl", 1)
