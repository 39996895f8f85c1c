#!/usr/bin/env python3
"""Build the bundled Strandset-Rust sample: ``src/qwen2_rust/resources/sample/{train,test}.jsonl``.

Every row is written in the *raw* Strandset format: ``input_data`` is ``repr()`` of a dict (a
Python literal, single quotes and ``None``), ``output_data`` is ``json.dumps()`` of a dict, and
``test`` is usually empty. The rows live below as Python data; the output is byte-identical
on every run. The Rust is edition 2021 and std-only, except a few train rows at the end that
use real crates (tokio, futures, serde_json, bytes, async-stream); ``tests/test_sample_data.py``
compiles every code answer (and runs the tests) under the fragment-assembly rules the
evaluator uses, the crate rows against a crate environment (skipped without one).

Usage::

    uv run python scripts/build_sample.py          # write the two files
    uv run python scripts/build_sample.py --check  # exit 1 if the files are out of date
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "src" / "qwen2_rust" / "resources" / "sample"
SPLITS = ("train", "test")
TRAIN_MIN_PER_CATEGORY = 5
TEST_PER_CATEGORY = 2

ROWS: list[tuple[str, dict[str, str]]] = []


def rs(text: str) -> str:
    """Rust source written at column 0 inside a triple-quoted string."""
    return text.strip("\n")


def add(
    split: str,
    crate: str,
    category: str,
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    test: str = "",
) -> None:
    """Append one raw row; ``inputs`` keep their order (the task table's field order)."""
    row = {
        "crate_name": crate,
        "input_data": repr(inputs),
        "output_data": json.dumps(outputs),
        "task_category": category,
        "test": test,
    }
    ROWS.append((split, row))


def unit_tests(body: str) -> str:
    """A `test` field: ``body`` (indented #[test] fns) inside a cfg(test) module."""
    return "#[cfg(test)]\nmod tests {\n    use super::*;\n" + rs(body) + "\n}"


# ================================================================== shared long modules

EXPR_EVAL = rs(r"""
use std::fmt;

/// A lexical token of an arithmetic expression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Token {
    Num(f64),
    Plus,
    Minus,
    Star,
    Slash,
    LParen,
    RParen,
}

/// Errors produced while tokenizing, parsing or evaluating.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprError {
    UnexpectedChar(char, usize),
    UnexpectedToken(usize),
    UnexpectedEnd,
    DivisionByZero,
    InvalidNumber(String),
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExprError::UnexpectedChar(c, pos) => write!(f, "unexpected character {c:?} at {pos}"),
            ExprError::UnexpectedToken(pos) => write!(f, "unexpected token at position {pos}"),
            ExprError::UnexpectedEnd => write!(f, "unexpected end of input"),
            ExprError::DivisionByZero => write!(f, "division by zero"),
            ExprError::InvalidNumber(s) => write!(f, "invalid number {s:?}"),
        }
    }
}

impl std::error::Error for ExprError {}

/// Splits `input` into tokens, skipping whitespace.
pub fn tokenize(input: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' => {
                i += 1;
                continue;
            }
            '+' => tokens.push(Token::Plus),
            '-' => tokens.push(Token::Minus),
            '*' => tokens.push(Token::Star),
            '/' => tokens.push(Token::Slash),
            '(' => tokens.push(Token::LParen),
            ')' => tokens.push(Token::RParen),
            '0'..='9' | '.' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let value = text
                    .parse::<f64>()
                    .map_err(|_| ExprError::InvalidNumber(text.clone()))?;
                tokens.push(Token::Num(value));
                continue;
            }
            other => return Err(ExprError::UnexpectedChar(other, i)),
        }
        i += 1;
    }
    Ok(tokens)
}

/// Recursive-descent parser and evaluator over a token slice.
struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(tokens: &'a [Token]) -> Self {
        Parser { tokens, pos: 0 }
    }

    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.pos).copied()
    }

    fn advance(&mut self) -> Option<Token> {
        let token = self.peek();
        if token.is_some() {
            self.pos += 1;
        }
        token
    }

    // expr := term (('+' | '-') term)*
    fn expr(&mut self) -> Result<f64, ExprError> {
        let mut value = self.term()?;
        while let Some(op) = self.peek() {
            match op {
                Token::Plus => {
                    self.advance();
                    value += self.term()?;
                }
                Token::Minus => {
                    self.advance();
                    value -= self.term()?;
                }
                _ => break,
            }
        }
        Ok(value)
    }

    // term := factor (('*' | '/') factor)*
    fn term(&mut self) -> Result<f64, ExprError> {
        let mut value = self.factor()?;
        while let Some(op) = self.peek() {
            match op {
                Token::Star => {
                    self.advance();
                    value *= self.factor()?;
                }
                Token::Slash => {
                    self.advance();
                    let divisor = self.factor()?;
                    if divisor == 0.0 {
                        return Err(ExprError::DivisionByZero);
                    }
                    value /= divisor;
                }
                _ => break,
            }
        }
        Ok(value)
    }

    // factor := number | '-' factor | '(' expr ')'
    fn factor(&mut self) -> Result<f64, ExprError> {
        match self.advance() {
            Some(Token::Num(n)) => Ok(n),
            Some(Token::Minus) => Ok(-self.factor()?),
            Some(Token::LParen) => {
                let value = self.expr()?;
                match self.advance() {
                    Some(Token::RParen) => Ok(value),
                    Some(_) => Err(ExprError::UnexpectedToken(self.pos - 1)),
                    None => Err(ExprError::UnexpectedEnd),
                }
            }
            Some(_) => Err(ExprError::UnexpectedToken(self.pos - 1)),
            None => Err(ExprError::UnexpectedEnd),
        }
    }
}

/// Evaluates an arithmetic expression such as `2 * (3 + 4) / 7`.
pub fn evaluate(input: &str) -> Result<f64, ExprError> {
    let tokens = tokenize(input)?;
    let mut parser = Parser::new(&tokens);
    let value = parser.expr()?;
    if parser.pos != tokens.len() {
        return Err(ExprError::UnexpectedToken(parser.pos));
    }
    Ok(value)
}
""")

INI_PARSER = rs(r"""
use std::collections::HashMap;
use std::fmt;

/// An error found while parsing an INI document, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// A parsed INI document: section name -> (key -> value).
/// Keys that appear before any section header live in the "" section.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ini {
    sections: HashMap<String, HashMap<String, String>>,
}

impl Ini {
    pub fn parse(text: &str) -> Result<Ini, ParseError> {
        let mut ini = Ini::default();
        let mut current = String::new();
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let name = rest.strip_suffix(']').ok_or_else(|| ParseError {
                    line: line_no,
                    message: "section header is missing ']'".to_string(),
                })?;
                let name = name.trim();
                if name.is_empty() {
                    return Err(ParseError {
                        line: line_no,
                        message: "empty section name".to_string(),
                    });
                }
                current = name.to_string();
                ini.sections.entry(current.clone()).or_default();
                continue;
            }
            let (key, value) = line.split_once('=').ok_or_else(|| ParseError {
                line: line_no,
                message: format!("expected 'key = value', found {line:?}"),
            })?;
            let key = key.trim();
            if key.is_empty() {
                return Err(ParseError {
                    line: line_no,
                    message: "empty key".to_string(),
                });
            }
            ini.sections
                .entry(current.clone())
                .or_default()
                .insert(key.to_string(), unquote(value.trim()).to_string());
        }
        Ok(ini)
    }

    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections.get(section)?.get(key).map(String::as_str)
    }

    pub fn get_or<'a>(&'a self, section: &str, key: &str, default: &'a str) -> &'a str {
        self.get(section, key).unwrap_or(default)
    }

    pub fn get_bool(&self, section: &str, key: &str) -> Option<bool> {
        match self.get(section, key)?.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Some(true),
            "0" | "false" | "no" | "off" => Some(false),
            _ => None,
        }
    }

    pub fn get_int(&self, section: &str, key: &str) -> Option<i64> {
        self.get(section, key)?.parse().ok()
    }

    pub fn section_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.sections.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        self.sections
            .entry(section.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
    }

    pub fn to_string_sorted(&self) -> String {
        let mut out = String::new();
        for name in self.section_names() {
            if !name.is_empty() {
                out.push_str(&format!("[{name}]\n"));
            }
            let section = &self.sections[name];
            let mut keys: Vec<&String> = section.keys().collect();
            keys.sort();
            for key in keys {
                out.push_str(&format!("{key} = {}\n", section[key]));
            }
        }
        out
    }
}

/// Removes a trailing `;` or `#` comment that is not inside double quotes.
fn strip_comment(line: &str) -> &str {
    let mut in_quotes = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ';' | '#' if !in_quotes => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Strips one pair of surrounding double quotes, if present.
fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}
""")

# ================================================================== code_generation

add(
    "train",
    "tiny-expr",
    "code_generation",
    {
        "title": "Arithmetic expression evaluator",
        "description": (
            "Implement a small evaluator for arithmetic expressions with +, -, *, /, unary "
            "minus and parentheses over f64 numbers. Tokenize the input first, then parse "
            "it with a recursive-descent parser that respects operator precedence. Report "
            "unexpected characters, unexpected tokens, a premature end of input, invalid "
            "numbers and division by zero through an error enum that implements Display."
        ),
    },
    {"code": EXPR_EVAL},
    unit_tests(r"""
    #[test]
    fn respects_precedence_and_parentheses() {
        assert_eq!(evaluate("2 * (3 + 4) / 7"), Ok(2.0));
        assert_eq!(evaluate("1 + 2 * 3"), Ok(7.0));
        assert_eq!(evaluate("-(2 - 5)"), Ok(3.0));
    }

    #[test]
    fn reports_errors() {
        assert_eq!(evaluate("1 / 0"), Err(ExprError::DivisionByZero));
        assert_eq!(evaluate("(1 + 2"), Err(ExprError::UnexpectedEnd));
        assert_eq!(evaluate("2 $ 3"), Err(ExprError::UnexpectedChar('$', 2)));
    }
"""),
)

add(
    "train",
    "ring_buffer",
    "code_generation",
    {
        "title": "Overwriting push for a fixed-capacity ring buffer",
        "description": (
            "Add a `push` method to `RingBuffer` that appends a value. When the buffer is "
            "full, the oldest value is overwritten and returned; otherwise return None."
        ),
        "code_context": rs(r"""
pub struct RingBuffer {
    slots: Vec<Option<u32>>,
    head: usize,
    len: usize,
}

impl RingBuffer {
    pub fn with_capacity(capacity: usize) -> Self {
        assert!(capacity > 0, "capacity must be positive");
        RingBuffer { slots: vec![None; capacity], head: 0, len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }
}
"""),
    },
    {
        "code": rs(r"""
pub fn push(&mut self, value: u32) -> Option<u32> {
    let capacity = self.slots.len();
    let tail = (self.head + self.len) % capacity;
    if self.len == capacity {
        let evicted = self.slots[self.head].replace(value);
        self.head = (self.head + 1) % capacity;
        evicted
    } else {
        self.slots[tail] = Some(value);
        self.len += 1;
        None
    }
}
""")
    },
    unit_tests(r"""
    #[test]
    fn overwrites_oldest_when_full() {
        let mut ring = RingBuffer::with_capacity(2);
        assert_eq!(ring.push(1), None);
        assert_eq!(ring.push(2), None);
        assert_eq!(ring.push(3), Some(1));
        assert_eq!(ring.push(4), Some(2));
        assert_eq!(ring.len(), 2);
    }
"""),
)

add(
    "train",
    "slugify-lite",
    "code_generation",
    {
        "title": "Turn a title into a URL slug",
        "description": (
            "Write `slugify(text: &str) -> String` that lowercases ASCII letters, keeps "
            "digits, and replaces every run of other characters with a single '-', without "
            "leading or trailing dashes."
        ),
        "code_context": None,
    },
    {
        "code": rs(r"""
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    let mut pending_dash = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.push(c.to_ascii_lowercase());
        } else {
            pending_dash = true;
        }
    }
    slug
}
""")
    },
)

add(
    "train",
    "semver_parse",
    "code_generation",
    {
        "title": "Parse a semantic version string",
        "description": (
            'Implement `FromStr` for `Version` so that strings like "1.4.2" parse into '
            "their major, minor and patch numbers. Anything that is not exactly three "
            "dot-separated unsigned integers is an error."
        ),
        "code_context": rs(r"""
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionError {
    WrongPartCount(usize),
    InvalidNumber(String),
}
"""),
    },
    {
        "code": rs(r"""
impl std::str::FromStr for Version {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split('.').collect();
        if parts.len() != 3 {
            return Err(VersionError::WrongPartCount(parts.len()));
        }
        let number = |part: &str| {
            part.parse::<u64>()
                .map_err(|_| VersionError::InvalidNumber(part.to_string()))
        };
        Ok(Version {
            major: number(parts[0])?,
            minor: number(parts[1])?,
            patch: number(parts[2])?,
        })
    }
}
""")
    },
    unit_tests(r"""
    #[test]
    fn parses_and_rejects() {
        let v: Version = "1.4.2".parse().unwrap();
        assert_eq!(v, Version { major: 1, minor: 4, patch: 2 });
        assert_eq!("1.4".parse::<Version>(), Err(VersionError::WrongPartCount(2)));
        assert_eq!(
            "1.x.0".parse::<Version>(),
            Err(VersionError::InvalidNumber("x".to_string()))
        );
    }
"""),
)

add(
    "train",
    "histo",
    "code_generation",
    {
        "title": "Rank words by frequency",
        "description": (
            "Count how often each whitespace-separated word of TEXT occurs and build a "
            "vector of (word, count) pairs sorted by descending count, ties broken "
            "alphabetically."
        ),
        "code_context": 'const TEXT: &str = "the cat and the dog and the bird";',
    },
    {
        "code": rs(r"""
let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
for word in TEXT.split_whitespace() {
    *counts.entry(word).or_insert(0) += 1;
}
let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
""")
    },
)

add(
    "test",
    "chunked-iter",
    "code_generation",
    {
        "title": "Sum consecutive chunks",
        "description": (
            "Write `chunk_sums(values: &[i64], size: usize) -> Vec<i64>` returning the sum "
            "of each consecutive chunk of `size` elements (the last chunk may be shorter). "
            "A size of zero yields an empty vector."
        ),
    },
    {
        "code": rs(r"""
pub fn chunk_sums(values: &[i64], size: usize) -> Vec<i64> {
    if size == 0 {
        return Vec::new();
    }
    values.chunks(size).map(|chunk| chunk.iter().sum()).collect()
}
""")
    },
)

add(
    "test",
    "kv-store",
    "code_generation",
    {
        "title": "Lookup with a default value",
        "description": (
            "Add a method `get_or(&self, key: &str, default: &str) -> String` to `Store` "
            "that returns the stored value for `key`, or `default` when the key is absent."
        ),
        "code_context": rs(r"""
use std::collections::HashMap;

pub struct Store {
    map: HashMap<String, String>,
}
"""),
    },
    {
        "code": rs(r"""
pub fn get_or(&self, key: &str, default: &str) -> String {
    self.map
        .get(key)
        .cloned()
        .unwrap_or_else(|| default.to_string())
}
""")
    },
)

# ================================================================== docstring_generation

add(
    "train",
    "rand_xorshift",
    "docstring_generation",
    {
        "code": rs(r"""
pub fn xorshift32(state: &mut u32) -> u32 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    x
}
"""),
    },
    {
        "docstring": rs(r"""
/// Advances a xorshift32 generator and returns the next pseudo-random value.
///
/// The new value is also stored back into `state`, so repeated calls produce a
/// sequence. `state` must be non-zero: a zero state stays zero forever.
""")
    },
)

add(
    "train",
    "itertools-lite",
    "docstring_generation",
    {
        "code": rs(r"""
pub fn interleave<T: Clone>(a: &[T], b: &[T]) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut left = a.iter();
    let mut right = b.iter();
    loop {
        match (left.next(), right.next()) {
            (None, None) => break,
            (x, y) => {
                out.extend(x.cloned());
                out.extend(y.cloned());
            }
        }
    }
    out
}
"""),
        "code_context": "None",
    },
    {
        "docstring": rs(r"""
/// Interleaves two slices, alternating elements from `a` and `b`.
///
/// When one slice is longer, its remaining elements are appended at the end.
/// For example, `interleave(&[1, 3, 5], &[2])` returns `[1, 2, 3, 5]`.
""")
    },
)

add(
    "train",
    "path-clean",
    "docstring_generation",
    {
        "code": rs(r"""
pub fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().map_or(false, |p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}
"""),
        "code_context": None,
    },
    {
        "docstring": rs(r"""
/// Lexically normalizes a `/`-separated path without touching the file system.
///
/// Empty and `.` components are removed and `..` removes the preceding component.
/// For absolute paths, `..` at the root is dropped; relative paths keep leading `..`
/// components. An empty relative result becomes `"."`.
""")
    },
)

add(
    "train",
    "dense-matrix",
    "docstring_generation",
    {
        "code": rs(r"""
pub fn get(&self, row: usize, col: usize) -> Option<f64> {
    if row < self.rows && col < self.cols {
        Some(self.data[row * self.cols + col])
    } else {
        None
    }
}
"""),
        "code_context": rs(r"""
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}
"""),
    },
    {
        "docstring": rs(r"""
/// Returns the element at (`row`, `col`), or `None` if either index is out of bounds.
///
/// Elements are stored in row-major order in `data`.
""")
    },
)

add(
    "train",
    "retry_policy",
    "docstring_generation",
    {
        "code": rs(r"""
pub fn backoff_delay(attempt: u32, base_ms: u64, max_ms: u64) -> u64 {
    let factor = 1u64.checked_shl(attempt).unwrap_or(u64::MAX);
    base_ms.saturating_mul(factor).min(max_ms)
}
"""),
        "code_context": "",
    },
    {
        "docstring": rs(r"""
/// Computes the exponential backoff delay in milliseconds for a retry attempt.
///
/// The delay is `base_ms * 2^attempt`, capped at `max_ms`; overflow saturates
/// instead of panicking, so very large attempt numbers simply return `max_ms`.
""")
    },
)

add(
    "test",
    "humansize",
    "docstring_generation",
    {
        "code": rs(r"""
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
"""),
    },
    {
        "docstring": rs(r"""
/// Formats a byte count as a human-readable string using binary (1024-based) units.
///
/// Values below 1 KiB are printed exactly (`"512 B"`); larger values use one decimal
/// place and the largest unit up to TiB, e.g. `"1.5 KiB"`.
""")
    },
)

add(
    "test",
    "csv-lite",
    "docstring_generation",
    {
        "code": rs(r"""
pub fn split_record(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => fields.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    fields.push(current);
    fields
}
"""),
        "code_context": None,
    },
    {
        "docstring": rs(r"""
/// Splits one CSV record into its fields.
///
/// Commas inside double-quoted fields do not separate fields, the surrounding quotes
/// are removed, and a doubled quote (`""`) inside a quoted field becomes one `"`.
/// An empty line yields a single empty field.
""")
    },
)

# ================================================================== code_explanation

add(
    "train",
    "tiny-expr",
    "code_explanation",
    {"code": EXPR_EVAL, "code_context": None},
    {
        "explanation": (
            "This module evaluates arithmetic expressions in two stages. `tokenize` walks the "
            "input character by character, skips whitespace, turns operators and parentheses "
            "into `Token` variants, and collects runs of digits and dots into a number parsed "
            "as `f64`; an unknown character produces `ExprError::UnexpectedChar` with its "
            "position. The private `Parser` then performs recursive descent over the token "
            "slice with one function per precedence level: `expr` handles `+` and `-`, `term` "
            "handles `*` and `/` (returning `DivisionByZero` for a zero divisor), and `factor` "
            "handles numbers, unary minus and parenthesised sub-expressions. Because `term` "
            "is called from `expr`, multiplication binds tighter than addition, and the loops "
            "make both levels left-associative. `evaluate` ties the stages together and "
            "rejects trailing tokens, so input like `1 2` is an error rather than silently "
            "returning 1. `ExprError` implements `Display` and `std::error::Error`, so it can "
            "be used with `?` and boxed errors."
        )
    },
)

add(
    "train",
    "memo-fib",
    "code_explanation",
    {
        "code": rs(r"""
pub fn fib_memo(n: u64, cache: &mut HashMap<u64, u64>) -> u64 {
    if n < 2 {
        return n;
    }
    if let Some(&value) = cache.get(&n) {
        return value;
    }
    let value = fib_memo(n - 1, cache) + fib_memo(n - 2, cache);
    cache.insert(n, value);
    value
}
"""),
        "code_context": "use std::collections::HashMap;",
    },
    {
        "explanation": (
            "The function computes the n-th Fibonacci number recursively with memoization. "
            "The base cases return `n` for 0 and 1. For larger `n` it first checks the "
            "caller-supplied `HashMap` cache and returns a stored result immediately. "
            "Otherwise it computes the value from the two previous Fibonacci numbers, stores "
            "it in the cache and returns it. Because each `n` is computed only once, the "
            "running time is linear in `n` instead of exponential as in the naive recursion."
        )
    },
)

add(
    "train",
    "iter-demo",
    "code_explanation",
    {
        "code": rs(r"""
let squares_of_evens: Vec<u32> = (1..=20)
    .filter(|n| n % 2 == 0)
    .map(|n| n * n)
    .collect();
let total: u32 = squares_of_evens.iter().sum();
"""),
    },
    {
        "explanation": (
            "The snippet builds a lazy iterator over the integers 1 to 20 inclusive, keeps "
            "only the even numbers with `filter`, squares each of them with `map`, and "
            "collects the results into a `Vec<u32>` (4, 16, 36, ..., 400). It then sums the "
            "vector with `iter().sum()`, giving the sum of the squares of the even numbers "
            "up to 20, which is 1540."
        )
    },
)

add(
    "train",
    "shapes",
    "code_explanation",
    {
        "code": rs(r"""
pub trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> &'static str;

    fn describe(&self) -> String {
        format!("{} with area {:.2}", self.name(), self.area())
    }
}

pub struct Circle {
    pub radius: f64,
}

impl Shape for Circle {
    fn area(&self) -> f64 {
        std::f64::consts::PI * self.radius * self.radius
    }

    fn name(&self) -> &'static str {
        "circle"
    }
}
"""),
        "code_context": "None",
    },
    {
        "explanation": (
            "`Shape` is a trait with two required methods, `area` and `name`, and one provided "
            "method, `describe`, whose default implementation formats the name and the area "
            "rounded to two decimals. `Circle` implements only the required methods: its area "
            'is pi times the radius squared and its name is "circle". Because `describe` has '
            "a default body, `Circle` gets it for free, so `Circle { radius: 1.0 }.describe()` "
            'returns "circle with area 3.14".'
        )
    },
)

add(
    "train",
    "wordsplit",
    "code_explanation",
    {
        "code": rs(r"""
pub fn split_first_word<'a>(s: &'a str) -> (&'a str, &'a str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(index) => (&s[..index], s[index..].trim_start()),
        None => (s, ""),
    }
}
"""),
    },
    {
        "explanation": (
            "The function splits a string into its first word and the rest without "
            "allocating. It trims leading whitespace, then searches for the first whitespace "
            "character. If one is found, it returns the slice before it as the word and the "
            "remainder with leading whitespace removed; otherwise the whole trimmed string is "
            "the word and the rest is empty. The lifetime `'a` ties both returned slices to "
            "the input, so they borrow from it and cannot outlive it."
        )
    },
)

add(
    "test",
    "countdown",
    "code_explanation",
    {
        "code": rs(r"""
pub struct Countdown {
    remaining: u32,
}

impl Iterator for Countdown {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.remaining == 0 {
            None
        } else {
            self.remaining -= 1;
            Some(self.remaining + 1)
        }
    }
}
"""),
        "code_context": None,
    },
    {
        "explanation": (
            "`Countdown` is an iterator that counts down from its starting value to 1. Each "
            "call to `next` returns `None` once `remaining` has reached zero; otherwise it "
            "decrements `remaining` and yields the value it had before the decrement. Starting "
            "from `remaining: 3`, the iterator yields 3, 2, 1 and then stops. Implementing "
            "`Iterator` gives it all the adapter methods such as `map`, `sum` and `collect`."
        )
    },
)

add(
    "test",
    "envfile",
    "code_explanation",
    {
        "code": rs(r"""
pub fn parse_kv(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (key, value) = line.split_once('=')?;
    let key = key.trim();
    if key.is_empty() {
        return None;
    }
    Some((key, value.trim().trim_matches('"')))
}
"""),
    },
    {
        "explanation": (
            "`parse_kv` parses one `KEY=value` line of an env-style file. It trims the line and "
            "ignores blank lines and `#` comments by returning `None`. `split_once('=')` splits "
            "at the first equals sign, and the `?` operator returns `None` when there is none. "
            "An empty key is also rejected. Otherwise it returns the trimmed key and the trimmed "
            "value with surrounding double quotes removed, both borrowed from the input line."
        )
    },
)

# ================================================================== comment_generation

add(
    "train",
    "sorted-search",
    "comment_generation",
    {
        "code": rs(r"""
pub fn binary_search(sorted: &[i32], target: i32) -> Option<usize> {
    let mut low = 0;
    let mut high = sorted.len();
    while low < high {
        let mid = low + (high - low) / 2;
        if sorted[mid] == target {
            return Some(mid);
        } else if sorted[mid] < target {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    None
}
"""),
    },
    {
        "commented_code": rs(r"""
/// Returns the index of `target` in the ascending slice `sorted`, if present.
pub fn binary_search(sorted: &[i32], target: i32) -> Option<usize> {
    // Search the half-open range [low, high).
    let mut low = 0;
    let mut high = sorted.len();
    while low < high {
        // Written this way to avoid overflow of `low + high`.
        let mid = low + (high - low) / 2;
        if sorted[mid] == target {
            return Some(mid);
        } else if sorted[mid] < target {
            // The target can only be to the right of `mid`.
            low = mid + 1;
        } else {
            // The target can only be to the left of `mid`.
            high = mid;
        }
    }
    // The range is empty: the target is not in the slice.
    None
}
""")
    },
)

add(
    "train",
    "sensor-stats",
    "comment_generation",
    {
        "code": rs(r"""
let valid: Vec<f64> = READINGS.iter().copied().filter(|r| r.is_finite()).collect();
let mean = valid.iter().sum::<f64>() / valid.len() as f64;
let variance = valid.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / valid.len() as f64;
let std_dev = variance.sqrt();
"""),
        "code_context": "const READINGS: [f64; 5] = [20.5, 21.0, f64::NAN, 19.5, 22.0];",
    },
    {
        "commented_code": rs(r"""
// Drop NaN and infinite readings, which would poison the statistics.
let valid: Vec<f64> = READINGS.iter().copied().filter(|r| r.is_finite()).collect();
// Arithmetic mean of the remaining readings.
let mean = valid.iter().sum::<f64>() / valid.len() as f64;
// Population variance: the mean squared distance from the mean.
let variance = valid.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / valid.len() as f64;
// The standard deviation is the square root of the variance.
let std_dev = variance.sqrt();
""")
    },
)

add(
    "train",
    "ledger",
    "comment_generation",
    {
        "code": rs(r"""
pub fn withdraw(&mut self, amount: i64) -> Result<i64, String> {
    if amount <= 0 {
        return Err(format!("invalid amount {amount}"));
    }
    if amount > self.balance {
        return Err(format!("insufficient funds: balance {}, requested {amount}", self.balance));
    }
    self.balance -= amount;
    self.history.push(-amount);
    Ok(self.balance)
}
"""),
        "code_context": rs(r"""
pub struct Account {
    balance: i64,
    history: Vec<i64>,
}
"""),
    },
    {
        "commented_code": rs(r"""
/// Withdraws `amount` from the account and returns the new balance.
pub fn withdraw(&mut self, amount: i64) -> Result<i64, String> {
    // Zero or negative withdrawals make no sense and would corrupt the history.
    if amount <= 0 {
        return Err(format!("invalid amount {amount}"));
    }
    // Never let the balance go negative.
    if amount > self.balance {
        return Err(format!("insufficient funds: balance {}, requested {amount}", self.balance));
    }
    self.balance -= amount;
    // Record withdrawals as negative entries.
    self.history.push(-amount);
    Ok(self.balance)
}
""")
    },
)

add(
    "train",
    "vec-utils",
    "comment_generation",
    {
        "code": rs(r"""
pub fn dedup_sorted(values: &mut Vec<i32>) {
    if values.is_empty() {
        return;
    }
    let mut write = 1;
    for read in 1..values.len() {
        if values[read] != values[write - 1] {
            values[write] = values[read];
            write += 1;
        }
    }
    values.truncate(write);
}
"""),
        "code_context": None,
    },
    {
        "commented_code": rs(r"""
// Removes consecutive duplicates in place; on a sorted vector this leaves unique values.
pub fn dedup_sorted(values: &mut Vec<i32>) {
    if values.is_empty() {
        return;
    }
    // `write` is the length of the deduplicated prefix; the first element is always kept.
    let mut write = 1;
    for read in 1..values.len() {
        // Keep the element only if it differs from the last kept one.
        if values[read] != values[write - 1] {
            values[write] = values[read];
            write += 1;
        }
    }
    // Drop the leftover tail beyond the unique prefix.
    values.truncate(write);
}
""")
    },
)

add(
    "train",
    "cli-args",
    "comment_generation",
    {
        "code": rs(r"""
let args: Vec<String> = std::env::args().skip(1).collect();
let verbose = args.iter().any(|a| a == "-v" || a == "--verbose");
let files: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
if files.is_empty() {
    eprintln!("usage: tool [-v] FILE...");
}
"""),
        "code_context": "None",
    },
    {
        "commented_code": rs(r"""
// Collect the command-line arguments, skipping the program name.
let args: Vec<String> = std::env::args().skip(1).collect();
// Verbose mode is enabled by either the short or the long flag.
let verbose = args.iter().any(|a| a == "-v" || a == "--verbose");
// Everything that does not look like a flag is treated as a file name.
let files: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
// Without files there is nothing to do, so print a usage hint.
if files.is_empty() {
    eprintln!("usage: tool [-v] FILE...");
}
""")
    },
)

add(
    "test",
    "rle-codec",
    "comment_generation",
    {
        "code": rs(r"""
pub fn rle_encode(input: &str) -> String {
    let mut out = String::new();
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        let mut run = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            run += 1;
        }
        out.push_str(&run.to_string());
        out.push(c);
    }
    out
}
"""),
    },
    {
        "commented_code": rs(r"""
/// Run-length encodes `input`, e.g. "aaabcc" becomes "3a1b2c".
pub fn rle_encode(input: &str) -> String {
    let mut out = String::new();
    // Peekable lets us look at the next character without consuming it.
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        // Count how many times `c` repeats consecutively.
        let mut run = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            run += 1;
        }
        // Emit the count followed by the character.
        out.push_str(&run.to_string());
        out.push(c);
    }
    out
}
""")
    },
)

add(
    "test",
    "report-fmt",
    "comment_generation",
    {
        "code": rs(r"""
use std::fmt::Write;
let mut report = String::new();
for (name, score) in SCORES.iter() {
    writeln!(report, "{name:<10}{score:>5}").unwrap();
}
let best = SCORES.iter().max_by_key(|(_, score)| *score).map(|(name, _)| *name);
"""),
        "code_context": 'const SCORES: [(&str, u32); 3] = [("alice", 92), ("bob", 78), ("carol", 85)];',
    },
    {
        "commented_code": rs(r"""
// `writeln!` on a String needs the fmt::Write trait in scope.
use std::fmt::Write;
let mut report = String::new();
for (name, score) in SCORES.iter() {
    // Left-align names in 10 columns and right-align scores in 5.
    writeln!(report, "{name:<10}{score:>5}").unwrap();
}
// Name of the highest scorer, or None if there are no scores.
let best = SCORES.iter().max_by_key(|(_, score)| *score).map(|(name, _)| *name);
""")
    },
)

# ================================================================== code_summarization

add(
    "train",
    "ini-lite",
    "code_summarization",
    {"code": INI_PARSER, "code_context": None},
    {
        "summary": (
            "A small INI parser: `Ini::parse` reads `[section]` headers and `key = value` lines, "
            "strips `;`/`#` comments outside quotes and surrounding quotes from values, and "
            "reports malformed lines with their line number. The resulting `Ini` offers typed "
            "getters (string, bool, integer, with default), mutation with `set`, and a "
            "deterministic, sorted serialization."
        )
    },
)

add(
    "train",
    "num-utils",
    "code_summarization",
    {
        "code": rs(r"""
pub fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

pub fn lcm(a: u64, b: u64) -> u64 {
    if a == 0 || b == 0 {
        0
    } else {
        a / gcd(a, b) * b
    }
}
"""),
    },
    {
        "summary": (
            "Computes the greatest common divisor with the iterative Euclidean algorithm, and "
            "the least common multiple from it, returning 0 when either input is 0 and "
            "dividing before multiplying to reduce the risk of overflow."
        )
    },
)

add(
    "train",
    "stackvec",
    "code_summarization",
    {
        "code": rs(r"""
pub struct Stack<T> {
    items: Vec<T>,
}

impl<T> Stack<T> {
    pub fn new() -> Self {
        Stack { items: Vec::new() }
    }

    pub fn push(&mut self, item: T) {
        self.items.push(item);
    }

    pub fn pop(&mut self) -> Option<T> {
        self.items.pop()
    }

    pub fn peek(&self) -> Option<&T> {
        self.items.last()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
"""),
        "code_context": "None",
    },
    {
        "summary": (
            "A generic LIFO stack backed by a `Vec`, with push, pop, peek at the top element, "
            "and length/emptiness queries."
        )
    },
)

add(
    "train",
    "roster",
    "code_summarization",
    {
        "code": rs(r"""
let mut people = vec![("Ada", 36), ("Linus", 28), ("Grace", 45)];
people.sort_by_key(|&(_, age)| std::cmp::Reverse(age));
let names: Vec<&str> = people.iter().map(|&(name, _)| name).collect();
"""),
    },
    {
        "summary": (
            "Sorts a list of (name, age) pairs from oldest to youngest and collects the names "
            "in that order."
        )
    },
)

add(
    "train",
    "traffic-fsm",
    "code_summarization",
    {
        "code": rs(r"""
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Light {
    Red,
    Green,
    Yellow,
}

impl Light {
    pub fn next(self) -> Light {
        match self {
            Light::Red => Light::Green,
            Light::Green => Light::Yellow,
            Light::Yellow => Light::Red,
        }
    }

    pub fn duration_secs(self) -> u32 {
        match self {
            Light::Red => 30,
            Light::Green => 25,
            Light::Yellow => 5,
        }
    }
}
"""),
        "code_context": None,
    },
    {
        "summary": (
            "A traffic-light state machine: `next` cycles Red -> Green -> Yellow -> Red and "
            "`duration_secs` gives how long each light stays on."
        )
    },
)

add(
    "test",
    "gridops",
    "code_summarization",
    {
        "code": rs(r"""
pub fn transpose(matrix: &[Vec<i32>]) -> Vec<Vec<i32>> {
    let cols = matrix.first().map_or(0, Vec::len);
    (0..cols)
        .map(|c| matrix.iter().map(|row| row[c]).collect())
        .collect()
}
"""),
    },
    {
        "summary": (
            "Transposes a rectangular matrix stored as a slice of rows, turning each column "
            "into a row; an empty matrix yields an empty result."
        )
    },
)

add(
    "test",
    "merge-sorted",
    "code_summarization",
    {
        "code": rs(r"""
pub fn merge(a: &[i32], b: &[i32]) -> Vec<i32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}
"""),
        "code_context": "None",
    },
    {
        "summary": (
            "Merges two ascending slices into one ascending vector in linear time, taking from "
            "the first slice on ties so the merge is stable."
        )
    },
)

# ================================================================== function_naming

add(
    "train",
    "text-checks",
    "function_naming",
    {
        "code": rs(r"""
pub fn __placeholder__(s: &str) -> bool {
    let cleaned: Vec<char> = s
        .chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    cleaned.iter().eq(cleaned.iter().rev())
}
"""),
    },
    {"function_name": "is_palindrome"},
)

add(
    "train",
    "stats-rs",
    "function_naming",
    {
        "code": rs(r"""
pub fn __placeholder__(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        None
    } else {
        Some(values.iter().sum::<f64>() / values.len() as f64)
    }
}
"""),
        "code_context": None,
    },
    {"function_name": "mean"},
)

add(
    "train",
    "geom2d",
    "function_naming",
    {
        "code": rs(r"""
pub fn __placeholder__(&self) -> f64 {
    self.width * self.height
}
"""),
        "code_context": rs(r"""
pub struct Rect {
    pub width: f64,
    pub height: f64,
}
"""),
    },
    {"function_name": "area"},
)

add(
    "train",
    "mathkit",
    "function_naming",
    {
        "code": rs(r"""
pub fn __placeholder__(n: u64) -> u64 {
    if n <= 1 {
        1
    } else {
        n * __placeholder__(n - 1)
    }
}
"""),
        "code_context": "None",
    },
    {"function_name": "factorial"},
)

add(
    "train",
    "sortkit",
    "function_naming",
    {
        "code": rs(r"""
pub fn __placeholder__<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut copy = items.to_vec();
    copy.sort();
    copy
}
"""),
    },
    {"function_name": "sorted"},
)

add(
    "test",
    "wordplay",
    "function_naming",
    {
        "code": rs(r"""
pub fn __placeholder__(sentence: &str) -> String {
    sentence.split_whitespace().rev().collect::<Vec<_>>().join(" ")
}
"""),
        "code_context": None,
    },
    {"function_name": "reverse_words"},
)

add(
    "test",
    "phonetics",
    "function_naming",
    {
        "code": rs(r"""
fn __placeholder__(c: char) -> bool {
    matches!(c.to_ascii_lowercase(), 'a' | 'e' | 'i' | 'o' | 'u')
}
"""),
    },
    {"function_name": "is_vowel"},
)

# ================================================================== variable_naming

add(
    "train",
    "csv-fields",
    "variable_naming",
    {
        "code": rs(r"""
let __placeholder__: Vec<&str> = LINE.split(',').map(str::trim).collect();
let name = __placeholder__[0];
"""),
        "code_context": 'const LINE: &str = "widget, 4, 2.50";',
    },
    {"variable_name": "fields"},
)

add(
    "train",
    "case-stats",
    "variable_naming",
    {
        "code": rs(r"""
let mut __placeholder__ = 0u32;
for c in TEXT.chars() {
    if c.is_uppercase() {
        __placeholder__ += 1;
    }
}
"""),
        "code_context": 'const TEXT: &str = "Hello World From Rust";',
    },
    {"variable_name": "uppercase_count"},
)

add(
    "train",
    "dupe-finder",
    "variable_naming",
    {
        "code": rs(r"""
pub fn first_duplicate(values: &[i32]) -> Option<i32> {
    let mut __placeholder__ = HashSet::new();
    values.iter().copied().find(|v| !__placeholder__.insert(*v))
}
"""),
        "code_context": "use std::collections::HashSet;",
    },
    {"variable_name": "seen"},
)

add(
    "train",
    "shop-cart",
    "variable_naming",
    {
        "code": rs(r"""
pub fn total_with_tax(items: &[Item], tax_rate: f64) -> f64 {
    let __placeholder__: f64 = items.iter().map(|i| i.price * i.quantity as f64).sum();
    __placeholder__ * (1.0 + tax_rate)
}
"""),
        "code_context": rs(r"""
pub struct Item {
    pub price: f64,
    pub quantity: u32,
}
"""),
    },
    {"variable_name": "subtotal"},
)

add(
    "train",
    "bench-timer",
    "variable_naming",
    {
        "code": rs(r"""
let __placeholder__ = std::time::Instant::now();
let total: u64 = (1..=1_000_000u64).sum();
let elapsed = __placeholder__.elapsed();
println!("summed to {total} in {elapsed:?}");
"""),
        "code_context": None,
    },
    {"variable_name": "start"},
)

add(
    "test",
    "file-ext",
    "variable_naming",
    {
        "code": rs(r"""
pub fn extension(path: &str) -> Option<&str> {
    let __placeholder__ = path.rsplit('/').next()?;
    __placeholder__.rsplit_once('.').map(|(_, ext)| ext).filter(|ext| !ext.is_empty())
}
"""),
    },
    {"variable_name": "file_name"},
)

add(
    "test",
    "html-escape",
    "variable_naming",
    {
        "code": rs(r"""
pub fn escape_html(input: &str) -> String {
    let mut __placeholder__ = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '<' => __placeholder__.push_str("&lt;"),
            '>' => __placeholder__.push_str("&gt;"),
            '&' => __placeholder__.push_str("&amp;"),
            _ => __placeholder__.push(c),
        }
    }
    __placeholder__
}
"""),
        "code_context": "None",
    },
    {"variable_name": "escaped"},
)

# ================================================================== code_review

add(
    "train",
    "inventory",
    "code_review",
    {
        "code_before": rs(r"""
pub fn contains(&self, name: &str) -> bool {
    for i in 0..self.items.len() {
        if self.items[i] == name {
            return true;
        }
    }
    return false;
}
"""),
        "code_context": rs(r"""
pub struct Inventory {
    items: Vec<String>,
}
"""),
    },
    {
        "code_after": rs(r"""
pub fn contains(&self, name: &str) -> bool {
    self.items.iter().any(|item| item == name)
}
"""),
        "review_comment": (
            "Indexing in a manual loop with an explicit `return false;` is not idiomatic. "
            "`Iterator::any` expresses the intent directly, short-circuits the same way, and "
            "avoids bounds-checked indexing."
        ),
    },
)

add(
    "train",
    "netcfg",
    "code_review",
    {
        "code_before": rs(r"""
pub fn read_port(value: &str) -> u16 {
    value.parse().unwrap()
}
"""),
    },
    {
        "code_after": rs(r"""
pub fn read_port(value: &str) -> Result<u16, String> {
    value
        .trim()
        .parse::<u16>()
        .map_err(|e| format!("invalid port {value:?}: {e}"))
}
"""),
        "review_comment": (
            "`unwrap` panics on any malformed or out-of-range input, which is a poor fit for "
            "user-supplied configuration. Returning a `Result` lets the caller report the "
            "problem; the error message includes the offending value, and trimming tolerates "
            "stray whitespace."
        ),
    },
)

add(
    "train",
    "strjoin",
    "code_review",
    {
        "code_before": rs(r"""
pub fn join_names(names: &Vec<String>) -> String {
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out = out + ", ";
        }
        out = out + name;
    }
    out
}
"""),
        "code_context": None,
    },
    {
        "code_after": rs(r"""
pub fn join_names(names: &[String]) -> String {
    names.join(", ")
}
"""),
        "review_comment": (
            "Take `&[String]` instead of `&Vec<String>`: it accepts more callers (arrays, "
            "slices) at no cost. The manual loop re-creates the string on each `+` and "
            "re-implements `join`, which already handles the separator and pre-computes the "
            "capacity."
        ),
    },
)

add(
    "train",
    "csv-header",
    "code_review",
    {
        "code_before": rs(r"""
let mut header = String::new();
for column in COLUMNS.iter() {
    header = header + column + ",";
}
header.pop();
"""),
        "code_context": 'const COLUMNS: [&str; 3] = ["id", "name", "email"];',
    },
    {
        "code_after": rs(r"""
let header = COLUMNS.join(",");
"""),
        "review_comment": (
            "Building the header by appending a trailing comma and popping it afterwards is "
            "fragile and allocates repeatedly. `join` produces the same result in one call "
            "and makes `header` immutable."
        ),
    },
)

add(
    "train",
    "wordtools",
    "code_review",
    {
        "code_before": rs(r"""
pub fn longest(words: Vec<String>) -> String {
    let mut best = String::new();
    for w in words.clone() {
        if w.len() > best.len() {
            best = w.clone();
        }
    }
    best
}
"""),
        "code_context": "None",
    },
    {
        "code_after": rs(r"""
pub fn longest(words: &[String]) -> Option<&str> {
    words
        .iter()
        .fold(None, |best: Option<&String>, w| match best {
            Some(b) if b.len() >= w.len() => Some(b),
            _ => Some(w),
        })
        .map(String::as_str)
}
"""),
        "review_comment": (
            "The function takes ownership of the vector and then clones it and every word "
            "again. Borrowing a slice and returning `Option<&str>` avoids all allocations and "
            "makes the empty input case explicit instead of returning an empty string. The "
            "fold keeps the first of several equally long words, like the original."
        ),
    },
)

add(
    "test",
    "grades",
    "code_review",
    {
        "code_before": rs(r"""
pub fn average(scores: &[i32]) -> i32 {
    scores.iter().sum::<i32>() / scores.len() as i32
}
"""),
    },
    {
        "code_after": rs(r"""
pub fn average(scores: &[i32]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let total: i64 = scores.iter().map(|&s| i64::from(s)).sum();
    Some(total as f64 / scores.len() as f64)
}
"""),
        "review_comment": (
            "The original panics with a division by zero on an empty slice, truncates the "
            "result through integer division, and can overflow while summing. Returning "
            "`Option<f64>` handles the empty case, summing in `i64` avoids overflow, and the "
            "floating-point division keeps the fractional part."
        ),
    },
)

add(
    "test",
    "initials",
    "code_review",
    {
        "code_before": rs(r"""
pub fn first_char(s: &String) -> char {
    s.chars().nth(0).unwrap()
}
"""),
        "code_context": None,
    },
    {
        "code_after": rs(r"""
pub fn first_char(s: &str) -> Option<char> {
    s.chars().next()
}
"""),
        "review_comment": (
            "Accept `&str` rather than `&String` so string literals and slices work too. "
            "`chars().next()` is the idiomatic spelling of `nth(0)`, and returning `Option` "
            "instead of unwrapping avoids a panic on an empty string."
        ),
    },
)

# ================================================================== code_completion

add(
    "train",
    "sumtools",
    "code_completion",
    {
        "prefix": "pub fn total(xs: &[i32]) -> i32 {\n    ",
        "suffix": "\n    sum\n}\n",
    },
    {"completion": "let sum: i32 = xs.iter().sum();"},
)

add(
    "train",
    "wordlen",
    "code_completion",
    {
        "prefix": "pub fn max_len(words: &[&str]) -> usize {\n    words.iter().map(|w| w.len())",
        "suffix": "\n}\n",
    },
    {"completion": ".max().unwrap_or(0)"},
)

add(
    "train",
    "calc-ops",
    "code_completion",
    {
        "prefix": rs(r"""
pub enum Op {
    Add,
    Sub,
    Mul,
}

pub fn apply(op: Op, a: i64, b: i64) -> i64 {
    match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => """)
        + " ",
        "suffix": "\n    }\n}\n",
    },
    {"completion": "a * b,"},
)

add(
    "train",
    "server-conf",
    "code_completion",
    {
        "prefix": rs(r"""
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    pub workers: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: "127.0.0.1".to_string(),
""")
        + "\n            ",
        "suffix": "\n            workers: 4,\n        }\n    }\n}\n",
    },
    {"completion": "port: 8080,"},
)

add(
    "train",
    "leaderboard",
    "code_completion",
    {
        "prefix": rs(r"""
pub fn rank(mut scores: Vec<(String, u32)>) -> Vec<(String, u32)> {
    scores.sort_by(|a, b| """),
        "suffix": ");\n    scores\n}\n",
    },
    {"completion": "b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0))"},
)

add(
    "test",
    "header-map",
    "code_completion",
    {
        "prefix": rs(r"""
use std::collections::HashMap;

pub fn parse_headers(raw: &str) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for line in raw.lines() {
        if let Some((key, value)) = line.split_once(':') {
            """),
        "suffix": "\n        }\n    }\n    map\n}\n",
    },
    {"completion": "map.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());"},
)

add(
    "test",
    "digits-only",
    "code_completion",
    {
        "prefix": "pub fn digits(s: &str) -> String {\n    s.chars()",
        "suffix": ".collect()\n}\n",
    },
    {"completion": ".filter(|c| c.is_ascii_digit())"},
)

# ================================================================== code_refactoring

add(
    "train",
    "numclass",
    "code_refactoring",
    {
        "code_before": rs(r"""
pub fn classify(n: i32) -> &'static str {
    if n < 0 {
        return "negative";
    } else {
        if n == 0 {
            return "zero";
        } else {
            if n % 2 == 0 {
                return "even";
            } else {
                return "odd";
            }
        }
    }
}
"""),
        "code_context": rs(r"""
pub fn classify(n: i32) -> &'static str {
    if n < 0 {
        return "negative";
    } else {
        if n == 0 {
            return "zero";
        } else {
            if n % 2 == 0 {
                return "even";
            } else {
                return "odd";
            }
        }
    }
}

pub fn describe_all(values: &[i32]) -> Vec<String> {
    values.iter().map(|v| format!("{v} is {}", classify(*v))).collect()
}
"""),
    },
    {
        "code_after": rs(r"""
pub fn classify(n: i32) -> &'static str {
    match n {
        i32::MIN..=-1 => "negative",
        0 => "zero",
        n if n % 2 == 0 => "even",
        _ => "odd",
    }
}
"""),
        "rationale": (
            "The nested if/else chain with explicit returns hides a simple case analysis. A "
            "single `match` with a range pattern, a literal and a guard lists every case at "
            "the same level, is exhaustive by construction, and drops the redundant `return` "
            "statements. `describe_all` keeps working unchanged."
        ),
    },
)

add(
    "train",
    "geom-points",
    "code_refactoring",
    {
        "code_before": rs(r"""
pub fn distance(a: &Point, b: &Point) -> f64 {
    let dx = a.x - b.x;
    let dy = a.y - b.y;
    let sum = dx * dx + dy * dy;
    let result = sum.sqrt();
    return result;
}
"""),
        "code_context": rs(r"""
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

pub fn distance(a: &Point, b: &Point) -> f64 {
    let dx = a.x - b.x;
    let dy = a.y - b.y;
    let sum = dx * dx + dy * dy;
    let result = sum.sqrt();
    return result;
}
"""),
    },
    {
        "code_after": rs(r"""
pub fn distance(a: &Point, b: &Point) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}
"""),
        "rationale": (
            "`f64::hypot` computes `sqrt(dx * dx + dy * dy)` directly and avoids intermediate "
            "overflow or underflow for extreme coordinates. Removing the temporaries and the "
            "trailing `return` makes the function a single expression."
        ),
    },
)

add(
    "train",
    "thermo",
    "code_refactoring",
    {
        "code_before": rs(r"""
pub fn to_fahrenheit(&self) -> f64 {
    let f = self.celsius * 9.0;
    let f = f / 5.0;
    let f = f + 32.0;
    return f;
}
"""),
        "code_context": rs(r"""
pub struct Temperature {
    celsius: f64,
}
"""),
    },
    {
        "code_after": rs(r"""
pub fn to_fahrenheit(&self) -> f64 {
    self.celsius * 9.0 / 5.0 + 32.0
}
"""),
        "rationale": (
            "Shadowing `f` three times to build up a simple formula adds noise. Writing the "
            "conversion as one expression makes the formula recognisable at a glance, and the "
            "explicit `return` is unnecessary for the tail expression."
        ),
    },
)

add(
    "train",
    "evens",
    "code_refactoring",
    {
        "code_before": rs(r"""
pub fn first_even_square(values: &[i32]) -> Option<i32> {
    for v in values {
        if v % 2 == 0 {
            match v.checked_mul(*v) {
                Some(sq) => return Some(sq),
                None => return None,
            }
        }
    }
    None
}
"""),
        "code_context": None,
    },
    {
        "code_after": rs(r"""
pub fn first_even_square(values: &[i32]) -> Option<i32> {
    values.iter().find(|v| *v % 2 == 0).and_then(|v| v.checked_mul(*v))
}
"""),
        "rationale": (
            "The loop finds the first even value and then converts an `Option` into another by "
            "hand. `find` plus `and_then` expresses exactly that: locate the first even "
            "element and square it, yielding `None` if there is none or if the square "
            "overflows."
        ),
    },
)

add(
    "train",
    "temps",
    "code_refactoring",
    {
        "code_before": rs(r"""
let mut above = Vec::new();
for i in 0..DATA.len() {
    if DATA[i] > THRESHOLD {
        above.push(DATA[i] - THRESHOLD);
    }
}
"""),
        "code_context": rs(r"""
const DATA: [i32; 6] = [12, 18, 25, 31, 9, 22];
const THRESHOLD: i32 = 20;
"""),
    },
    {
        "code_after": rs(r"""
let above: Vec<i32> = DATA
    .iter()
    .filter(|&&t| t > THRESHOLD)
    .map(|t| t - THRESHOLD)
    .collect();
"""),
        "rationale": (
            "Index-based loops with `push` obscure the intent and need bounds checks. A "
            "`filter`/`map`/`collect` chain states the transformation declaratively, and "
            "`above` no longer has to be mutable."
        ),
    },
)

add(
    "test",
    "flag-parse",
    "code_refactoring",
    {
        "code_before": rs(r"""
pub fn parse_flag(value: &str) -> bool {
    if value == "1" || value == "true" || value == "TRUE" || value == "yes" || value == "on" {
        true
    } else {
        false
    }
}
"""),
        "code_context": rs(r"""
pub fn parse_flag(value: &str) -> bool {
    if value == "1" || value == "true" || value == "TRUE" || value == "yes" || value == "on" {
        true
    } else {
        false
    }
}

pub fn debug_enabled(env_value: Option<&str>) -> bool {
    env_value.map_or(false, parse_flag)
}
"""),
    },
    {
        "code_after": rs(r"""
pub fn parse_flag(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}
"""),
        "rationale": (
            "`if cond { true } else { false }` is just `cond`. `matches!` with an or-pattern "
            "lists the accepted spellings once, and normalising case and whitespace first "
            'accepts variants such as "True" or " on" that the original rejected.'
        ),
    },
)

add(
    "test",
    "linecount",
    "code_refactoring",
    {
        "code_before": rs(r"""
pub fn count_non_blank(text: &str) -> usize {
    let mut n = 0;
    for line in text.lines() {
        if !line.trim().is_empty() {
            n += 1;
        }
    }
    n
}
"""),
        "code_context": "None",
    },
    {
        "code_after": rs(r"""
pub fn count_non_blank(text: &str) -> usize {
    text.lines().filter(|line| !line.trim().is_empty()).count()
}
"""),
        "rationale": (
            "The mutable counter and loop re-implement `filter(...).count()`. The iterator "
            "version is shorter and removes the mutable state."
        ),
    },
)

# ================================================================== bug_detection

add(
    "train",
    "rangesum",
    "bug_detection",
    {
        "buggy_code": rs(r"""
/// Sums every integer from `start` to `end`, both inclusive.
pub fn sum_inclusive(start: u32, end: u32) -> u32 {
    (start..end).sum()
}
"""),
    },
    {
        "fixed_code": rs(r"""
/// Sums every integer from `start` to `end`, both inclusive.
pub fn sum_inclusive(start: u32, end: u32) -> u32 {
    (start..=end).sum()
}
"""),
        "bug_description": (
            "`start..end` is a half-open range that excludes `end`, so the documented "
            "inclusive sum is off by one (e.g. 1 to 3 gives 3 instead of 6). Use the "
            "inclusive range `start..=end`."
        ),
    },
    unit_tests(r"""
    #[test]
    fn includes_both_ends() {
        assert_eq!(sum_inclusive(1, 3), 6);
        assert_eq!(sum_inclusive(5, 5), 5);
    }
"""),
)

add(
    "train",
    "tail-slice",
    "bug_detection",
    {
        "buggy_code": rs(r"""
pub fn last_n(values: &[i32], n: usize) -> &[i32] {
    &values[values.len() - n..]
}
"""),
        "code_context": None,
    },
    {
        "fixed_code": rs(r"""
pub fn last_n(values: &[i32], n: usize) -> &[i32] {
    &values[values.len().saturating_sub(n)..]
}
"""),
        "bug_description": (
            "When `n` is larger than the slice length, `values.len() - n` underflows: it panics "
            "in debug builds and wraps to a huge index (and then panics on slicing) in release "
            "builds. `saturating_sub` clamps the start index at 0, so the whole slice is "
            "returned instead."
        ),
    },
)

add(
    "train",
    "longest-word",
    "bug_detection",
    {
        "buggy_code": rs(r"""
pub fn longest_word(text: &str) -> Option<&str> {
    let mut best: Option<&str> = None;
    for word in text.split_whitespace() {
        if best.map_or(true, |b| word.len() < b.len()) {
            best = Some(word);
        }
    }
    best
}
"""),
        "code_context": "None",
    },
    {
        "fixed_code": rs(r"""
pub fn longest_word(text: &str) -> Option<&str> {
    let mut best: Option<&str> = None;
    for word in text.split_whitespace() {
        if best.map_or(true, |b| word.len() > b.len()) {
            best = Some(word);
        }
    }
    best
}
"""),
        "bug_description": (
            "The comparison is inverted: `word.len() < b.len()` replaces the current best with "
            "shorter words, so the function returns the shortest word. It must be `>` to keep "
            "the longest word (the first one wins on ties)."
        ),
    },
)

add(
    "train",
    "rate-limit",
    "bug_detection",
    {
        "buggy_code": rs(r"""
pub fn try_acquire(&mut self) -> bool {
    if self.used > self.limit {
        return false;
    }
    self.used += 1;
    true
}
"""),
        "code_context": rs(r"""
pub struct Quota {
    used: u32,
    limit: u32,
}

impl Quota {
    pub fn new(limit: u32) -> Self {
        Quota { used: 0, limit }
    }
}
"""),
    },
    {
        "fixed_code": rs(r"""
pub fn try_acquire(&mut self) -> bool {
    if self.used >= self.limit {
        return false;
    }
    self.used += 1;
    true
}
"""),
        "bug_description": (
            "The guard uses `>` instead of `>=`, so one extra acquisition succeeds once `used` "
            "equals `limit`: a quota of 2 grants 3 permits. Comparing with `>=` stops exactly "
            "at the limit."
        ),
    },
    unit_tests(r"""
    #[test]
    fn grants_exactly_limit_permits() {
        let mut quota = Quota::new(2);
        assert!(quota.try_acquire());
        assert!(quota.try_acquire());
        assert!(!quota.try_acquire());
    }
"""),
)

add(
    "train",
    "gap-calc",
    "bug_detection",
    {
        "buggy_code": rs(r"""
let readings: [usize; 4] = [10, 4, 7, 15];
let gaps: Vec<usize> = readings.windows(2).map(|w| w[1] - w[0]).collect();
"""),
    },
    {
        "fixed_code": rs(r"""
let readings: [usize; 4] = [10, 4, 7, 15];
let gaps: Vec<usize> = readings.windows(2).map(|w| w[1].abs_diff(w[0])).collect();
"""),
        "bug_description": (
            "The readings are not monotonic, so `w[1] - w[0]` underflows for a decreasing pair "
            "(4 - 10) and panics in debug builds because `usize` cannot be negative. "
            "`abs_diff` returns the absolute gap without underflow."
        ),
    },
)

add(
    "test",
    "calendar-utils",
    "bug_detection",
    {
        "buggy_code": rs(r"""
pub fn is_leap_year(year: u32) -> bool {
    year % 4 == 0 && year % 100 != 0
}
"""),
        "code_context": None,
    },
    {
        "fixed_code": rs(r"""
pub fn is_leap_year(year: u32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}
"""),
        "bug_description": (
            "Years divisible by 400 are leap years even though they are divisible by 100. The "
            "original returns false for 2000 and 2400; the fix adds the `year % 400 == 0` case."
        ),
    },
    unit_tests(r"""
    #[test]
    fn gregorian_rules() {
        assert!(is_leap_year(2024));
        assert!(!is_leap_year(1900));
        assert!(is_leap_year(2000));
        assert!(!is_leap_year(2023));
    }
"""),
)

add(
    "test",
    "unit-conv",
    "bug_detection",
    {
        "buggy_code": rs(r"""
pub fn celsius_to_fahrenheit(celsius: f64) -> f64 {
    celsius * 5.0 / 9.0 + 32.0
}
"""),
    },
    {
        "fixed_code": rs(r"""
pub fn celsius_to_fahrenheit(celsius: f64) -> f64 {
    celsius * 9.0 / 5.0 + 32.0
}
"""),
        "bug_description": (
            "The scale factor is inverted: Celsius to Fahrenheit multiplies by 9/5, not 5/9. "
            "With the bug, 100 degrees Celsius converts to about 87.6 instead of 212."
        ),
    },
)

# ================================================================== code_optimization

add(
    "train",
    "dupcheck",
    "code_optimization",
    {
        "code_before": rs(r"""
pub fn has_duplicates(values: &[i32]) -> bool {
    for i in 0..values.len() {
        for j in 0..values.len() {
            if i != j && values[i] == values[j] {
                return true;
            }
        }
    }
    false
}
"""),
        "code_context": "use std::collections::HashSet;",
    },
    {
        "code_after": rs(r"""
pub fn has_duplicates(values: &[i32]) -> bool {
    let mut seen = HashSet::with_capacity(values.len());
    values.iter().any(|v| !seen.insert(v))
}
"""),
        "rationale": (
            "The nested loops compare every pair, which is O(n^2). Inserting into a `HashSet` "
            "is O(1) on average and `insert` returns false for a value already present, so a "
            "single pass with `any` finds a duplicate in O(n) and stops at the first one."
        ),
    },
)

add(
    "train",
    "csv-writer",
    "code_optimization",
    {
        "code_before": rs(r"""
pub fn to_csv(rows: &[(u32, &str)]) -> String {
    let mut out = String::new();
    for (id, name) in rows {
        out = format!("{}{},{}\n", out, id, name);
    }
    out
}
"""),
    },
    {
        "code_after": rs(r"""
pub fn to_csv(rows: &[(u32, &str)]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(rows.len() * 16);
    for (id, name) in rows {
        writeln!(out, "{id},{name}").expect("writing to a String cannot fail");
    }
    out
}
"""),
        "rationale": (
            '`format!("{}...", out, ...)` copies the whole accumulated string on every '
            "iteration, making the function quadratic. Writing into one pre-allocated `String` "
            "with `writeln!` appends in place, so the work is linear in the output size."
        ),
    },
)

add(
    "train",
    "fibonacci",
    "code_optimization",
    {
        "code_before": rs(r"""
pub fn fib(n: u32) -> u64 {
    if n < 2 {
        n as u64
    } else {
        fib(n - 1) + fib(n - 2)
    }
}
"""),
        "code_context": None,
    },
    {
        "code_after": rs(r"""
pub fn fib(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}
"""),
        "rationale": (
            "The doubly recursive version recomputes the same values exponentially many times. "
            "Iterating while keeping only the last two numbers computes the same result in "
            "O(n) time and O(1) space, without deep recursion."
        ),
    },
)

add(
    "train",
    "squares",
    "code_optimization",
    {
        "code_before": rs(r"""
let squares: Vec<u64> = (1..=LIMIT).map(|n| n * n).collect();
let evens: Vec<u64> = squares.iter().filter(|s| *s % 2 == 0).cloned().collect();
let total: u64 = evens.iter().sum();
"""),
        "code_context": "const LIMIT: u64 = 10_000;",
    },
    {
        "code_after": rs(r"""
let total: u64 = (1..=LIMIT).map(|n| n * n).filter(|s| s % 2 == 0).sum();
"""),
        "rationale": (
            "The two intermediate vectors are allocated only to be consumed once. Chaining "
            "`map`, `filter` and `sum` on the lazy range computes the same total in a single "
            "pass without any heap allocation."
        ),
    },
)

add(
    "train",
    "primes",
    "code_optimization",
    {
        "code_before": rs(r"""
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    for d in 2..n {
        if n % d == 0 {
            return false;
        }
    }
    true
}
"""),
        "code_context": "None",
    },
    {
        "code_after": rs(r"""
pub fn is_prime(n: u64) -> bool {
    if n < 4 {
        return n >= 2;
    }
    if n % 2 == 0 {
        return false;
    }
    let mut d = 3;
    while d * d <= n {
        if n % d == 0 {
            return false;
        }
        d += 2;
    }
    true
}
"""),
        "rationale": (
            "Any composite `n` has a divisor no larger than its square root, so trial division "
            "can stop at `d * d > n`. Handling 2 separately and testing only odd divisors halves "
            "the remaining work, reducing the cost from O(n) to O(sqrt(n))."
        ),
    },
)

add(
    "test",
    "strrev",
    "code_optimization",
    {
        "code_before": rs(r"""
pub fn reverse(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        out.insert(0, c);
    }
    out
}
"""),
    },
    {
        "code_after": rs(r"""
pub fn reverse(s: &str) -> String {
    s.chars().rev().collect()
}
"""),
        "rationale": (
            "`String::insert(0, c)` shifts every existing byte on each call, so the loop is "
            "quadratic. Iterating the characters in reverse and collecting builds the result "
            "in one linear pass."
        ),
    },
)

add(
    "test",
    "sorted-lookup",
    "code_optimization",
    {
        "code_before": rs(r"""
pub fn position(sorted: &Vec<i32>, target: i32) -> Option<usize> {
    for (i, v) in sorted.iter().enumerate() {
        if *v == target {
            return Some(i);
        }
    }
    None
}
"""),
        "code_context": None,
    },
    {
        "code_after": rs(r"""
pub fn position(sorted: &[i32], target: i32) -> Option<usize> {
    sorted.binary_search(&target).ok()
}
"""),
        "rationale": (
            "The input is already sorted, so a binary search finds the target in O(log n) "
            "instead of a linear scan. Taking `&[i32]` instead of `&Vec<i32>` is also more "
            "flexible. Note that with duplicate values `binary_search` may return any "
            "matching index rather than the first."
        ),
    },
)

# ================================================================== code_search

add(
    "train",
    "linereader",
    "code_search",
    {"query": "How do I read a text file line by line into a Vec<String> and propagate IO errors?"},
    {
        "code_snippet": rs(r"""
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

pub fn read_lines(path: &Path) -> io::Result<Vec<String>> {
    let reader = BufReader::new(File::open(path)?);
    reader.lines().collect()
}
""")
    },
)

add(
    "train",
    "scoreboard",
    "code_search",
    {
        "query": "Sort a slice of structs by an f64 field in descending order",
        "code_context": rs(r"""
pub struct Player {
    pub name: String,
    pub score: f64,
}
"""),
    },
    {
        "code_snippet": rs(r"""
pub fn sort_by_score_desc(players: &mut [Player]) {
    players.sort_by(|a, b| b.score.total_cmp(&a.score));
}
""")
    },
)

add(
    "train",
    "map-sort",
    "code_search",
    {
        "query": "convert a HashMap<String, u32> into a Vec of pairs sorted by key",
        "code_context": "use std::collections::HashMap;",
    },
    {
        "code_snippet": rs(r"""
pub fn sorted_pairs(map: &HashMap<String, u32>) -> Vec<(&str, u32)> {
    let mut pairs: Vec<(&str, u32)> = map.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    pairs
}
""")
    },
)

add(
    "train",
    "colorparse",
    "code_search",
    {
        "query": "check whether a string is a valid hex color like #1a2b3c or #fff",
        "code_context": None,
    },
    {
        "code_snippet": rs(r"""
pub fn is_hex_color(s: &str) -> bool {
    match s.strip_prefix('#') {
        Some(hex) => (hex.len() == 3 || hex.len() == 6) && hex.chars().all(|c| c.is_ascii_hexdigit()),
        None => false,
    }
}
""")
    },
)

add(
    "train",
    "uniq-order",
    "code_search",
    {
        "query": "remove duplicates from a vector while keeping the first occurrence order",
        "code_context": "None",
    },
    {
        "code_snippet": rs(r"""
use std::collections::HashSet;
use std::hash::Hash;

pub fn dedup_keep_order<T: Eq + Hash + Clone>(items: &[T]) -> Vec<T> {
    let mut seen = HashSet::new();
    items
        .iter()
        .filter(|item| seen.insert((*item).clone()))
        .cloned()
        .collect()
}
""")
    },
)

add(
    "test",
    "intlist",
    "code_search",
    {"query": "parse a comma separated list of integers, skipping entries that are not numbers"},
    {
        "code_snippet": rs(r"""
pub fn parse_int_list(input: &str) -> Vec<i64> {
    input
        .split(',')
        .filter_map(|part| part.trim().parse().ok())
        .collect()
}
""")
    },
)

add(
    "test",
    "epoch-time",
    "code_search",
    {"query": "get the current unix timestamp in seconds", "code_context": None},
    {
        "code_snippet": rs(r"""
use std::time::{SystemTime, UNIX_EPOCH};

pub fn unix_timestamp() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
""")
    },
)

# ================================================================== test_generation

add(
    "train",
    "ini-lite",
    "test_generation",
    {"code_to_test": INI_PARSER, "code_context": None},
    {
        "test_cases": [
            rs(r"""
    #[test]
    fn parses_sections_keys_and_comments() {
        let text = "name = demo\n[server]\nhost = localhost ; comment\nport = 8080\n";
        let ini = Ini::parse(text).unwrap();
        assert_eq!(ini.get("", "name"), Some("demo"));
        assert_eq!(ini.get("server", "host"), Some("localhost"));
        assert_eq!(ini.get_int("server", "port"), Some(8080));
        assert_eq!(ini.section_names(), vec!["", "server"]);
    }
"""),
            rs(r"""
    #[test]
    fn typed_getters_and_defaults() {
        let ini = Ini::parse("[flags]\ndebug = Yes\nquiet = off\nlabel = \"a; b\"\n").unwrap();
        assert_eq!(ini.get_bool("flags", "debug"), Some(true));
        assert_eq!(ini.get_bool("flags", "quiet"), Some(false));
        assert_eq!(ini.get("flags", "label"), Some("a; b"));
        assert_eq!(ini.get_or("flags", "missing", "fallback"), "fallback");
    }
"""),
            rs(r"""
    #[test]
    fn reports_line_numbers_of_errors() {
        let err = Ini::parse("[ok]\na = 1\n[broken\n").unwrap_err();
        assert_eq!(err.line, 3);
        let err = Ini::parse("just text").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.to_string().starts_with("line 1:"));
    }
"""),
            rs(r"""
    #[test]
    fn serializes_sorted() {
        let mut ini = Ini::default();
        ini.set("b", "y", "2");
        ini.set("a", "x", "1");
        assert_eq!(ini.to_string_sorted(), "[a]\nx = 1\n[b]\ny = 2\n");
    }
"""),
        ]
    },
)

add(
    "train",
    "percent",
    "test_generation",
    {
        "code_to_test": rs(r"""
pub fn clamp_percent(value: i32) -> u8 {
    value.clamp(0, 100) as u8
}
"""),
    },
    {
        "test_cases": [
            rs(r"""
    #[test]
    fn keeps_values_in_range() {
        assert_eq!(clamp_percent(0), 0);
        assert_eq!(clamp_percent(42), 42);
        assert_eq!(clamp_percent(100), 100);
    }
"""),
            rs(r"""
    #[test]
    fn clamps_out_of_range_values() {
        assert_eq!(clamp_percent(-5), 0);
        assert_eq!(clamp_percent(250), 100);
        assert_eq!(clamp_percent(i32::MIN), 0);
    }
"""),
        ]
    },
)

add(
    "train",
    "stackvec",
    "test_generation",
    {
        "code_to_test": rs(r"""
impl<T> Stack<T> {
    pub fn new() -> Self {
        Stack { items: Vec::new() }
    }

    pub fn push(&mut self, item: T) {
        self.items.push(item);
    }

    pub fn pop(&mut self) -> Option<T> {
        self.items.pop()
    }

    pub fn peek(&self) -> Option<&T> {
        self.items.last()
    }
}
"""),
        "code_context": rs(r"""
pub struct Stack<T> {
    items: Vec<T>,
}
"""),
        "test_context": rs(r"""
    fn filled(n: i32) -> Stack<i32> {
        let mut stack = Stack::new();
        for i in 0..n {
            stack.push(i);
        }
        stack
    }
"""),
    },
    {
        "test_cases": [
            rs(r"""
    #[test]
    fn pops_in_lifo_order() {
        let mut stack = filled(3);
        assert_eq!(stack.pop(), Some(2));
        assert_eq!(stack.pop(), Some(1));
        assert_eq!(stack.pop(), Some(0));
        assert_eq!(stack.pop(), None);
    }
"""),
            rs(r"""
    #[test]
    fn peek_does_not_remove() {
        let stack = filled(2);
        assert_eq!(stack.peek(), Some(&1));
        assert_eq!(stack.peek(), Some(&1));
    }
"""),
        ]
    },
)

add(
    "train",
    "humantime-lite",
    "test_generation",
    {
        "code_to_test": rs(r"""
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("missing unit in {text:?}"))?;
    let (number, unit) = text.split_at(split);
    let value: u64 = number.parse().map_err(|_| format!("missing number in {text:?}"))?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => return Err(format!("unknown unit {other:?}")),
    };
    Ok(value * factor)
}
"""),
        "code_context": None,
        "test_context": "None",
    },
    {
        "test_cases": [
            rs(r"""
    #[test]
    fn converts_units_to_seconds() {
        assert_eq!(parse_duration("10s"), Ok(10));
        assert_eq!(parse_duration("5m"), Ok(300));
        assert_eq!(parse_duration(" 2h "), Ok(7200));
        assert_eq!(parse_duration("1d"), Ok(86_400));
    }
"""),
            rs(r"""
    #[test]
    fn rejects_malformed_input() {
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("3w").is_err());
    }
"""),
        ]
    },
)

add(
    "train",
    "wordfreq",
    "test_generation",
    {
        "code_to_test": rs(r"""
pub fn word_count(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    counts
}
"""),
        "code_context": "use std::collections::HashMap;",
        "test_context": "    use std::collections::HashMap;",
    },
    {
        "test_cases": [
            rs(r"""
    #[test]
    fn counts_case_insensitively() {
        let counts = word_count("The cat saw the CAT.");
        assert_eq!(counts.get("the"), Some(&2));
        assert_eq!(counts.get("cat"), Some(&2));
        assert_eq!(counts.get("saw"), Some(&1));
    }
"""),
            rs(r"""
    #[test]
    fn empty_text_has_no_words() {
        let counts: HashMap<String, usize> = word_count(" ,.; ");
        assert!(counts.is_empty());
    }
"""),
        ]
    },
)

add(
    "test",
    "rot-cipher",
    "test_generation",
    {
        "code_to_test": rs(r"""
pub fn rot13(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            'a'..='z' => (((c as u8 - b'a') + 13) % 26 + b'a') as char,
            'A'..='Z' => (((c as u8 - b'A') + 13) % 26 + b'A') as char,
            _ => c,
        })
        .collect()
}
"""),
    },
    {
        "test_cases": [
            rs(r"""
    #[test]
    fn rotates_letters_and_keeps_others() {
        assert_eq!(rot13("Hello, World!"), "Uryyb, Jbeyq!");
        assert_eq!(rot13("123 xyz"), "123 klm");
    }
"""),
            rs(r"""
    #[test]
    fn applying_twice_is_identity() {
        let text = "The Quick Brown Fox";
        assert_eq!(rot13(&rot13(text)), text);
    }
"""),
        ]
    },
)

add(
    "test",
    "stats-median",
    "test_generation",
    {
        "code_to_test": rs(r"""
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let mid = values.len() / 2;
    if values.len() % 2 == 0 {
        Some((values[mid - 1] + values[mid]) / 2.0)
    } else {
        Some(values[mid])
    }
}
"""),
        "code_context": "None",
    },
    {
        "test_cases": [
            rs(r"""
    #[test]
    fn odd_and_even_lengths() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
"""),
            rs(r"""
    #[test]
    fn empty_slice_has_no_median() {
        assert_eq!(median(&mut []), None);
    }
"""),
        ]
    },
)

# ================================================================== api_usage_prediction

add(
    "train",
    "char-freq",
    "api_usage_prediction",
    {
        "code": rs(r"""
let word = "mississippi";
let mut counts: HashMap<char, usize> = HashMap::new();
let first = word.chars().next().unwrap_or(' ');
"""),
        "code_context": "use std::collections::HashMap;",
    },
    {"next_api_call": "*counts.entry(first).or_insert(0) += 1;"},
)

add(
    "train",
    "name-list",
    "api_usage_prediction",
    {
        "code": rs(r"""
let mut names = vec!["carol".to_string(), "alice".to_string(), "bob".to_string()];
names.push("dave".to_string());
"""),
        "code_context": None,
    },
    {"next_api_call": "names.sort();"},
)

add(
    "train",
    "greeting",
    "api_usage_prediction",
    {
        "code": rs(r"""
let mut greeting = String::with_capacity(16);
greeting.push_str("hello");
"""),
    },
    {"next_api_call": "greeting.push(' ');"},
)

add(
    "train",
    "line-buffer",
    "api_usage_prediction",
    {
        "code": rs(r"""
let reader = BufReader::new(Cursor::new("alpha\nbeta\ngamma"));
"""),
        "code_context": "use std::io::{BufRead, BufReader, Cursor};",
    },
    {"next_api_call": "let lines: Vec<String> = reader.lines().map_while(Result::ok).collect();"},
)

add(
    "train",
    "config-env",
    "api_usage_prediction",
    {
        "code": rs(r"""
let raw = "  LOG_LEVEL=debug  ";
let trimmed = raw.trim();
"""),
        "code_context": "None",
    },
    {"next_api_call": "let (key, value) = trimmed.split_once('=').unwrap_or((trimmed, \"\"));"},
)

add(
    "test",
    "job-queue",
    "api_usage_prediction",
    {
        "code": rs(r"""
let mut queue: VecDeque<u32> = VecDeque::new();
queue.push_back(1);
queue.push_back(2);
"""),
        "code_context": "use std::collections::VecDeque;",
    },
    {"next_api_call": "let next_job = queue.pop_front();"},
)

add(
    "test",
    "port-config",
    "api_usage_prediction",
    {
        "code": rs(r"""
let maybe_port: Option<&str> = Some("8080");
"""),
    },
    {"next_api_call": "let port: u16 = maybe_port.and_then(|p| p.parse().ok()).unwrap_or(80);"},
)

# ================================================================== rows with real crates
# Like most of Strandset, these answers use external crates (tokio, futures, serde_json,
# bytes, async-stream). They compile against a crate environment (the evaluator's
# `--crates offline`, e.g. Debian's librust-*-dev crates), not with bare rustc.

add(
    "train",
    "serde_json",
    "code_generation",
    {
        "title": "Read a nested port from a JSON config",
        "description": (
            "Parse a JSON document with serde_json and return the `server.port` field as a "
            "u16. Return a descriptive error string when the document is not valid JSON, "
            "when the field is missing, or when it is not an integer that fits in a u16."
        ),
        "code_context": "use serde_json::Value;",
    },
    {
        "code": rs(r"""
pub fn server_port(config: &str) -> Result<u16, String> {
    let doc: Value = serde_json::from_str(config).map_err(|e| format!("invalid JSON: {e}"))?;
    let port = doc
        .get("server")
        .and_then(|server| server.get("port"))
        .ok_or_else(|| "missing server.port".to_string())?;
    port.as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| format!("server.port is not a valid port: {port}"))
}
""")
    },
    unit_tests(r"""
    #[test]
    fn reads_the_port() {
        assert_eq!(server_port(r#"{"server": {"port": 8080}}"#), Ok(8080));
    }

    #[test]
    fn reports_bad_documents() {
        assert!(server_port("{").unwrap_err().starts_with("invalid JSON"));
        assert_eq!(server_port("{}"), Err("missing server.port".to_string()));
        assert!(server_port(r#"{"server": {"port": 70000}}"#).is_err());
    }
"""),
)

add(
    "train",
    "bytes",
    "bug_detection",
    {
        "buggy_code": rs(r"""
pub fn encode_frame(payload: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(payload.len() + 4);
    buf.put_u16(payload.len() as u16);
    buf.put_slice(payload);
    buf.freeze()
}
"""),
        "code_context": "use bytes::{BufMut, Bytes, BytesMut};",
    },
    {
        "fixed_code": rs(r"""
pub fn encode_frame(payload: &[u8]) -> Bytes {
    let len = u32::try_from(payload.len()).expect("frame payload larger than 4 GiB");
    let mut buf = BytesMut::with_capacity(payload.len() + 4);
    buf.put_u32(len);
    buf.put_slice(payload);
    buf.freeze()
}
"""),
        "bug_description": (
            "The frame header reserves four bytes but writes the length with `put_u16`, and "
            "`payload.len() as u16` silently truncates payloads longer than 65,535 bytes. A "
            "reader expecting a 4-byte big-endian length then misparses every frame. Write "
            "the length with `put_u32` after a checked conversion."
        ),
    },
)

add(
    "train",
    "tokio",
    "code_completion",
    {
        "prefix": rs(r"""
use tokio::sync::mpsc;

pub async fn sum_from_workers(workers: u64) -> u64 {
    let (tx, mut rx) = mpsc::channel(16);
    for id in 0..workers {
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = tx.send(id * 10).await;
        });
    }
""")
        + "\n    ",
        "suffix": "\n    let mut total = 0;\n    while let Some(value) = rx.recv().await {\n"
        "        total += value;\n    }\n    total\n}\n",
    },
    {"completion": "drop(tx);"},
)

add(
    "train",
    "futures",
    "code_review",
    {
        "code_before": rs(r"""
pub async fn fetch_all(ids: Vec<u32>) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        out.push(fetch(id).await);
    }
    out
}
"""),
        "code_context": rs(r"""
use futures::stream::{self, StreamExt};

pub async fn fetch(id: u32) -> String {
    format!("item-{id}")
}
"""),
    },
    {
        "code_after": rs(r"""
pub async fn fetch_all(ids: Vec<u32>) -> Vec<String> {
    stream::iter(ids)
        .map(fetch)
        .buffered(8)
        .collect()
        .await
}
"""),
        "review_comment": (
            "Awaiting each fetch inside the loop runs the requests strictly one after another. "
            "`stream::iter(..).map(fetch).buffered(8)` keeps up to eight in flight while "
            "preserving the input order, and `collect` builds the vector directly."
        ),
    },
)

add(
    "train",
    "async-stream",
    "code_refactoring",
    {
        "code_before": rs(r"""
pub fn countdown(from: u32) -> impl Stream<Item = u32> {
    let mut values = Vec::new();
    let mut n = from;
    while n > 0 {
        values.push(n);
        n -= 1;
    }
    futures::stream::iter(values)
}
"""),
        "code_context": "use futures::Stream;",
    },
    {
        "code_after": rs(r"""
pub fn countdown(from: u32) -> impl Stream<Item = u32> {
    async_stream::stream! {
        for n in (1..=from).rev() {
            yield n;
        }
    }
}
"""),
        "rationale": (
            "The original builds the whole sequence in a vector before streaming it. The "
            "`stream!` macro yields each value lazily, needs no buffer, and states the "
            "countdown as a plain reversed range."
        ),
    },
    unit_tests(r"""
    use futures::StreamExt;

    #[tokio::test]
    async fn counts_down_to_one() {
        let values: Vec<u32> = countdown(3).collect().await;
        assert_eq!(values, vec![3, 2, 1]);
        assert!(countdown(0).collect::<Vec<u32>>().await.is_empty());
    }
"""),
)

# ================================================================== writing


def rows_of(split: str) -> list[dict[str, str]]:
    return [row for s, row in ROWS if s == split]


def render(split: str) -> str:
    """The JSONL text of one split (one JSON object per line, fixed key order)."""
    return "".join(json.dumps(row) + "\n" for row in rows_of(split))


def verify() -> list[str]:
    """Structural checks (compilation is checked by tests/test_sample_data.py)."""
    sys.path.insert(0, str(ROOT / "src"))
    from qwen2_rust import format_for_sft
    from qwen2_rust.tasks import CATEGORIES, TASKS

    problems: list[str] = []
    for split in SPLITS:
        counts = Counter(row["task_category"] for row in rows_of(split))
        for category in CATEGORIES:
            n = counts.get(category, 0)
            if (split == "train" and n < TRAIN_MIN_PER_CATEGORY) or (
                split == "test" and n != TEST_PER_CATEGORY
            ):
                problems.append(f"{split}: {category} has {n} rows")
        for i, row in enumerate(rows_of(split)):
            where = f"{split}[{i}] {row['task_category']}"
            spec = TASKS.get(row["task_category"])
            if spec is None:
                problems.append(f"{where}: unknown category")
                continue
            inputs = ast.literal_eval(row["input_data"])
            outputs = json.loads(row["output_data"])
            if not set(spec.required_inputs) <= set(inputs) <= {f.name for f in spec.inputs}:
                problems.append(f"{where}: input keys {sorted(inputs)}")
            if list(outputs) != list(spec.output_names):
                problems.append(f"{where}: output keys {list(outputs)}")
            try:
                format_for_sft(row)
            except Exception as exc:
                problems.append(f"{where}: {exc}")
    train_inputs = {row["input_data"] for row in rows_of("train")}
    shared = [r for r in rows_of("test") if r["input_data"] in train_inputs]
    problems += [f"test row shares input_data with train: {r['crate_name']}" for r in shared]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    args = parser.parse_args(argv)
    problems = verify()
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    for split in SPLITS:
        path = OUT_DIR / f"{split}.jsonl"
        text = render(split)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                print(f"{path} is out of date; run scripts/build_sample.py", file=sys.stderr)
                return 1
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            print(f"wrote {path.relative_to(ROOT)} ({len(rows_of(split))} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
