"""Crate environments: dependency inference, directory sources, cached builds, real crates.

Most tests build a one-crate directory source in a temporary directory (cargo only, a few
seconds). The Debian tests use the crates `.ci/run` installs and skip without them.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import crate_env
import pytest

from qwen2_rust.cli.evaluate import main
from qwen2_rust.evaluation import crates as cr
from qwen2_rust.evaluation import rust_check as rc
from qwen2_rust.evaluation.scoring import Scorer, read_jsonl

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "qwen2_rust" / "resources" / "sample"
needs_cargo = pytest.mark.skipif(
    shutil.which("cargo") is None or shutil.which("rustc") is None, reason="cargo not installed"
)
needs_debian = pytest.mark.skipif(
    crate_env.skip_reason() is not None, reason=crate_env.skip_reason() or ""
)

# --------------------------------------------------------------------------- inference


def test_infer_dependencies_roots_of_uses_and_paths() -> None:
    code = """
use tokio::sync::{mpsc, oneshot};
use std::io::{self, Read};
use futures::stream::{self, StreamExt};
extern crate log as logging;
mod util { pub fn f() {} }
#[tokio::main]
async fn main() {
    let v = serde_json::json!({"a": 1});
    util::f();
    stream::iter(vec![1]);
    io::stdout();
    let _ = i32::MAX + u8::MAX as i32;
    let x: Vec<u8> = Vec::new().into_iter().collect::<Vec<_>>();
    let s = "not_a::path";
    bytes::Bytes::new(); // comment::ignored
    crate::helper(); self::x(); super::y(); core::mem::drop(1); alloc::vec::Vec::<u8>::new();
}
macro_rules! m { () => { $crate::x() } }
"""
    deps = cr.infer_dependencies("my-crate", code)
    assert deps == ["my_crate", "bytes", "futures", "log", "serde_json", "tokio"]


def test_infer_dependencies_std_only_and_absent_crate_name() -> None:
    code = "use std::collections::HashMap;\nfn f() -> HashMap<u8, u8> { HashMap::new() }"
    assert cr.infer_dependencies("", code) == []
    assert cr.infer_dependencies("None", code) == []
    assert cr.infer_dependencies("serde", "", "use serde::Serialize;") == ["serde"]


def test_bundled_std_rows_infer_no_external_crates() -> None:
    # every std-only sample row: nothing but its crate_name
    for split in ("train", "test"):
        for row in read_jsonl(SAMPLE / f"{split}.jsonl"):
            deps = Scorer(use_rustc=False, warn=False).dependencies_of(row, reference=True)
            if deps is None:
                continue
            assert deps[0] == cr.crate_ident(row["crate_name"])
            if row["crate_name"] not in ("serde_json", "bytes", "tokio", "futures", "async-stream"):
                assert deps == [cr.crate_ident(row["crate_name"])], (row["crate_name"], deps)


def test_package_ids_old_and_new_format() -> None:
    new = "registry+https://github.com/rust-lang/crates.io-index#tokio@1.24.2"
    assert cr._package_of(new) == ("tokio", "1.24.2")
    old = "tokio 1.24.2 (registry+https://github.com/rust-lang/crates.io-index)"
    assert cr._package_of(old) == ("tokio", "1.24.2")


# --------------------------------------------------------------------------- sources


def _crate(root: Path, name: str, version: str, body: str, checksum: bool = False) -> Path:
    d = root / f"{name}-{version}"
    (d / "src").mkdir(parents=True)
    (d / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "{version}"\nedition = "2021"\n\n'
        "[features]\ndefault = []\nfull = []\n"
    )
    (d / "src" / "lib.rs").write_text(body)
    if checksum:
        (d / ".cargo-checksum.json").write_text('{"files":{},"package":null}')
    return d


TINY = """
pub fn double(x: i32) -> i32 { x * 2 }
#[cfg(feature = "full")]
pub fn full_only() -> bool { true }
"""


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    src = tmp_path / "registry"
    _crate(src, "tiny-math", "0.1.0", TINY)  # no .cargo-checksum.json: needs the mirror
    _crate(src, "tiny-math", "0.2.0", TINY + "pub fn v2() {}\n")
    return src


def test_directory_index_newest_version_and_lib_names(source: Path, tmp_path: Path) -> None:
    index = cr.CrateSource.from_directory(source).index(tmp_path / "cache")
    assert set(index) == {"tiny_math"}
    assert index["tiny_math"].version == "0.2.0" and "full" in index["tiny_math"].features
    assert list((tmp_path / "cache").glob("index-*.json"))  # cached for the next run


def test_bad_sources_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(cr.CrateError, match="not a directory"):
        cr.CrateSource.from_directory(tmp_path / "nope")
    with pytest.raises(cr.CrateError, match="holds no crates"):
        cr.CrateSource.from_directory(tmp_path)


def test_make_environment_modes(source: Path, tmp_path: Path) -> None:
    assert cr.make_environment("off", cache_dir=tmp_path) is None
    with pytest.raises(cr.CrateError, match="--crate-source is for --crates offline"):
        cr.make_environment("online", source, cache_dir=tmp_path)
    if shutil.which("cargo"):
        env = cr.make_environment(None, source, cache_dir=tmp_path)
        assert env is not None and env.mode == "offline" and env.source.directory == source
    with pytest.raises(cr.CrateError, match="needs cargo"):
        cr.make_environment("offline", source, cargo="/no/such/cargo", cache_dir=tmp_path)


# --------------------------------------------------------------------------- building


@needs_cargo
def test_environment_builds_once_and_checks_use_it(source: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = cr.CrateEnvironment(cr.CrateSource.from_directory(source), cache_dir=cache)
    states = []
    threads = [
        threading.Thread(target=lambda: states.append(env.ensure(["tiny_math", "absent"])))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(s) for s in states}) == 1  # one build shared by the threads
    assert env.resolve(["tiny_math", "absent"]) == {"tiny_math": "0.2.0", "absent": None}
    assert env.summary()["features"] == {"tiny_math": ["full"]}
    assert env.summary()["failed"] == {"absent": "not in the crate source"}
    assert len(list(cache.glob("env-*/environment.json"))) == 1

    checker = rc.RustChecker(crates=env)
    ok = checker.check_code(
        "pub fn f() -> i32 { tiny_math::double(2) + tiny_math::full_only() as i32 }"
    )
    assert ok.status == rc.COMPILES
    # the crate is there: an unknown item in it is a real error, not a missing crate
    bad = checker.check_code("pub fn f() -> i32 { tiny_math::triple(2) }")
    assert bad.status == rc.FAILS
    missing = checker.check_code("pub fn f() -> i32 { other_crate::triple(2) }")
    assert missing.status == rc.MISSING_CRATE
    tests = checker.check_with_tests(
        "pub fn f() -> i32 { tiny_math::double(21) }",
        "",
        "#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() { assert_eq!(super::f(), 42); }\n}",
    )
    assert tests.status == rc.TESTS_PASS

    # a second process (here: instance) reuses the cached environment without cargo
    again = cr.CrateEnvironment(
        cr.CrateSource.from_directory(source), cache_dir=cache, cargo="/no/such/cargo"
    )
    assert again.ensure(["tiny_math"]) is not None and not again.built_now
    assert again.rustc_args() == env.rustc_args()


@needs_cargo
def test_changed_source_gives_a_new_environment(source: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = cr.CrateEnvironment(cr.CrateSource.from_directory(source), cache_dir=cache)
    env.ensure(["tiny_math"])
    _crate(source, "tiny-math", "0.3.0", TINY + "pub fn v3() {}\n")
    fresh = cr.CrateEnvironment(cr.CrateSource.from_directory(source), cache_dir=cache)
    fresh.ensure(["tiny_math"])
    assert fresh.built_now and fresh.resolve(["tiny_math"]) == {"tiny_math": "0.3.0"}
    assert (
        rc.RustChecker(crates=fresh).check_code("pub fn f() { tiny_math::v3() }").status
        == rc.COMPILES
    )


@needs_cargo
def test_a_crate_that_fails_to_build_is_reported(source: Path, tmp_path: Path) -> None:
    _crate(source, "broken", "1.0.0", 'pub fn f() -> u8 { "no" }\n', checksum=True)
    env = cr.CrateEnvironment(cr.CrateSource.from_directory(source), cache_dir=tmp_path / "c")
    env.ensure(["tiny_math", "broken"])
    assert env.resolve(["tiny_math", "broken"]) == {"tiny_math": "0.2.0", "broken": None}
    assert env.summary()["failed"]["broken"].startswith("build failed")


@needs_cargo
@pytest.mark.slow
def test_online_mode_without_network_fails_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "cargo-home"))
    monkeypatch.setenv("CARGO_NET_RETRY", "0")
    monkeypatch.setenv("CARGO_HTTP_TIMEOUT", "5")
    env = cr.make_environment("online", cache_dir=tmp_path / "cache", build_timeout_s=60)
    assert env is not None
    try:
        env.ensure(["serde"])
    except cr.CrateError as exc:
        assert "\n" not in str(exc) and "crates.io" in str(exc)
    else:  # this machine can reach crates.io after all
        assert env.resolve(["serde"])["serde"] is not None


# --------------------------------------------------------------------------- Debian crates


def _crate_rows() -> list[dict]:
    rows = read_jsonl(SAMPLE / "train.jsonl")
    scorer = Scorer(use_rustc=False, warn=False)
    return [
        r
        for r in rows
        if len(scorer.dependencies_of(r, reference=True) or []) > 1
        or r["crate_name"] in ("serde_json", "bytes", "tokio", "futures", "async-stream")
    ]


@needs_debian
@pytest.mark.slow
def test_sample_rows_with_real_crates_compile_offline() -> None:
    rows = _crate_rows()
    assert {r["crate_name"] for r in rows} >= {"serde_json", "bytes", "tokio", "futures"}
    scorer = Scorer(rc.RustChecker(crates=crate_env.environment()))
    scores = scorer.score_rows(rows, jobs=2, reference=True)
    for s in scores:
        assert s.status in (rc.COMPILES, rc.TESTS_PASS), (s.category, s.status, s.messages)
        assert s.dependencies and s.dependencies_resolved, s.dependencies
    assert any(s.status == rc.TESTS_PASS for s in scores)


@needs_debian
@pytest.mark.slow
def test_wrong_answers_fail_for_real_reasons_not_missing_crate() -> None:
    checker = rc.RustChecker(crates=crate_env.environment())
    wrong_api = checker.check_code(
        "pub async fn f() { let (tx, _rx) = tokio::sync::mpsc::channel::<u8>(1); tx.push(1); }"
    )
    assert wrong_api.status == rc.FAILS
    wrong_path = checker.check_code("use bytes::NoSuchBuf;\npub fn f(_: NoSuchBuf) {}")
    assert wrong_path.status == rc.FAILS
    json_ok = checker.check_code('let v = serde_json::json!({"a": 1});\nassert!(v.is_object());')
    assert json_ok.status == rc.COMPILES


@needs_debian
@pytest.mark.slow
def test_cli_offline_report_records_versions_and_coverage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QWEN2_RUST_CACHE", str(crate_env.cache_dir().parent))
    crate_env.environment()  # built (or reused) under the same cache
    rows = _crate_rows()
    gens = tmp_path / "gens.jsonl"
    with gens.open("w") as fh:
        for r in rows:
            fh.write(json.dumps({**r, "prediction": "no code here", "model": "m"}) + "\n")
    out = tmp_path / "eval"
    args = ["score", "--reference", str(gens), "--out-dir", str(out), "--no-charts"]
    code = main([*args, "--crates", "offline", "--crate-source", str(cr.DEBIAN_REGISTRY)])
    assert code == 0
    data = json.loads((out / "report.json").read_text())
    assert data["crates"]["mode"] == "offline"
    assert data["crates"]["versions"]["tokio"] and data["crates"]["versions"]["serde_json"]
    model = data["models"][0]
    assert model["overall"]["dependency_coverage"]["share"] == 1.0
    assert set(model["overall"]["statuses"]) <= {"compiles", "tests_pass", "scored"}
    rows_out = model["rows"]
    assert all(r["dependencies"] for r in rows_out if r["answer_kind"] != "text")
    md = (out / "report.md").read_text()
    assert "deps resolved" in md and "## Crates (offline" in md
    assert "crates (offline):" in capsys.readouterr().out


def test_an_unreferenced_crate_name_is_recorded_but_not_required() -> None:
    from qwen2_rust.evaluation.scoring import RowScore

    score = RowScore(
        key="k",
        index=0,
        category="code_generation",
        answer_kind="code",
        crate_name="my-lib",
        status="compiles",
        dependencies={"my_lib": None, "serde_json": "1.0.87"},
        required_dependencies=["serde_json"],
    )
    assert score.dependencies_resolved is True
    score.required_dependencies = ["my_lib", "serde_json"]
    assert score.dependencies_resolved is False
