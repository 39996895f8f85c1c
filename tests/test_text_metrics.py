"""Text metrics on known values."""

from __future__ import annotations

import pytest

from qwen2_rust.evaluation import text_metrics as tm


def test_chrf_identical_disjoint_and_known_value() -> None:
    assert tm.chrf("Returns the sum.", "Returns the sum.") == pytest.approx(1.0)
    assert tm.chrf("xyz", "abc") == pytest.approx(0.0)
    # sacrebleu 2.x sentence chrF (char 6-grams, beta 2)
    assert tm.chrf("the cat sat on the mat", "the cat sat on a mat") == pytest.approx(
        0.720848, abs=1e-5
    )
    assert tm.chrf("Returns the sum.", "Returns the sum of two numbers.") == pytest.approx(
        0.501654, abs=1e-5
    )


def test_chrf_of_two_empty_strings_is_one() -> None:
    assert tm.chrf("", "") == 1.0


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3), ("flaw", "lawn", 2), ("abc", "abc", 0)],
)
def test_levenshtein(a: str, b: str, distance: int) -> None:
    assert tm.levenshtein(a, b) == distance
    assert tm.levenshtein(b, a) == distance


def test_edit_similarity_known_values() -> None:
    assert tm.edit_similarity("kitten", "sitting") == pytest.approx(1 - 3 / 7)
    assert tm.edit_similarity("", "") == 1.0
    assert tm.edit_similarity("abc", "") == 0.0
    # normalisation first: case and whitespace do not count
    assert tm.edit_similarity("Vec::new()", "vec :: new ( )") == 1.0
    assert tm.edit_similarity("Vec::new()", "vec :: new ( )", normalised=False) < 1.0


@pytest.mark.parametrize(
    ("prediction", "reference"),
    [
        ("`parse_config`", "parse_config"),
        ("```rust\nparse_config\n```", "parse_config"),
        ("Function name: parse_config", "parse_config"),
        ("  Parse_Config. ", "parse_config"),
        ("iter.next();", "iter.next()"),
        ("map.insert(k, v)", "map.insert(k,v)"),
    ],
)
def test_normalised_match(prediction: str, reference: str) -> None:
    assert tm.normalised_match(prediction, reference) == 1.0


def test_normalised_match_keeps_underscores_and_names_apart() -> None:
    assert tm.normalised_match("parsecfg", "parse_cfg") == 0.0
    assert tm.normalised_match("load", "parse_config") == 0.0


def test_exact_match_only_strips_outer_whitespace() -> None:
    assert tm.exact_match(" parse_config\n", "parse_config") == 1.0
    assert tm.exact_match("`parse_config`", "parse_config") == 0.0


def test_name_metrics_bundle() -> None:
    m = tm.name_metrics("`Parse_config`", "parse_config")
    assert m == {"exact_match": 0.0, "normalised_match": 1.0, "edit_similarity": 1.0}
