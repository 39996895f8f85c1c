"""Evaluation: generate answers, compile/test them in a sandbox, score and report.

- `sandbox`: run untrusted commands under limits (process group, rlimits, timeouts,
  network isolation where available);
- `rust_check`: place answers into compilable units, run rustc, classify;
- `text_metrics`: chrF, exact / normalised match, edit similarity;
- `scoring`: per-row dispatch by answer kind, parallel; `score_files` writes the report;
- `report`: aggregation, bootstrap intervals, paired comparison, report.json/md, charts;
- `generate`: batched, resumable generation with transformers (+ PEFT).
"""
